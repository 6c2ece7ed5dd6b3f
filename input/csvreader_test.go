package input

import (
	"io"
	"strings"
	"testing"

	"github.com/gocarina/gocsv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCSVReaderWithGocsv(t *testing.T) {
	type entry struct {
		UserID string `csv:"user_id"`
		RoleID string `csv:"role_id"`
	}
	data := "\ufeff User_ID , ROLE_ID\r\n" + testUser + "," + testRole + "\r\n\r\n" + testUser + ",\"" + testRole2 + "\"\r\n"
	cr, err := NewCSVReader(strings.NewReader(data), "keep.csv")
	require.NoError(t, err)
	assert.Equal(t, []string{"user_id", "role_id"}, cr.Header())
	assert.Equal(t, []string{"User_ID", "ROLE_ID"}, cr.Columns())
	assert.Equal(t, 1, cr.Index(" role_id"))
	assert.Equal(t, -1, cr.Index("reason"))

	var got []entry
	require.NoError(t, gocsv.UnmarshalCSV(cr, &got))
	assert.Equal(t, []entry{{testUser, testRole}, {testUser, testRole2}}, got)
	assert.Equal(t, []int{2, 4}, cr.Lines(), "a blank line is skipped but counted")
}

func TestCSVReaderProblems(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "f.csv: empty file, expected a header row"},
		{"blank lines", "\n\n", "f.csv: no header row: the file holds only blank lines"},
		{"BOM only", "\ufeff", "f.csv: no header row: the file holds only blank lines"},
		{"UTF-16", "\xff\xfeu\x00", "f.csv: file is UTF-16 encoded; save it as UTF-8 (in Excel: CSV UTF-8)"},
		{"bad header quote", "a,b\"c\n", "f.csv:1:4: quote in an unquoted field: quote the whole field and double the quotes inside it (\"a \"\"b\"\" c\")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCSVReader(strings.NewReader(tc.data), "f.csv")
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestCSVReaderPositionsAndRecordErrors(t *testing.T) {
	cr, err := NewCSVReader(strings.NewReader("\n user_id,reason\nx,\"two\nlines\"\ny,\"open\n"), "f.csv")
	require.NoError(t, err)
	line, col := cr.HeaderPos(1)
	assert.Equal(t, []int{2, 10}, []int{line, col})
	assert.Equal(t, "f.csv:2: header", cr.HeaderProblem(-1, "header").Error())

	header, err := cr.Read()
	require.NoError(t, err)
	assert.Equal(t, []string{"user_id", "reason"}, header)
	record, err := cr.Read()
	require.NoError(t, err)
	assert.Equal(t, []string{"x", "two\nlines"}, record)
	assert.Equal(t, "f.csv:3:3: bad", cr.Problem(1, "bad").Error())
	_, err = cr.Read()
	require.Error(t, err)
	assert.Equal(t, "f.csv:5:9: extraneous or missing quote in a quoted field", err.Error())
	_, err = cr.Read()
	assert.Equal(t, io.EOF, err)
}
