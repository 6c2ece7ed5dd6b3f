package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

const entraExport = "testdata/campaign/entra-review.csv"

func TestValidateReadsAnExportThroughAPreset(t *testing.T) {
	got := rolesweep(t, invocation{}, "validate", entraExport, "--preset", "entra-review")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, entraExport+": valid: 8 rows, 8 roles to remove from 8 users (9 rows excluded by ReviewResult=Deny)\n", got.stdout)

	// Explicit flags override the preset's: Approve rows instead.
	got = rolesweep(t, invocation{}, "validate", entraExport, "--preset", "entra-review", "--where", "ReviewResult=approve")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Contains(t, got.stdout, "valid: 6 rows, 6 roles to remove from 6 users (11 rows excluded by ReviewResult=approve)")

	// The same export spelt out by hand, with two values of one column.
	got = rolesweep(t, invocation{}, "validate", entraExport,
		"--map", "user_email=PrincipalUPN", "--map", "role_name=ResourceDisplayName",
		"--where", "ReviewResult=Deny, NotReviewed")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Contains(t, got.stdout, "valid: 10 rows, 10 roles to remove from 8 users (7 rows excluded by ReviewResult=Deny,NotReviewed)")
}

func TestADecisionColumnWithNoMatchIsNothingToDo(t *testing.T) {
	got := rolesweep(t, invocation{}, "validate", entraExport, "--preset", "entra-review", "--where", "ReviewResult=Revoke")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, entraExport+": valid: 0 rows, nothing to remove (17 rows excluded by ReviewResult=Revoke)\n", got.stdout)

	got = rolesweep(t, invocation{}, "plan", entraExport, "--preset", "entra-review", "--where", "ReviewResult=Revoke", "--format", "json")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Contains(t, got.stdout, `"excluded": 17`)
}

func TestBadExportFlagsAreRefused(t *testing.T) {
	yamlFile := "testdata/removals.yaml"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown field", []string{"validate", entraExport, "--map", "email=PrincipalUPN"}, `--map: unknown field "email"`},
		{"map without a column", []string{"plan", entraExport, "--map", "user_email"}, "--map: map \"user_email\": expected FIELD=COLUMN"},
		{"malformed where", []string{"apply", entraExport, "--yes", "--where", "ReviewResult"}, "--where: where \"ReviewResult\": expected COLUMN=VALUE"},
		{"empty where value", []string{"validate", entraExport, "--where", "ReviewResult=Deny,"}, "empty value"},
		{"unknown preset", []string{"validate", entraExport, "--preset", "entra"}, `unknown preset "entra": known presets are entra-review`},
		{"map on YAML", []string{"validate", yamlFile, "--map", "user_id=uid"}, "--map applies to CSV input only; this input is yaml"},
		{"where on YAML", []string{"plan", yamlFile, "--where", "a=b"}, "--where applies to CSV input only"},
		{"preset on YAML", []string{"validate", yamlFile, "--preset", "entra-review"}, "--preset applies to CSV input only"},
		{"missing where column", []string{"validate", entraExport, "--preset", "entra-review", "--where", "Decision=Deny"},
			`no column "Decision" (filtered by Decision=Deny); the file's columns are "AccessReviewId"`},
		{"missing mapped column", []string{"validate", entraExport, "--preset", "entra-review", "--map", "reason=Comment"},
			`no column "Comment" (mapped to reason)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rolesweep(t, invocation{}, tc.args...)
			assert.Equal(t, 2, got.code, got.stdout)
			assert.Contains(t, got.stderr, tc.want)
			assert.Empty(t, got.stdout)
		})
	}
}

func TestHelpPresetsListsEveryPreset(t *testing.T) {
	got := rolesweep(t, invocation{}, "help", "presets")
	require.Equal(t, 0, got.code, got.stderr)
	presets := input.Presets()
	require.NotEmpty(t, presets)
	for _, p := range presets {
		assert.Contains(t, got.stdout, "\n"+p.Name+"\n")
		assert.Contains(t, got.stdout, p.Doc)
		assert.Contains(t, got.stdout, p.Tool)
		for field, column := range p.Map {
			assert.Contains(t, got.stdout, shellWord(string(field)+"="+column))
		}
		for _, f := range p.Where {
			assert.Contains(t, got.stdout, "--where "+shellWord(f.String()))
		}
	}
	assert.Contains(t, got.stdout, "--map user_email=PrincipalUPN\n")
	assert.Contains(t, got.stdout, "--map 'user_email=Account owner'\n", "a column with a space is quoted as it must be typed")
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"ReviewResult=Deny":      "ReviewResult=Deny",
		"Access Appropriate=No":  "'Access Appropriate=No'",
		"Owner's email=x":        `'Owner'\''s email=x'`,
		"reviewItem.decision=NO": "reviewItem.decision=NO",
	} {
		assert.Equal(t, want, shellWord(in), in)
	}
}

