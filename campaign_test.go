package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of package main")

// exportRow is one decision of the Entra export, read with the standard
// library rather than rolesweep's reader, so the test does not check
// rolesweep against itself.
type exportRow struct{ email, role, decision, justification string }

func readExport(t *testing.T) ([]exportRow, []byte) {
	t.Helper()
	raw, err := os.ReadFile(entraExport)
	require.NoError(t, err)
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, name := range records[0] {
		col[name] = i
	}
	var rows []exportRow
	for _, rec := range records[1:] {
		rows = append(rows, exportRow{rec[col["PrincipalUPN"]], rec[col["ResourceDisplayName"]], rec[col["ReviewResult"]], rec[col["Justification"]]})
	}
	return rows, raw
}

// campaignTenant is a sandbox holding every assignment of the export, as
// `rolesweep sandbox --from-input EXPORT --preset entra-review` seeds it.
func campaignTenant(t *testing.T) (*sandbox.Tenant, string) {
	t.Helper()
	tn, url := startTenant(t, sandbox.Options{}, "")
	preset, err := input.LookupPreset("entra-review")
	require.NoError(t, err)
	require.NoError(t, seedFromInput(tn, entraExport, input.Options{Map: preset.Map}, "testdata/roles.csv"))
	return tn, url
}

// holds says, per (email, role name), whether the tenant's user holds it.
func holds(tn *sandbox.Tenant) map[[2]string]bool {
	s := tn.State()
	names := map[string]string{}
	for _, r := range s.Roles {
		names[r.ID] = r.Name
	}
	held := map[[2]string]bool{}
	for _, u := range s.Users {
		for _, id := range u.Roles {
			held[[2]string{u.Email, names[id]}] = true
		}
	}
	return held
}

func TestEntraExportAppliedWithThePreset(t *testing.T) {
	rows, raw := readExport(t)
	tn, url := campaignTenant(t)
	before := holds(tn)
	for _, r := range rows {
		require.True(t, before[[2]string{r.email, r.role}], "the sandbox holds %s's %s", r.email, r.role)
	}

	dir := t.TempDir()
	jsonPath, csvPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.csv")
	got := rolesweep(t, invocation{}, "apply", entraExport, "--preset", "entra-review", "--yes", "--check",
		"--domain", url, "--api-token", tn.Token(), "--report", jsonPath, "--report", csvPath, "--quiet")
	require.Equal(t, 0, got.code, "%s\n%s", got.stdout, got.stderr)

	// Exactly the Deny assignments are gone; Approve, NotReviewed and
	// "Not reviewed" ones all survive.
	after := holds(tn)
	denied := map[[2]string]string{}
	for _, r := range rows {
		key := [2]string{r.email, r.role}
		if r.decision == "Deny" {
			denied[key] = r.justification
			assert.False(t, after[key], "denied %v still assigned", key)
		} else {
			assert.True(t, after[key], "%s %v was removed", r.decision, key)
		}
	}
	require.Len(t, denied, 8)

	r := readReport(t, jsonPath)
	sum := sha256.Sum256(raw)
	assert.Equal(t, hex.EncodeToString(sum[:]), r.Input.SHA256, "the report names the export the auditor holds")
	assert.Equal(t, 17, r.Input.Rows)
	assert.Equal(t, 9, r.Summary.Excluded)
	assert.Equal(t, 8, r.Summary.Removed)
	assert.Equal(t, report.Completed, r.Outcome)
	require.NotNil(t, r.Run)
	assert.Equal(t, "entra-review", r.Run.Flags.Preset)
	assert.True(t, r.Run.Checked)
	require.Len(t, r.Results, 8)
	for _, res := range r.Results {
		key := [2]string{res.UserEmail, res.RoleName}
		want, ok := denied[key]
		require.True(t, ok, "%v was not denied", key)
		assert.Equal(t, want, res.Reason, "the reviewer's justification, byte for byte")
		assert.Equal(t, report.Removed, res.Status)
		assert.NotEmpty(t, res.UserID, "the email was resolved")
		assert.NotEmpty(t, res.RoleID, "the role name was resolved")
	}
	assert.Contains(t, denied, [2]string{"dana.whitfield@example.com", "Finance Viewer"})
	assert.Contains(t, denied[[2]string{"dana.whitfield@example.com", "Finance Viewer"}], "\n", "the fixture has multi-line justifications")

	// apply_result is written on every result of the JSON and CSV reports.
	var rawReport struct {
		Results []map[string]any `json:"results"`
	}
	b, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rawReport))
	require.Len(t, rawReport.Results, 8)
	for _, res := range rawReport.Results {
		assert.Equal(t, "AppliedSuccessfully", res["apply_result"])
	}
	f, err := os.Open(csvPath)
	require.NoError(t, err)
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 9)
	col := map[string]int{}
	for i, name := range records[0] {
		col[name] = i
	}
	require.Contains(t, col, "apply_result")
	for _, rec := range records[1:] {
		assert.Equal(t, "AppliedSuccessfully", rec[col["apply_result"]])
		key := [2]string{rec[col["user_email"]], rec[col["role_name"]]}
		assert.Equal(t, denied[key], rec[col["reason"]], "the CSV report keeps the line breaks")
	}

	// The second run finds nothing left: every Deny row is absent.
	again := rolesweep(t, invocation{}, "plan", entraExport, "--preset", "entra-review", "--check",
		"--domain", url, "--api-token", tn.Token(), "--format", "json", "--quiet")
	require.Equal(t, 0, again.code, again.stderr)
	assert.Contains(t, again.stdout, `"absent": 8`)
}

