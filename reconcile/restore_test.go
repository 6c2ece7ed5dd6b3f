package reconcile

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

const (
	postUserRoles   = "POST /api/v2/users/{id}/roles"
	postMemberRoles = "POST /api/v2/organizations/{id}/members/{user_id}/roles"
	acme            = "org_AcmeAcmeAcme12"
)

// undoOf is the undo plan of an apply report whose results have the given
// statuses, in the order given.
func undoOf(results ...report.Result) *Plan {
	p, _ := UndoPlan(&report.Report{Version: report.Version, Command: "apply", Results: results})
	return p
}

func restore(t *testing.T, x *Executor, api RestoreAPI, p *Plan) ([]report.Result, error) {
	t.Helper()
	out := p.Outcomes(report.Skipped, report.Failed)
	err := x.Restore(context.Background(), api, p, out, nil)
	return joined(p, out), err
}

func removed(user, org, role string) report.Result {
	return report.Result{UserID: user, OrganizationID: org, RoleID: role, Status: report.Removed, Lines: []int{2}}
}

func TestUndoPlanHoldsOnlyRemovals(t *testing.T) {
	rs := []report.Result{
		removed("auth0|a", "", roleA),
		{UserID: "auth0|a", RoleID: roleB, Status: report.Absent},
		{UserID: "auth0|b", RoleID: roleA, Status: report.NotFound},
		{UserID: "auth0|c", RoleID: roleA, Status: report.Failed},
		{UserID: "auth0|d", RoleID: roleA, Status: report.Skipped},
		removed("auth0|a", acme, roleB),
		removed("auth0|a", "", roleC),
		removed("auth0|a", "", roleA), // an edited or hand-merged report
	}
	p, source := UndoPlan(&report.Report{Version: report.Version, Command: "apply", Results: rs})
	require.Len(t, p.Triples, 3)
	assert.Equal(t, []int{0, 5, 6}, source)
	assert.Equal(t, 1, p.Duplicates)
	assert.Equal(t, []int{2, 2}, p.Triples[0].Lines, "the repeated removal keeps both lines")
	require.Len(t, p.Groups, 2, "one request per (organization, user), as the removals were grouped")
	assert.Equal(t, []int{0, 2}, p.Groups[0].Triples)
	assert.Equal(t, acme, p.Groups[1].OrganizationID)
}

func TestRestoreAssignsOnePOSTPerGroupAndSkipsWhatIsHeld(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "", survivor)
	f.tenant.AddUser("auth0|again", "", roleA) // roleA assigned again since the run
	f.tenant.AddOrganization(acme, "acme")
	f.tenant.AddMember(acme, "auth0|a")
	p := undoOf(
		removed("auth0|a", "", roleA), removed("auth0|a", "", roleB),
		removed("auth0|again", "", roleA), removed("auth0|again", "", roleB),
		removed("auth0|a", acme, roleC),
		removed("auth0|gone", "", roleA),
		removed("auth0|a", "org_NoSuchOrg00000", roleA),
	)
	results, err := restore(t, &Executor{Pacer: fastPacer(0), Concurrency: 2, Check: true, Verify: true}, f.client, p)
	require.NoError(t, err)
	assert.Equal(t, []report.Status{
		report.Restored, report.Restored, report.Present, report.Restored, report.Restored, report.NotFound, report.NotFound,
	}, statuses(results))
	assert.Equal(t, []string{roleA, roleB, survivor}, f.tenant.Roles("auth0|a"))
	assert.Equal(t, []string{roleA, roleB}, f.tenant.Roles("auth0|again"))
	assert.Equal(t, []string{roleC}, f.tenant.MemberRoles(acme, "auth0|a"))

	st := f.tenant.Stats()
	assert.Equal(t, 2, st.Requests[postUserRoles][204], "one POST for auth0|a, one for auth0|again's roleB only")
	assert.Equal(t, 1, st.Requests[postMemberRoles][204])
	assert.Equal(t, 4, st.RolesAssigned, "the role held again was not sent")
	for route := range st.Requests {
		assert.NotContains(t, route, "DELETE", "an undo never removes")
	}
}

func TestRestoreWithoutCheckSendsEveryRole(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "", roleA)
	results, err := restore(t, &Executor{Pacer: fastPacer(0), Concurrency: 1}, f.client,
		undoOf(removed("auth0|a", "", roleA), removed("auth0|a", "", roleB), removed("auth0|gone", "", roleA), removed("auth0|gone", "", roleB)))
	require.NoError(t, err)
	// Auth0 accepts assigning a held role: without the check it is restored.
	assert.Equal(t, []report.Status{report.Restored, report.Restored, report.NotFound, report.NotFound}, statuses(results))
	assert.Equal(t, 2, f.tenant.Stats().Total, "no read without the check: one POST per user; a missing user's 404 is not split per role")
	assert.Equal(t, []string{roleA, roleB}, f.tenant.Roles("auth0|a"))
}

