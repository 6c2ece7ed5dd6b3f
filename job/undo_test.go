package job

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// posts counts the role-assignment POSTs the tenant answered.
func (f *fixture) posts() int {
	n := 0
	for route, byStatus := range f.tenant.Stats().Requests {
		if strings.HasPrefix(route, "POST /api/v2/") {
			for _, c := range byStatus {
				n += c
			}
		}
	}
	return n
}

func (f *fixture) undoConfig(reportPath string) UndoConfig {
	return UndoConfig{
		Report:  reportPath,
		Tenant:  f.tenantConfig(),
		Check:   true,
		Reports: []string{filepath.Join(f.dir, "undo.json")},
		Tool:    "rolesweep test",
	}
}

// applied runs a checked (or unchecked) apply of the fixture and returns
// its report's path.
func (f *fixture) applied(t *testing.T, check bool) string {
	t.Helper()
	cfg := f.applyConfig()
	cfg.Check = check
	_, err := Apply(context.Background(), cfg, Hooks{})
	require.NoError(t, err)
	return cfg.Reports[0]
}

func TestUndoPutsBackExactlyWhatApplyRemoved(t *testing.T) {
	f := newFixture(t, 4)
	c, err := management.New(f.tenantConfig().Management)
	require.NoError(t, err)
	ctx := context.Background()
	// user001 never held roleB: the checked apply finds it absent, and the
	// undo must not grant it.
	_, err = c.RemoveUserRoles(ctx, "auth0|user001", []string{roleB})
	require.NoError(t, err)
	before := f.tenant.State()
	applyReport := f.applied(t, true)
	// Since the apply, someone gave user002 its roleA back.
	_, err = c.AssignUserRoles(ctx, "auth0|user002", []string{roleA})
	require.NoError(t, err)
	postsBefore := f.posts()

	var asked Confirmation
	var summary Summary
	r, err := Undo(ctx, f.undoConfig(applyReport), Hooks{
		Confirm:  func(_ context.Context, c Confirmation) error { asked = c; return nil },
		Finished: func(s Summary) { summary = s },
	})
	require.NoError(t, err)
	assert.Equal(t, before, f.tenant.State(), "the tenant is as it was before the apply")
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 6, r.Summary.Restored)
	assert.Equal(t, 1, r.Summary.Present)
	assert.Equal(t, 7, r.Summary.Roles, "one row per removal; the absent result is no undo row")
	assert.Equal(t, Confirmation{Removals: 7, Users: 4, Domain: strings.TrimPrefix(f.url, "http://"), Restore: true}, asked)
	assert.Equal(t, 4, f.posts()-postsBefore, "one POST per user; user002's holds only its roleB")
	assert.Empty(t, summary.Journal, "a completed undo keeps no journal")

	back := readJSONFile(t, f.dir+"/undo.json")
	assert.Equal(t, report.CommandUndo, back.Command)
	require.NotNil(t, back.Run)
	assert.True(t, back.Run.Checked, "the undo read current roles first")
	require.NotNil(t, back.Input.Undoes)
	data, err := os.ReadFile(applyReport)
	require.NoError(t, err)
	assert.Equal(t, sha256Hex(data), back.Input.Undoes.SHA256)
	assert.Equal(t, applyReport, back.Input.Undoes.Path)
	assert.Equal(t, strings.TrimPrefix(f.url, "http://"), back.Input.Undoes.Domain)
	assert.NoError(t, back.CheckReportDigest())
	assert.Equal(t, []int{2}, back.Results[0].Lines, "undo rows keep the input lines of the removals")
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func readJSONFile(t *testing.T, path string) *report.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	r, err := report.ReadJSON(bytes.NewReader(data))
	require.NoError(t, err)
	return r
}

func TestUndoOfAnUncheckedRunSendsNothingUnlessAsked(t *testing.T) {
	f := newFixture(t, 3)
	applyReport := f.applied(t, false)
	var notices []string
	asked := false
	r, err := Undo(context.Background(), f.undoConfig(applyReport), Hooks{
		Notice:  func(m string) { notices = append(notices, m) },
		Confirm: func(context.Context, Confirmation) error { asked = true; return nil },
	})
	require.NoError(t, err)
	assert.Equal(t, report.CompletedWithFailures, r.Outcome, "unverified is not success")
	assert.Equal(t, 6, r.Summary.Unverified)
	assert.Zero(t, f.posts())
	assert.False(t, asked, "nothing to send: no prompt")
	assert.Contains(t, strings.Join(notices, "\n"), "--include-unverified")
	for res := range r.Rows() {
		assert.Contains(t, res.Error, "did not read current roles first")
	}
	for _, u := range f.users {
		assert.Equal(t, []string{survivor}, f.tenant.Roles(u))
	}

	cfg := f.undoConfig(applyReport)
	cfg.IncludeUnverified = true
	cfg.Reports = []string{filepath.Join(f.dir, "undo2.json")}
	r, err = Undo(context.Background(), cfg, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 6, r.Summary.Restored)
	assert.True(t, r.Run.Flags.IncludeUnverified)
	for _, u := range f.users {
		assert.Equal(t, []string{roleA, roleB, survivor}, f.tenant.Roles(u))
	}
}

