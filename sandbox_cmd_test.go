package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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

// TestSandboxCommandFlags serves `rolesweep sandbox` with the scale and
// fault flags and reads its export lines as a shell would.
func TestSandboxCommandFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"rolesweep", "sandbox", "--listen", "127.0.0.1:0", "--bucket", "0",
			"--users", "1500", "--users-role", "Legacy Admin", "--users-role", "rol_SecondRoleXXXXX1", "--users-seed", "3",
			"--read-fault", "low-total", "--token-status", "503"}, env{stdout: pw, stderr: &stderr})
		pw.Close()
	}()
	settings := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(settings) < 2 && sc.Scan() {
		if name, value, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && strings.HasPrefix(sc.Text(), "export ") {
			settings[name] = value
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.Contains(t, settings, "AUTH0_DOMAIN", stderr.String())
	require.Contains(t, settings, "AUTH0_API_TOKEN")
	get := func(path string) (int, []byte) {
		req, err := http.NewRequest("GET", settings["AUTH0_DOMAIN"]+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+settings["AUTH0_API_TOKEN"])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	var page struct {
		Users []json.RawMessage `json:"users"`
		Total int               `json:"total"`
	}
	status, body := get("/api/v2/roles/rol_SecondRoleXXXXX1/users?per_page=100&include_totals=true")
	require.Equal(t, 200, status, string(body))
	require.NoError(t, json.Unmarshal(body, &page))
	assert.Len(t, page.Users, 100, "--users-role made the role and its holders")
	assert.Equal(t, 0, page.Total, "--read-fault low-total")
	status, body = get("/api/v2/roles/rol_SecondRoleXXXXX1/users?per_page=100&page=10")
	assert.Equal(t, 400, status, string(body))

	resp, err := http.PostForm(settings["AUTH0_DOMAIN"]+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {"y"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode, "--token-status")

	cancel()
	assert.Equal(t, 0, <-done, stderr.String())

	code := run(context.Background(), []string{"rolesweep", "sandbox", "--users-role", "X"}, env{stdout: io.Discard, stderr: &stderr})
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "--users-role needs --users N")
	code = run(context.Background(), []string{"rolesweep", "sandbox", "--read-fault", "sometimes"}, env{stdout: io.Discard, stderr: &stderr})
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "read fault")
}
