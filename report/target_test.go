package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTarget(t *testing.T) {
	good := map[string]Target{
		"report.json":              {FormatJSON, "report.json"},
		"out/r.CSV":                {FormatCSV, "out/r.CSV"},
		"md:/tmp/step_summary":     {FormatMarkdown, "/tmp/step_summary"},
		"markdown:-":               {FormatMarkdown, "-"},
		"JSON:-":                   {FormatJSON, "-"},
		"csv:weird:name.txt":       {FormatCSV, "weird:name.txt"},
		`C:\reports\run.json`:      {FormatJSON, `C:\reports\run.json`},
		"notes:x.md":               {FormatMarkdown, "notes:x.md"},
		"json:rolesweep-report.md": {FormatJSON, "rolesweep-report.md"},
	}
	for in, want := range good {
		got, err := ParseTarget(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-", "report.txt", "md:", `C:\x`, "yaml:x.yaml"} {
		_, err := ParseTarget(in)
		assert.Error(t, err, in)
	}
}

func TestWriteTargetStdoutAndFile(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, WriteTarget(Target{FormatMarkdown, "-"}, &out, applyReport()))
	assert.Contains(t, out.String(), "# rolesweep apply report")

	path := filepath.Join(t.TempDir(), "summary")
	require.NoError(t, WriteTarget(Target{FormatCSV, path}, &out, applyReport()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "apply_result")
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, CheckWritable(filepath.Join(dir, "new.json")))
	require.NoError(t, CheckWritable("-"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the probe leaves nothing behind")

	var nw *NotWritableError
	err = CheckWritable(dir)
	require.ErrorAs(t, err, &nw)
	assert.Equal(t, dir, nw.Path)
	assert.Contains(t, err.Error(), "is a directory")

	missing := filepath.Join(dir, "no-such-dir", "r.json")
	err = CheckWritable(missing)
	require.ErrorAs(t, err, &nw)
	assert.Contains(t, err.Error(), missing)

	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o500))
		err = CheckWritable(filepath.Join(ro, "r.json"))
		require.ErrorAs(t, err, &nw)
	}
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	err = CheckWritable(filepath.Join(file, "r.json"))
	assert.ErrorAs(t, err, &nw)
}
