package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadRoleCatalogue(t *testing.T) {
	cases := map[string]string{
		"header":           "role_id,role_name\nrol_A, Admin \nrol_B,Viewer\n",
		"bom and name":     "\ufeffRole_ID , Name\nrol_A,Admin\nrol_B,Viewer\n",
		"no header":        "rol_A,Admin\nrol_B,Viewer\n",
		"extra column":     "role_id,description,role_name\nrol_A,x,Admin\nrol_B,y,Viewer\n",
		"crlf line ending": "role_id,role_name\r\nrol_A,Admin\r\nrol_B,Viewer\r\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roles.csv")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			got, err := readRoleCatalogue(path)
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"rol_A": "Admin", "rol_B": "Viewer"}, got)
		})
	}
	path := filepath.Join(t.TempDir(), "short.csv")
	require.NoError(t, os.WriteFile(path, []byte("rol_A\n"), 0o600))
	_, err := readRoleCatalogue(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "expected role_id,role_name")

	// A ragged row is placed by the shared CSV reader.
	require.NoError(t, os.WriteFile(path, []byte("role_id,role_name\nrol_A,Admin\nrol_B\n"), 0o600))
	_, err = readRoleCatalogue(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+":3")

	got, err := readRoleCatalogue("testdata/roles.csv")
	require.NoError(t, err)
	assert.Equal(t, "Billing Admin", got["rol_NHBmr6NkzbRcHob1"])
}
