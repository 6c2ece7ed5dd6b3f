package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func digestRoundTrip(t *testing.T, r *Report) *Report {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, r))
	back, err := ReadJSON(&buf)
	require.NoError(t, err)
	return back
}

func TestReportDigestSurvivesARoundTrip(t *testing.T) {
	r := applyReport()
	r.Results[0].Error = "bad bytes \xff\xfe from the tenant" // JSON writes them as U+FFFD
	r.Input.Sweep = &Sweep{Roles: []SweptRole{{ID: "rol_NHBmr6NkzbRcHob1"}}, Keep: &FileRef{Path: "keep.csv", SHA256: inputSHA}}
	r.ReportDigest = ReportDigest(r)
	back := digestRoundTrip(t, r)
	assert.Equal(t, r.ReportDigest, back.ReportDigest)
	assert.NoError(t, back.CheckReportDigest())
	// A second round trip changes nothing either.
	assert.NoError(t, digestRoundTrip(t, back).CheckReportDigest())
}

func TestReportDigestCatchesEdits(t *testing.T) {
	edits := map[string]func(r *Report){
		"absent made removed": func(r *Report) { r.Results[2].Status = Removed },
		"run.checked":         func(r *Report) { r.Run.Checked = !r.Run.Checked },
		"run removed":         func(r *Report) { r.Run = nil },
		"the tenant":          func(r *Report) { r.Domain = "other.eu.auth0.com" },
		"a user":              func(r *Report) { r.Results[0].UserID = "auth0|someone-else" },
		"a role":              func(r *Report) { r.Results[0].RoleID = "rol_AAAAAAAAAAAAAAAA" },
		"an organization":     func(r *Report) { r.Results[0].OrganizationID = "org_AAAAAAAAAAAAAAAA" },
		"a row added":         func(r *Report) { r.Results = append(r.Results, r.Results[0]) },
		"a row dropped":       func(r *Report) { r.Results = r.Results[1:] },
		"the command":         func(r *Report) { r.Command = CommandUndo },
		"the input sha256":    func(r *Report) { r.Input.SHA256 = "0" + r.Input.SHA256[1:] },
		"lines":               func(r *Report) { r.Results[0].Lines = append(r.Results[0].Lines, 99) },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			r := applyReport()
			r.ReportDigest = ReportDigest(r)
			edit(r)
			err := r.CheckReportDigest()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "edited after it was written")
		})
	}
	r := applyReport()
	assert.ErrorContains(t, r.CheckReportDigest(), "no report_digest")
}
