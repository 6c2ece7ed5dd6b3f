package input

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntraExportThroughPreset(t *testing.T) {
	data, err := os.ReadFile("../testdata/campaign/entra-review.csv")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), utf8BOM), "the example keeps Excel's BOM")
	require.Contains(t, string(data), "\r\n", "the example keeps Excel's CRLF line ends")

	src, err := Read(strings.NewReader(string(data)), "entra-review.csv", Options{Preset: "entra-review"})
	require.NoError(t, err)
	assert.Equal(t, 17, src.Records)
	assert.Equal(t, 9, src.Excluded, "Approve, NotReviewed and Not reviewed rows")
	require.Len(t, src.Rows, 8)
	for _, r := range src.Rows {
		assert.NotEmpty(t, r.UserEmail)
		assert.NotEmpty(t, r.RoleName)
		assert.Empty(t, r.UserID)
	}
	assert.Equal(t, Row{Line: 4, UserEmail: "dana.whitfield@example.com", RoleName: "Finance Viewer",
		Reason: "Left the finance team on 2026-10-31.\nHandover done, see ticket CERT-1182.\nNo access needed after that date."}, src.Rows[1])
	assert.Equal(t, "Asked for \"temporary\" deploy rights in Q2, for the migration only.\nThe migration is finished, so the access goes.", src.Rows[3].Reason)
	assert.Equal(t, "", src.Rows[6].Reason, "a Deny without justification")
}