func TestUndoRefusesWhatItMustNotActOn(t *testing.T) {
	f := newFixture(t, 2)
	applyReport := f.applied(t, true)
	original, err := os.ReadFile(applyReport)
	require.NoError(t, err)
	write := func(name string, data []byte) string {
		p := filepath.Join(f.dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	edited := write("edited.json", bytes.Replace(original, []byte(`"status": "removed"`), []byte(`"status": "absent"`), 1))
	checkedOff := write("flipped.json", bytes.Replace(original, []byte(`"checked": true`), []byte(`"checked": false`), 1))
	plan, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}}, Hooks{})
	require.NoError(t, err)
	planPath := filepath.Join(f.dir, "plan.json")
	require.NoError(t, report.WriteFileFormat(planPath, "json", plan))
	undoneOnce, err := Undo(context.Background(), f.undoConfig(applyReport), Hooks{})
	require.NoError(t, err)
	require.Equal(t, report.Completed, undoneOnce.Outcome)

	other := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(other)
	t.Cleanup(srv.Close)
	otherTenant := f.tenantConfig()
	otherTenant.Management = management.Config{Domain: srv.URL, APIToken: other.Token()}

	cases := []struct {
		name, path, says string
		tenant           Tenant
	}{
		{"another tenant", applyReport, "was made against tenant " + strings.TrimPrefix(f.url, "http://"), otherTenant},
		{"an edited report", edited, "edited after it was written", f.tenantConfig()},
		{"run.checked flipped", checkedOff, "edited after it was written", f.tenantConfig()},
		{"a plan", planPath, "it is a plan", f.tenantConfig()},
		{"an undo report", filepath.Join(f.dir, "undo.json"), `report of "undo", not of apply`, f.tenantConfig()},
		{"not a report", f.input, "not a rolesweep JSON report", f.tenantConfig()},
		{"a missing file", filepath.Join(f.dir, "nope.json"), "no such file", f.tenantConfig()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sent, otherSent := f.tenant.Stats().Total, other.Stats().Total
			cfg := f.undoConfig(tc.path)
			cfg.Tenant = tc.tenant
			cfg.Reports = []string{filepath.Join(f.dir, "refused.json")}
			_, err := Undo(context.Background(), cfg, Hooks{})
			var refused *UndoRefusedError
			require.ErrorAs(t, err, &refused)
			assert.Contains(t, err.Error(), tc.says)
			assert.Contains(t, err.Error(), "nothing was sent")
			assert.Equal(t, sent, f.tenant.Stats().Total)
			assert.Equal(t, otherSent, other.Stats().Total)
			assert.NoFileExists(t, filepath.Join(f.dir, "refused.json"))

			_, err = PreviewUndo(cfg)
			assert.ErrorAs(t, err, &refused, "--dry-run refuses the same reports")
		})
	}
}

func TestUndoOfAReportWithoutDigestIsUnverified(t *testing.T) {
	f := newFixture(t, 1)
	applyReport := f.applied(t, true)
	r := readJSONFile(t, applyReport)
	r.ReportDigest = "" // as rolesweep v0.1 wrote it
	require.NoError(t, report.WriteFile(applyReport, r))
	got, err := Undo(context.Background(), f.undoConfig(applyReport), Hooks{})
	require.NoError(t, err)
	assert.Equal(t, 2, got.Summary.Unverified, "without a digest, run.checked proves nothing")
	assert.Contains(t, got.At(0).Error, "no report_digest")
	assert.Zero(t, f.posts())
}

