package job

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

const (
	roleA    = "rol_AAAAAAAAAAAAAAAA"
	roleB    = "rol_BBBBBBBBBBBBBBBB"
	survivor = "rol_SurvivorSurviv0"
)

// fixture is a sandbox tenant behind a loopback server and an input file
// that removes roleA and roleB from every one of its users.
type fixture struct {
	tenant *sandbox.Tenant
	url    string
	input  string
	dir    string
	users  []string
}

func newFixture(t *testing.T, users int) *fixture {
	t.Helper()
	f := &fixture{tenant: sandbox.New(sandbox.Options{}), dir: t.TempDir()}
	for _, r := range []string{roleA, roleB, survivor} {
		f.tenant.AddRole(r, "Role "+r[4:8])
	}
	var csv strings.Builder
	csv.WriteString("user_id,role_id,reason\n")
	for i := range users {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.users = append(f.users, u)
		f.tenant.AddUser(u, "", roleA, roleB, survivor)
		fmt.Fprintf(&csv, "%s,%s,review\n%s,%s,review\n", u, roleA, u, roleB)
	}
	f.input = filepath.Join(f.dir, "removals.csv")
	require.NoError(t, os.WriteFile(f.input, []byte(csv.String()), 0o600))
	srv := httptest.NewServer(f.tenant)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fixture) tenantConfig() Tenant {
	return Tenant{
		Management:  management.Config{Domain: f.url, APIToken: f.tenant.Token(), UserAgent: "rolesweep-test"},
		Concurrency: 1,
		MaxRetries:  0,
	}
}

func (f *fixture) applyConfig() ApplyConfig {
	return ApplyConfig{
		Source:      Source{Path: f.input},
		Tenant:      f.tenantConfig(),
		MaxRemovals: -1,
		Reports:     []string{filepath.Join(f.dir, "report.json")},
		Tool:        "rolesweep test",
	}
}

func (f *fixture) deletes() int {
	n := 0
	for route, byStatus := range f.tenant.Stats().Requests {
		if strings.HasPrefix(route, "DELETE") {
			for _, c := range byStatus {
				n += c
			}
		}
	}
	return n
}

func TestApplyRemovesAndReports(t *testing.T) {
	f := newFixture(t, 5)
	var summary Summary
	r, err := Apply(context.Background(), f.applyConfig(), Hooks{Finished: func(s Summary) { summary = s }})
	require.NoError(t, err)

	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 10, r.Summary.Removed)
	assert.Equal(t, 5, r.Summary.Users)
	assert.Equal(t, 5, f.deletes(), "one DELETE per user")
	for _, u := range f.users {
		assert.Equal(t, []string{survivor}, f.tenant.Roles(u))
	}
	assert.Empty(t, summary.Journal, "a completed run keeps no journal")
	_, statErr := os.Stat(filepath.Join(f.dir, "report.journal.jsonl"))
	assert.True(t, os.IsNotExist(statErr), "journal of a completed run left behind: %v", statErr)

	written, err := os.Open(filepath.Join(f.dir, "report.json"))
	require.NoError(t, err)
	defer written.Close()
	back, err := report.ReadJSON(written)
	require.NoError(t, err)
	require.Len(t, back.Results, 10)
	assert.Equal(t, report.Removed, back.Results[0].Status)
	assert.Equal(t, []int{2}, back.Results[0].Lines, "the report joins each outcome with its triple")
}

func TestResumeRetriesOnlyWhatDidNotFinish(t *testing.T) {
	f := newFixture(t, 6)
	// After the preflight's read (a 503 does not stop it), the first two
	// users' DELETEs fail, with no retries left.
	f.tenant.SetFailNext(3, 503)
	var first Summary
	r, err := Apply(context.Background(), f.applyConfig(), Hooks{Finished: func(s Summary) { first = s }})
	require.NoError(t, err)
	require.Equal(t, report.CompletedWithFailures, r.Outcome)
	assert.Equal(t, 4, r.Summary.Failed)
	require.NotEmpty(t, first.Journal, "a run with failures keeps its journal")
	deletesBefore := f.deletes()

	cfg := f.applyConfig()
	cfg.Resume = first.Journal
	cfg.Reports = []string{filepath.Join(f.dir, "resumed.json")}
	var notices []string
	r, err = Apply(context.Background(), cfg, Hooks{Notice: func(m string) { notices = append(notices, m) }})
	require.NoError(t, err)

	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 12, r.Summary.Removed, "the report merges both runs")
	assert.Equal(t, 2, f.deletes()-deletesBefore, "only the two failed groups are sent again")
	assert.Contains(t, strings.Join(notices, "\n"), "4 groups already finished")
	var attempts []int
	for res := range r.Rows() {
		attempts = append(attempts, res.Attempts)
	}
	assert.Equal(t, []int{2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1}, attempts, "attempts carry over from the journal")
}

func TestPlanCheckClassifiesWithoutRemoving(t *testing.T) {
	f := newFixture(t, 2)
	c, err := management.New(f.tenantConfig().Management)
	require.NoError(t, err)
	_, err = c.RemoveUserRoles(context.Background(), "auth0|user000", []string{roleA}) // by hand, before the check
	require.NoError(t, err)
	removedByHand := f.deletes()
	r, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}, Check: true, Tenant: f.tenantConfig()}, Hooks{})
	require.NoError(t, err)

	var got []report.Status
	for res := range r.Rows() {
		got = append(got, res.Status)
	}
	assert.Equal(t, []report.Status{report.Absent, report.PlanRemove, report.PlanRemove, report.PlanRemove}, got)
	assert.Equal(t, report.Planned, r.Outcome)
	assert.NoError(t, r.CheckDigest())
	assert.Equal(t, removedByHand, f.deletes(), "plan --check sent a DELETE")
}

func TestPlanOfflineNeedsNoTenant(t *testing.T) {
	f := newFixture(t, 3)
	r, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}}, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, 6, r.Summary.Remove)
	assert.Zero(t, f.tenant.Stats().Total)
}

func TestConfigErrorsNameFields(t *testing.T) {
	f := newFixture(t, 1)
	cfg := f.applyConfig()
	cfg.Tenant.Concurrency = 0
	_, err := Apply(context.Background(), cfg, Hooks{})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "concurrency", ce.Field)
	assert.NotContains(t, err.Error(), "--", "errors below main name fields, not flags")
	assert.Zero(t, f.tenant.Stats().Total)
}

func TestConfirmationAbortStillWritesTheReport(t *testing.T) {
	f := newFixture(t, 2)
	var asked Confirmation
	confirm := func(_ context.Context, c Confirmation) error {
		asked = c
		return &reconcile.AbortError{Reason: "interrupted at the prompt"}
	}
	r, err := Apply(context.Background(), f.applyConfig(), Hooks{Confirm: confirm})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	require.NotNil(t, r)
	assert.Equal(t, Confirmation{Removals: 4, Users: 2, Domain: strings.TrimPrefix(f.url, "http://")}, asked)
	assert.Equal(t, report.Aborted, r.Outcome)
	assert.Equal(t, 4, r.Summary.Skipped)
	assert.Zero(t, f.deletes())
	assert.FileExists(t, filepath.Join(f.dir, "report.json"))
}
