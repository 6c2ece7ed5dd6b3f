package job

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

const legacyName = "Legacy Admin"

// sweepFixture is a tenant of n synthetic users (user1@example.com …) who
// all hold "Legacy Admin", besides one to three other roles.
type sweepFixture struct {
	tenant  *sandbox.Tenant
	url     string
	dir     string
	legacy  string            // the role id
	byEmail map[string]string // email → user id
}

func newSweepFixture(t *testing.T, n int) *sweepFixture {
	t.Helper()
	tn := sandbox.New(sandbox.Options{})
	tn.SeedSynthetic(n, 7, legacyName)
	f := &sweepFixture{tenant: tn, dir: t.TempDir(), byEmail: map[string]string{}}
	for _, r := range tn.State().Roles {
		if r.Name == legacyName {
			f.legacy = r.ID
		}
	}
	require.NotEmpty(t, f.legacy)
	for _, u := range tn.State().Users {
		f.byEmail[u.Email] = u.UserID
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *sweepFixture) tenantConfig() Tenant {
	return Tenant{Management: management.Config{Domain: f.url, APIToken: f.tenant.Token(), UserAgent: "rolesweep-test"}, Concurrency: 8}
}

func (f *sweepFixture) write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(f.dir, name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func (f *sweepFixture) holders() []string {
	var ids []string
	for _, u := range f.tenant.State().Users {
		if slices.Contains(u.Roles, f.legacy) {
			ids = append(ids, u.UserID)
		}
	}
	slices.Sort(ids)
	return ids
}

func (f *sweepFixture) applyConfig(sw *Sweep) ApplyConfig {
	return ApplyConfig{Sweep: sw, Tenant: f.tenantConfig(), Check: true, MaxRemovals: -1,
		Reports: []string{filepath.Join(f.dir, "report.json")}, Tool: "rolesweep test"}
}

func (f *sweepFixture) count(route string, status int) int {
	return f.tenant.Stats().Requests[route][status]
}

func TestSweepPastAThousandHoldersKeepsExactlyTheKeepList(t *testing.T) {
	f := newSweepFixture(t, 1500)
	keep := f.write(t, "keep.csv", fmt.Sprintf("user_id,user_email,role_name,reason\n%s,,,break-glass\n,user7@example.com,%s,owner\n,user1499@example.com,,auditor\n",
		f.byEmail["user3@example.com"], legacyName))
	want := []string{f.byEmail["user3@example.com"], f.byEmail["user7@example.com"], f.byEmail["user1499@example.com"]}
	slices.Sort(want)

	var sum Summary
	r, err := Apply(context.Background(), f.applyConfig(&Sweep{Roles: []string{legacyName}, Keep: keep}), Hooks{Finished: func(s Summary) { sum = s }})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 1497, r.Summary.Removed)
	assert.Equal(t, want, f.holders(), "exactly the keep list still holds the role")
	assert.Zero(t, f.count("GET /api/v2/roles/{id}/users", 400), "past 1,000 holders only checkpoint paging")
	assert.Empty(t, sum.Journal)

	require.NotNil(t, r.Input.Sweep)
	assert.Equal(t, []report.SweptRole{{ID: f.legacy, Name: legacyName}}, r.Input.Sweep.Roles)
	require.NotNil(t, r.Input.Sweep.Keep)
	assert.Equal(t, keep, r.Input.Sweep.Keep.Path)
	list, err := input.ReadKeepFile(keep, "")
	require.NoError(t, err)
	assert.Equal(t, list.SHA256, r.Input.Sweep.Keep.SHA256)
	assert.Equal(t, 1500, r.Input.Rows, "holders read")
	for res := range r.Rows() {
		require.Equal(t, fmt.Sprintf("sweep of %s (%s)", legacyName, f.legacy), res.Reason)
	}
	require.NotNil(t, r.Run)
	assert.True(t, r.Run.Checked)
}

func TestSweepByNameAndByIDPlanTheSame(t *testing.T) {
	f := newSweepFixture(t, 120)
	byName, err := Plan(context.Background(), PlanConfig{Sweep: &Sweep{Roles: []string{legacyName}}, Tenant: f.tenantConfig()}, Hooks{})
	require.NoError(t, err)
	byID, err := Plan(context.Background(), PlanConfig{Sweep: &Sweep{Roles: []string{f.legacy}}, Tenant: f.tenantConfig()}, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, 120, byName.Summary.Remove)
	assert.Equal(t, byName.PlanDigest, byID.PlanDigest, "a role named by id or by name is the same sweep")
	assert.Zero(t, f.count("DELETE /api/v2/users/{id}/roles", 204), "plan sends nothing")
}

func TestSweptRoleMustNameExactlyOneRole(t *testing.T) {
	f := newSweepFixture(t, 30)
	f.tenant.AddRole("rol_Duplicate0000001", "Twin")
	f.tenant.AddRole("rol_Duplicate0000002", "Twin")
	for _, roles := range [][]string{{"Twin"}, {"No Such Role"}, {"rol_Nonexistent00001"}, {"legacy admin"}} {
		_, err := Apply(context.Background(), f.applyConfig(&Sweep{Roles: roles}), Hooks{})
		var sweepErr *reconcile.SweepError
		require.ErrorAs(t, err, &sweepErr, "%v", roles)
	}
	assert.Len(t, f.holders(), 30, "nothing was removed")
	assert.Zero(t, f.count("GET /api/v2/roles/{id}/users", 200), "no holder was read")
}

func TestSweepKeepListProblemsStopBeforeAnythingIsSent(t *testing.T) {
	f := newSweepFixture(t, 30)
	keep := f.write(t, "keep.csv", "user_email,role_id\nuser1@example.com,\nnobody@example.com,\nuser2@example.com,rol_NotSwept00000001\n")
	_, err := Apply(context.Background(), f.applyConfig(&Sweep{Roles: []string{legacyName}, Keep: keep}), Hooks{})
	var verr *input.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Contains(t, err.Error(), keep+":3: no user has the email \"nobody@example.com\"")
	assert.Contains(t, err.Error(), keep+":4: role rol_NotSwept00000001 is not swept")
	assert.Len(t, f.holders(), 30)

	bad := f.write(t, "bad.csv", "user_id,colour\nauth0|x,red\n")
	_, err = Apply(context.Background(), f.applyConfig(&Sweep{Roles: []string{legacyName}, Keep: bad}), Hooks{})
	require.ErrorAs(t, err, &verr)
	assert.Zero(t, f.tenant.Stats().Total-f.count("GET /api/v2/users-by-email", 200)-f.count("GET /api/v2/roles", 200),
		"a keep list with an unknown column is refused before any request")
}

func TestSavedSweepPlanIsAppliedAsReviewedWithDrift(t *testing.T) {
	f := newSweepFixture(t, 60)
	r, err := Plan(context.Background(), PlanConfig{Sweep: &Sweep{Roles: []string{legacyName}}, Tenant: f.tenantConfig()}, Hooks{})
	require.NoError(t, err)
	planPath := filepath.Join(f.dir, "plan.json")
	require.NoError(t, report.WriteFileFormat(planPath, "json", r))

	// Edited after review: refused.
	data, err := os.ReadFile(planPath)
	require.NoError(t, err)
	edited := filepath.Join(f.dir, "edited.json")
	require.NoError(t, os.WriteFile(edited, []byte(strings.Replace(string(data), "user5@example.com", "user6@example.com", 1)), 0o600))
	cfg := f.applyConfig(nil)
	cfg.SavedPlan = edited
	_, err = Apply(context.Background(), cfg, Hooks{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot be applied as reviewed")

	// Since the plan: one holder lost the role, one user gained it.
	client, err := management.New(f.tenantConfig().Management)
	require.NoError(t, err)
	_, err = client.RemoveUserRoles(context.Background(), f.byEmail["user9@example.com"], []string{f.legacy})
	require.NoError(t, err)
	f.tenant.AddUser("auth0|newcomer", "new@example.com", f.legacy)

	cfg.SavedPlan = planPath
	var sum Summary
	r, err = Apply(context.Background(), cfg, Hooks{Finished: func(s Summary) { sum = s }})
	require.NoError(t, err)
	assert.Equal(t, 59, r.Summary.Removed)
	assert.Equal(t, 1, r.Summary.Absent)
	assert.Contains(t, sum.Drift, "1 roles planned remove, found absent")
	assert.Contains(t, sum.Drift, fmt.Sprintf("1 holders gained %s (%s) since the plan; not removed: sweep again to plan them", legacyName, f.legacy))
	assert.Equal(t, []string{"auth0|newcomer"}, f.holders(), "the reviewed plan is applied as it was")
}

func TestSweepGuardsApply(t *testing.T) {
	f := newSweepFixture(t, 40)
	cfg := f.applyConfig(&Sweep{Roles: []string{legacyName}})
	cfg.MaxRemovals = 39
	r, err := Apply(context.Background(), cfg, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.Contains(t, abort.Reason, "40 of the planned roles are assigned")
	assert.Equal(t, 40, r.Summary.Skipped)
	assert.Zero(t, f.count("DELETE /api/v2/users/{id}/roles", 204))

	cfg = f.applyConfig(&Sweep{Roles: []string{legacyName}})
	cfg.ProtectUsers = []string{f.byEmail["user2@example.com"]}
	_, err = Apply(context.Background(), cfg, Hooks{})
	var protected *ProtectedError
	require.ErrorAs(t, err, &protected)
	assert.Contains(t, protected.Error(), "sweep of Legacy Admin")
	assert.Len(t, f.holders(), 40)
}

func TestResumedSweepKeepsWhatTheFirstRunRemoved(t *testing.T) {
	f := newSweepFixture(t, 30)
	cfg := f.applyConfig(&Sweep{Roles: []string{legacyName}})
	cfg.Tenant.Concurrency = 1
	// Once the sweep is planned, just before the DELETEs (the progress
	// display starts), the first two of them fail.
	hooks := Hooks{Progress: func(*reconcile.Progress, func() pacer.Stats) func() {
		f.tenant.SetFailNext(2, 503)
		return func() {}
	}}
	cfg.Check = false
	var first Summary
	hooks.Finished = func(s Summary) { first = s }
	r, err := Apply(context.Background(), cfg, hooks)
	require.NoError(t, err)
	require.Equal(t, 2, r.Summary.Failed)
	require.Equal(t, 28, r.Summary.Removed)
	require.NotEmpty(t, first.Journal)

	// Another sweep's journal is refused.
	other := f.applyConfig(&Sweep{Roles: []string{"Auditor"}})
	other.Resume = first.Journal
	_, err = Apply(context.Background(), other, Hooks{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot resume")

	// The resumed run sweeps again (2 holders left) and keeps the 28 the
	// journal recorded, which no longer hold the role.
	resumed := f.applyConfig(&Sweep{Roles: []string{legacyName}})
	resumed.Resume = first.Journal
	resumed.Reports = []string{filepath.Join(f.dir, "resumed.json")}
	r, err = Apply(context.Background(), resumed, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 30, r.Summary.Removed, "the report holds both runs' removals")
	assert.Equal(t, 30, r.Summary.Roles)
	assert.Empty(t, f.holders())
}

func TestNoCheckReportsCheckedFalse(t *testing.T) {
	f := newSweepFixture(t, 25)
	cfg := f.applyConfig(&Sweep{Roles: []string{legacyName}})
	cfg.Check = false
	r, err := Apply(context.Background(), cfg, Hooks{})
	require.NoError(t, err)
	require.NotNil(t, r.Run)
	assert.False(t, r.Run.Checked)
	assert.Equal(t, 25, r.Summary.Removed)
	assert.Zero(t, f.tenant.Stats().Requests["GET /api/v2/users/{id}/roles"][200], "nothing read per user")
}

func TestSweepOfEndlessHoldersStopsAtTheCap(t *testing.T) {
	f := newSweepFixture(t, 5)
	f.tenant.SetReadFault(sandbox.ReadFaultEndless)
	_, err := Plan(context.Background(), PlanConfig{Sweep: &Sweep{Roles: []string{f.legacy}, MaxHolders: 2000}, Tenant: f.tenantConfig()}, Hooks{})
	var listing *reconcile.ListingError
	require.ErrorAs(t, err, &listing, "an endless listing (here, of the roles) is an error, never a plan")
}

func TestSweepOfTwoRolesSendsOneRequestPerUser(t *testing.T) {
	f := newSweepFixture(t, 80)
	auditors := 0
	var auditor string
	for _, r := range f.tenant.State().Roles {
		if r.Name == "Auditor" {
			auditor = r.ID
		}
	}
	for _, u := range f.tenant.State().Users {
		if slices.Contains(u.Roles, auditor) {
			auditors++
		}
	}
	require.NotZero(t, auditors)
	r, err := Apply(context.Background(), f.applyConfig(&Sweep{Roles: []string{legacyName, "Auditor", f.legacy}}), Hooks{})
	require.NoError(t, err)
	assert.Equal(t, 80+auditors, r.Summary.Removed, "a role named twice is swept once")
	assert.Equal(t, 80, f.count("DELETE /api/v2/users/{id}/roles", 204), "one DELETE per user, with both roles")
	assert.Len(t, r.Input.Sweep.Roles, 2)
}