func TestUndoResumeSendsOnlyWhatDidNotFinish(t *testing.T) {
	f := newFixture(t, 5)
	applyReport := f.applied(t, true)
	// After the preflight's read (a 503 does not stop it), the first two
	// users' reads fail, with no retries left.
	f.tenant.SetFailNext(3, 503)
	var first Summary
	r, err := Undo(context.Background(), f.undoConfig(applyReport), Hooks{Finished: func(s Summary) { first = s }})
	require.NoError(t, err)
	require.Equal(t, report.CompletedWithFailures, r.Outcome)
	require.Equal(t, 4, r.Summary.Failed)
	require.NotEmpty(t, first.Journal)
	postsBefore := f.posts()

	// One journal, one run: an apply cannot resume an undo's journal.
	applyCfg := f.applyConfig()
	applyCfg.Resume = first.Journal
	_, err = Apply(context.Background(), applyCfg, Hooks{})
	assert.ErrorContains(t, err, "cannot resume "+first.Journal)
	assert.Equal(t, postsBefore, f.posts())

	cfg := f.undoConfig(applyReport)
	cfg.Resume = first.Journal
	cfg.Reports = []string{filepath.Join(f.dir, "resumed.json")}
	var notices []string
	r, err = Undo(context.Background(), cfg, Hooks{Notice: func(m string) { notices = append(notices, m) }})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 10, r.Summary.Restored, "the report merges both runs")
	assert.Equal(t, 2, f.posts()-postsBefore, "only the two failed groups are sent")
	assert.Contains(t, strings.Join(notices, "\n"), "3 groups already finished")
	for _, u := range f.users {
		assert.Equal(t, []string{roleA, roleB, survivor}, f.tenant.Roles(u))
	}
	_, err = os.Stat(first.Journal)
	assert.True(t, os.IsNotExist(err), "the completed resume removed the journal")
}

func TestPreviewUndoSendsNothing(t *testing.T) {
	f := newFixture(t, 2)
	applyReport := f.applied(t, true)
	sent := f.tenant.Stats().Total
	cfg := f.undoConfig(applyReport)
	prev, err := PreviewUndo(cfg)
	require.NoError(t, err)
	assert.Equal(t, sent, f.tenant.Stats().Total, "--dry-run makes no request")
	assert.Len(t, prev.Restore, 4)
	assert.Empty(t, prev.Unverified)
	var out bytes.Buffer
	require.NoError(t, prev.WriteText(&out))
	assert.Contains(t, out.String(), "would restore 4 roles")
	assert.Contains(t, out.String(), "  "+roleA+" (Role AAAA) to auth0|user000\n", "the role name the tenant told the apply is shown")

	// Without a tenant it still previews; with another tenant it refuses.
	cfg.Tenant.Management.Domain = ""
	_, err = PreviewUndo(cfg)
	assert.NoError(t, err)
}

func TestUndoOfASweepReport(t *testing.T) {
	f := newFixture(t, 2)
	c, err := management.New(f.tenantConfig().Management)
	require.NoError(t, err)
	for _, u := range f.users { // the sweep took roleA from both
		_, err := c.RemoveUserRoles(context.Background(), u, []string{roleA})
		require.NoError(t, err)
	}
	r := &report.Report{
		Version: report.Version, Tool: "rolesweep test", Command: report.CommandApply,
		Domain: strings.TrimPrefix(f.url, "http://"),
		Input:  report.Input{Sweep: &report.Sweep{Roles: []report.SweptRole{{ID: roleA, Name: "Role AAAA"}}}},
		Run:    &report.Run{Checked: true},
		Results: []report.Result{
			{UserID: f.users[0], RoleID: roleA, Status: report.Removed, HTTPStatus: 204, Attempts: 1},
			{UserID: f.users[1], RoleID: roleA, Status: report.Removed, HTTPStatus: 204, Attempts: 1},
		},
	}
	r.Tally()
	r.SetOutcome()
	r.ReportDigest = report.ReportDigest(r)
	path := filepath.Join(f.dir, "sweep.json")
	require.NoError(t, report.WriteFile(path, r))
	got, err := Undo(context.Background(), f.undoConfig(path), Hooks{})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, got.Outcome)
	assert.Equal(t, 2, got.Summary.Restored)
	for _, u := range f.users {
		assert.Equal(t, []string{roleA, roleB, survivor}, f.tenant.Roles(u))
	}
}

func TestPreviewQuotesControlCharacters(t *testing.T) {
	var out bytes.Buffer
	prev := &UndoPreview{Path: "r.json", Domain: "acme", Restore: []report.Result{{UserID: "auth0|\x1b[2Jx", RoleID: roleA}}}
	require.NoError(t, prev.WriteText(&out))
	assert.NotContains(t, out.String(), "\x1b")
	assert.Contains(t, out.String(), `"auth0|\x1b[2Jx"`)
}