// The reviewers' view: plan --check --format markdown of the Entra export,
// against a sandbox seeded with every assignment of it.
func TestEntraPlanMarkdownGolden(t *testing.T) {
	tn, url := campaignTenant(t)
	var stdout, stderr bytes.Buffer
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	code := run(context.Background(), []string{"rolesweep", "plan", entraExport, "--preset", "entra-review", "--check",
		"--concurrency", "1", "--reserve", "20", "--domain", url, "--api-token", tn.Token(), "--format", "markdown", "--quiet"},
		env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, now: func() time.Time { return at }})
	require.Equal(t, 0, code, stderr.String())
	got := strings.ReplaceAll(stdout.String(), strings.TrimPrefix(url, "http://"), "127.0.0.1:PORT")
	got = strings.ReplaceAll(got, job.Operator(), "alice@build-7")
	got = strings.ReplaceAll(got, toolName(), "rolesweep vX")
	// The digest covers the tenant's address, a free port that changes.
	got = regexp.MustCompile(`sha256:[0-9a-f]{64}`).ReplaceAllString(got, "sha256:DIGEST")
	golden := filepath.Join("testdata", "golden", "entra-plan-check.md.golden")
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestEntraPlanMarkdownGolden -update . to create it")
	assert.Equal(t, string(want), got)
	assert.Contains(t, got, "| remove | 8 |")
	assert.Contains(t, got, "Left the finance team on 2026-10-31.\\nHandover done", "line breaks shown escaped")
}

// The reviewed-plan workflow keeps the export's evidence: the saved plan
// records the preset and the excluded rows, and so does the apply of it.
func TestReviewedPlanOfAnExportKeepsItsEvidence(t *testing.T) {
	tn, url := campaignTenant(t)
	dir := t.TempDir()
	planPath, reportPath := filepath.Join(dir, "plan.json"), filepath.Join(dir, "report.json")
	got := rolesweep(t, invocation{}, "plan", entraExport, "--preset", "entra-review", "--check",
		"--domain", url, "--api-token", tn.Token(), "--out", planPath, "--quiet")
	require.Equal(t, 0, got.code, got.stderr)
	saved := readReport(t, planPath)
	assert.Equal(t, 9, saved.Summary.Excluded)
	require.NotNil(t, saved.Run)
	assert.Equal(t, "entra-review", saved.Run.Flags.Preset)

	got = rolesweep(t, invocation{}, "apply", "--plan", planPath, "--yes", "--domain", url, "--api-token", tn.Token(),
		"--report", reportPath, "--quiet")
	require.Equal(t, 0, got.code, got.stderr)
	r := readReport(t, reportPath)
	assert.Equal(t, 8, r.Summary.Removed)
	assert.Equal(t, 9, r.Summary.Excluded)
	assert.Equal(t, saved.Input.SHA256, r.Input.SHA256)
	require.NotNil(t, r.Run)
	assert.Equal(t, "entra-review", r.Run.Flags.Preset, "the reviewed plan's preset, not this command line's")
	assert.True(t, r.Run.Checked, "a saved plan is always checked again")
}