func TestRestoreLeavesPrefilledRowsAlone(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "")
	p := undoOf(removed("auth0|a", "", roleA), removed("auth0|a", "", roleB))
	out := p.Outcomes(report.Skipped, report.Failed)
	out[1].Status = report.Unverified
	x := &Executor{Pacer: fastPacer(0), Concurrency: 1, Check: true}
	require.NoError(t, x.Restore(context.Background(), f.client, p, out, nil))
	assert.Equal(t, []report.Status{report.Restored, report.Unverified}, statuses(joined(p, out)))
	assert.Equal(t, []string{roleA}, f.tenant.Roles("auth0|a"), "the unverified role was not sent")
}

func TestRestoreRetriesFaultsAndRateLimits(t *testing.T) {
	f := newFixture(t, sandbox.Options{Bucket: 5, Refill: 500, FailRate: 0.3, DropRate: 0.1, ApplyThenFailRate: 0.1, FaultSeed: 11})
	var rs []report.Result
	for i := range 40 {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.tenant.AddUser(u, "", survivor)
		rs = append(rs, removed(u, "", roleA), removed(u, "", roleB))
	}
	pc := fastPacer(20)
	results, err := restore(t, &Executor{Pacer: pc, Concurrency: 8, Check: true}, f.client, undoOf(rs...))
	require.NoError(t, err)
	for i, r := range results {
		// A POST applied before its 503 is sent again: assigning a held
		// role is accepted, so the retry ends restored too.
		assert.Equal(t, report.Restored, r.Status, "result %d: %+v", i, r)
	}
	st := f.tenant.Stats()
	require.NotZero(t, st.Faults.Failed+st.Faults.Dropped+st.Faults.AppliedThenFailed, "no faults injected; the test proves nothing")
	assert.NotZero(t, pc.Stats().Retries)
	for i := range 40 {
		assert.Equal(t, []string{roleA, roleB, survivor}, f.tenant.Roles(fmt.Sprintf("auth0|user%03d", i)))
	}
}

// restoreOnly proves by its type that Restore needs no Remover.
type restoreOnly struct{ RestoreAPI }

func TestRestoreNeedsNoRemover(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "")
	var api RestoreAPI = restoreOnly{f.client}
	_, canRemove := api.(Remover)
	require.False(t, canRemove)
	results, err := restore(t, &Executor{Pacer: fastPacer(0), Concurrency: 1, Check: true}, api,
		undoOf(removed("auth0|a", "", roleA)))
	require.NoError(t, err)
	assert.Equal(t, report.Restored, results[0].Status)
}

func TestRestoreUnauthorizedStopsTheRun(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	var rs []report.Result
	for i := range 10 {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.tenant.AddUser(u, "")
		rs = append(rs, removed(u, "", roleA))
	}
	f.tenant.RevokeTokens()
	results, err := restore(t, &Executor{Pacer: fastPacer(3), Concurrency: 1, Check: true}, f.client, undoOf(rs...))
	var abort *AbortError
	require.ErrorAs(t, err, &abort)
	assert.Equal(t, report.Failed, results[0].Status)
	for _, r := range results[1:] {
		assert.Equal(t, report.Skipped, r.Status)
	}
	assert.Equal(t, 1, f.tenant.Stats().Total)
}

func TestRestoreOfADeletedRoleDoesNotHoldBackTheOthers(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "")
	f.tenant.AddUser("auth0|b", "")
	const deleted = "rol_DeletedDeleted00" // removed, then deleted from the tenant
	p := undoOf(
		removed("auth0|a", "", roleA), removed("auth0|a", "", deleted), removed("auth0|a", "", roleB),
		removed("auth0|b", "", roleA),
		removed("auth0|gone", "", roleA), removed("auth0|gone", "", roleB),
	)
	results, err := restore(t, &Executor{Pacer: fastPacer(0), Concurrency: 1, Check: true, Verify: true}, f.client, p)
	require.NoError(t, err)
	assert.Equal(t, []report.Status{report.Restored, report.NotFound, report.Restored, report.Restored, report.NotFound, report.NotFound}, statuses(results))
	assert.Equal(t, "The role does not exist.", results[1].Error)
	assert.Equal(t, 2, results[0].Attempts, "the request for all three, then its own")
	assert.Equal(t, []string{roleA, roleB}, f.tenant.Roles("auth0|a"))
	// auth0|a: one POST for all (404), then one per role; auth0|b: one.
	assert.Equal(t, 1+3+1, userRolePosts(f.tenant.Stats()))
}

func userRolePosts(s sandbox.Stats) int {
	n := 0
	for _, c := range s.Requests[postUserRoles] {
		n += c
	}
	return n
}
