package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdResult is what encoding/json writes for a result: the hand-written
// encoder must give the same bytes.
type stdResult struct {
	UserID         string `json:"user_id"`
	UserEmail      string `json:"user_email"`
	OrganizationID string `json:"organization_id"`
	RoleID         string `json:"role_id"`
	RoleName       string `json:"role_name"`
	Status         Status `json:"status"`
	ApplyResult    string `json:"apply_result"`
	HTTPStatus     int    `json:"http_status"`
	Attempts       int    `json:"attempts"`
	Error          string `json:"error"`
	Lines          []int  `json:"lines"`
	Reason         string `json:"reason"`
}

func stdEncode(t testing.TB, res Result) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	lines := res.Lines
	if lines == nil {
		lines = []int{}
	}
	require.NoError(t, enc.Encode(stdResult{res.UserID, res.UserEmail, res.OrganizationID, res.RoleID, res.RoleName,
		res.Status, string(res.Status.ApplyResult()), res.HTTPStatus, res.Attempts, res.Error, lines, res.Reason}))
	return append([]byte("\n    "), bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

func TestAppendResultJSONMatchesEncodingJSON(t *testing.T) {
	tricky := []string{
		"", "plain", "R&D <b>", "quote \" backslash \\", "line\nbreak\r\ttab", "\b\f\x00\x01\x1f\x7f",
		"bad utf8 \xff\xfe", "sep \u2028 \u2029", "émoji 🎉", "\u202e bidi", "trailing \\",
	}
	for _, s := range tricky {
		res := Result{UserID: "auth0|" + s, UserEmail: s, OrganizationID: s, RoleID: s, RoleName: s,
			Status: Failed, HTTPStatus: -503, Attempts: 4, Error: s, Lines: []int{2, 7, -1}, Reason: s}
		assert.Equal(t, string(stdEncode(t, res)), string(appendResultJSON(nil, &res)), "%q", s)
	}
	empty := Result{Status: PlanRemove}
	assert.Equal(t, string(stdEncode(t, empty)), string(appendResultJSON(nil, &empty)))
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\nb\"c\\\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(s))
		assert.Equal(t, string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), string(AppendJSONString(nil, s)))
	})
}