// The sandbox seeds every row of an export read through a preset, whatever
// the decision: the approved assignments exist too and must survive.
func TestSandboxSeedsEveryRowOfAnExport(t *testing.T) {
	tn, _ := startTenant(t, sandbox.Options{}, "")
	require.NoError(t, seedFromInput(tn, entraExport, input.Options{Map: mustPreset(t, "entra-review").Map}, "testdata/roles.csv"))
	held := 0
	for _, u := range tn.State().Users {
		held += len(u.Roles) - 1 // less the survivor role
	}
	assert.Equal(t, 17, held, "every one of the export's 17 assignments is seeded")

	got := rolesweep(t, invocation{}, "sandbox", "--from-input", entraExport, "--preset", "nope")
	assert.Equal(t, 2, got.code)
	assert.Contains(t, got.stderr, `--preset: unknown preset "nope"`)
}

func mustPreset(t *testing.T, name string) input.Preset {
	t.Helper()
	p, err := input.LookupPreset(name)
	require.NoError(t, err)
	return p
}

// With --skip-protected the campaign goes on: the protected rows are
// reported with their reason and the exit code is 1, the rest are removed.
func TestSkipProtectedReportsAndExitsOne(t *testing.T) {
	tn, url := campaignTenant(t)
	supportAgent := "rol_9yRKwo2Bl0zckceV" // testdata/roles.csv
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "r.json")
	args := []string{"apply", entraExport, "--preset", "entra-review", "--yes", "--check", "--domain", url, "--api-token", tn.Token(),
		"--protect-role", supportAgent, "--quiet"}

	refused := rolesweep(t, invocation{}, append(args, "--report", jsonPath)...)
	require.Equal(t, 2, refused.code, refused.stderr)
	for _, line := range []string{":2:", ":8:", ":20:"} {
		assert.Contains(t, refused.stderr, entraExport+line+" refusing to remove "+supportAgent)
	}
	assert.Empty(t, tn.Stats().Requests["DELETE /api/v2/users/{id}/roles"])
	assert.NoFileExists(t, filepath.Join(dir, "r.journal.jsonl"), "a refused run leaves no journal to resume")

	got := rolesweep(t, invocation{}, append(args, "--skip-protected", "--report", jsonPath)...)
	require.Equal(t, 1, got.code, "%s\n%s", got.stdout, got.stderr)
	assert.Contains(t, got.stdout, "protected 3: rows touching a protected user or role were not sent")
	assert.NotContains(t, got.stdout, "journal:", "protected rows are nothing to resume")
	assert.NoFileExists(t, filepath.Join(dir, "r.journal.jsonl"))
	r := readReport(t, jsonPath)
	assert.Equal(t, 3, r.Summary.Protected)
	assert.Equal(t, 5, r.Summary.Removed)
	assert.Equal(t, report.CompletedWithFailures, r.Outcome)
	assert.True(t, r.Run.Flags.SkipProtected)
	assert.Equal(t, []string{supportAgent}, r.Run.Flags.ProtectRoles)
	for _, res := range r.Results {
		if res.RoleID == supportAgent {
			assert.Equal(t, report.Protected, res.Status)
			assert.Equal(t, "role "+supportAgent+" is protected", res.Error)
		} else {
			assert.Equal(t, report.Removed, res.Status)
		}
	}
	assert.True(t, holds(tn)[[2]string{"priya.raman@example.com", "Support Agent"}], "the protected assignment survives")
}

// `rolesweep sandbox --from-input EXPORT --preset entra-review` serves a
// tenant holding all 17 assignments of the export, Approve rows included.
func TestSandboxCommandSeedsAnExportThroughAPreset(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"rolesweep", "sandbox", "--listen", "127.0.0.1:0", "--bucket", "0",
			"--from-input", entraExport, "--preset", "entra-review", "--map", "reason=ReviewerName", "--roles", "testdata/roles.csv"},
			env{stdout: pw, stderr: &stderr})
		pw.Close()
	}()
	domain := ""
	sc := bufio.NewScanner(pr)
	for domain == "" && sc.Scan() {
		domain, _ = strings.CutPrefix(sc.Text(), "export AUTH0_DOMAIN=")
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NotEmpty(t, domain, stderr.String())
	resp, err := http.Get(domain + "/__sandbox/state")
	require.NoError(t, err)
	defer resp.Body.Close()
	var state sandbox.Seed
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&state))
	held := 0
	for _, u := range state.Users {
		held += len(u.Roles) - 1 // less the survivor role
	}
	assert.Equal(t, 17, held)
	cancel()
	assert.Equal(t, 0, <-done, stderr.String())
}
