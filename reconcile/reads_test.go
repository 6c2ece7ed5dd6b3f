package reconcile

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

const (
	routeUserRoles = "GET /api/v2/users/{id}/roles"
	routeHolders   = "GET /api/v2/roles/{id}/users"
	routeDelete    = "DELETE /api/v2/users/{id}/roles"
	legacy         = "rol_LegacyAdmin000001"
)

func requests(tn *sandbox.Tenant, route string) int {
	n := 0
	for _, c := range tn.Stats().Requests[route] {
		n += c
	}
	return n
}

// holdersFixture is a tenant whose users all hold roleA, roleB and roleC,
// plus users who hold none of them.
func holdersFixture(t *testing.T, opts sandbox.Options, holders, others int) (*fixture, []string) {
	t.Helper()
	f := newFixture(t, opts)
	ids := make([]string, 0, holders+others)
	for i := range holders + others {
		u := fmt.Sprintf("auth0|holder%06d", i)
		if i < holders {
			f.tenant.AddUser(u, "", roleA, roleB, roleC)
		} else {
			f.tenant.AddUser(u, "", survivor)
		}
		ids = append(ids, u)
	}
	return f, ids
}

func planFor(users []string, roles ...string) *Plan {
	var rows []input.Row
	for _, u := range users {
		for _, r := range roles {
			rows = append(rows, input.Row{UserID: u, RoleID: r})
		}
	}
	return planOf(rows...)
}

func TestCheckReadsRoleHoldersWhenCheaper(t *testing.T) {
	// 1,500 users hold three roles; the plan removes them from 1,200 holders
	// and 300 users who do not hold them: per-user reads would cost 1,500
	// requests, the holder lists 3 probes and 3×15 checkpoint pages.
	f, users := holdersFixture(t, sandbox.Options{}, 1500, 300)
	p := planFor(users[300:], roleA, roleB, roleC)
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 8, Check: true}
	results, err := execute(t, x, p)
	require.NoError(t, err)

	assert.Equal(t, PerRole, x.ReadStats().Strategy)
	assert.Zero(t, requests(f.tenant, routeUserRoles), "no per-user reads")
	assert.Equal(t, 3+3*15, requests(f.tenant, routeHolders), "3 probes, then 15 checkpoint pages per role")
	counts := map[report.Status]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	assert.Equal(t, map[report.Status]int{report.Removed: 1200 * 3, report.Absent: 300 * 3}, counts)
	assert.Equal(t, 1200, requests(f.tenant, routeDelete), "one DELETE per holder, none for the others")
	assert.Equal(t, []string{survivor}, f.tenant.Roles(users[1700]))
}

func TestCheckReadsPerUserWhenCheaper(t *testing.T) {
	// Ten users of a role held by 1,500: ten reads beat 16 pages of holders.
	f, users := holdersFixture(t, sandbox.Options{}, 1500, 0)
	p := planFor(users[:10], roleA)
	out := p.Outcomes(report.Skipped, report.PlanUnresolved)
	c := &Checker{Reader: f.client, Pacer: fastPacer(0), Concurrency: 4}
	require.NoError(t, c.Check(context.Background(), p, out))

	assert.Equal(t, PerUser, c.ReadStats().Strategy)
	assert.Equal(t, 10, requests(f.tenant, routeUserRoles))
	assert.Equal(t, 0, requests(f.tenant, routeHolders), "one role against ten users is not worth a probe")
	for _, o := range out {
		assert.Equal(t, report.PlanRemove, o.Status)
	}
}

func TestCheckProbesThenReadsPerUser(t *testing.T) {
	// 25 users, one role held by 1,500: the probe says 15 more pages, more
	// than half of 25 reads, so the users are read.
	f, users := holdersFixture(t, sandbox.Options{}, 1500, 0)
	p := planFor(users[:25], roleA)
	out := p.Outcomes(report.Skipped, report.PlanUnresolved)
	c := &Checker{Reader: f.client, Pacer: fastPacer(0), Concurrency: 4}
	require.NoError(t, c.Check(context.Background(), p, out))
	assert.Equal(t, PerUser, c.ReadStats().Strategy)
	assert.Equal(t, 1, requests(f.tenant, routeHolders), "one probe")
	assert.Equal(t, 25, requests(f.tenant, routeUserRoles))
}

func TestTotalsThatLieLowAreNotBelieved(t *testing.T) {
	// Every include_totals answer says total 0 while the pages are full.
	f, users := holdersFixture(t, sandbox.Options{ReadFault: sandbox.ReadFaultLowTotal}, 1500, 0)
	var many []string
	for i := range 250 {
		id := fmt.Sprintf("rol_Many%012d", i)
		many = append(many, id)
	}
	f.tenant.AddUser("auth0|collector", "", many...)

	t.Run("per user", func(t *testing.T) {
		p := planOf(input.Row{UserID: "auth0|collector", RoleID: many[249]}, input.Row{UserID: "auth0|collector", RoleID: roleA})
		out := p.Outcomes(report.Skipped, report.PlanUnresolved)
		c := &Checker{Reader: f.client, Pacer: fastPacer(0), Concurrency: 1}
		require.NoError(t, c.Check(context.Background(), p, out))
		assert.Equal(t, []report.Status{report.PlanRemove, report.Absent}, statuses(joined(p, out)),
			"the 250th role is on page 2, whatever the total says")
	})
	t.Run("per role", func(t *testing.T) {
		p := planFor(users, roleA)
		out := p.Outcomes(report.Skipped, report.PlanUnresolved)
		c := &Checker{Reader: f.client, Pacer: fastPacer(0), Concurrency: 4}
		require.NoError(t, c.Check(context.Background(), p, out))
		assert.Equal(t, PerRole, c.ReadStats().Strategy)
		for _, o := range out {
			require.Equal(t, report.PlanRemove, o.Status, "a holder past the first page was called absent")
		}
	})
	t.Run("longer than the budget", func(t *testing.T) {
		// The probe believes a short list; the pages go on, past half the
		// cost of reading 20 users, so the check falls back to them.
		p := planFor(users[:20], roleB)
		out := p.Outcomes(report.Skipped, report.PlanUnresolved)
		c := &Checker{Reader: f.client, Pacer: fastPacer(0), Concurrency: 1}
		require.NoError(t, c.Check(context.Background(), p, out))
		assert.True(t, c.ReadStats().FellBack)
		assert.Equal(t, PerUser, c.ReadStats().Strategy)
		for _, o := range out {
			require.Equal(t, report.PlanRemove, o.Status)
		}
	})
}

func TestEndlessPagesFailTheReadNeverAbsent(t *testing.T) {
	f := newFixture(t, sandbox.Options{ReadFault: sandbox.ReadFaultEndless})
	f.tenant.AddUser("auth0|a", "", roleA)
	p := planOf(input.Row{UserID: "auth0|a", RoleID: roleA})
	out := p.Outcomes(report.Skipped, report.PlanUnresolved)
	c := &Checker{Reader: f.client, Pacer: fastPacer(0), Concurrency: 1}
	require.NoError(t, c.Check(context.Background(), p, out))
	// Failed, not absent (and no planned action: such a plan is not saved).
	assert.Equal(t, report.Failed, out[0].Status)
	assert.Contains(t, out[0].Error, "more than 5000 roles")
	assert.Equal(t, MaxUserRolePages, requests(f.tenant, routeUserRoles), "stopped at the cap")

	// apply: the triple fails, nothing is sent.
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 1, Check: true}
	results, err := execute(t, x, p)
	require.NoError(t, err)
	assert.Equal(t, report.Failed, results[0].Status)
	assert.Contains(t, results[0].Error, "cannot be trusted")
	assert.Zero(t, requests(f.tenant, routeDelete))
}

func TestInvalidJSONIsAFailedReadNeverAbsent(t *testing.T) {
	f := newFixture(t, sandbox.Options{ReadFault: sandbox.ReadFaultInvalidJSON})
	f.tenant.AddUser("auth0|a", "", roleA)
	p := planOf(input.Row{UserID: "auth0|a", RoleID: roleA})
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 1, Check: true}
	results, err := execute(t, x, p)
	require.NoError(t, err)
	assert.Equal(t, report.Failed, results[0].Status)
	assert.Zero(t, requests(f.tenant, routeDelete))
	assert.Equal(t, []string{roleA}, f.tenant.Roles("auth0|a"))
}

func TestReadPhaseComesBeforeAnyRemoval(t *testing.T) {
	f, users := holdersFixture(t, sandbox.Options{}, 5, 5)
	p := planFor(users, roleA)
	out := p.Outcomes(report.Skipped, report.Failed)
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 2, Check: true}
	require.NoError(t, x.Read(context.Background(), p, out, nil))
	assert.Equal(t, 5, Removing(p, out, nil), "only the roles really assigned count")
	assert.Zero(t, requests(f.tenant, routeDelete), "Read removes nothing")
	reads := f.tenant.Stats().Total
	require.NoError(t, x.Execute(context.Background(), p, out, nil))
	assert.Equal(t, reads+5, f.tenant.Stats().Total, "Execute does not read again: 5 DELETEs")
}

func TestOrganizationRowsAreReadPerMember(t *testing.T) {
	f, users := holdersFixture(t, sandbox.Options{}, 600, 0)
	const org = "org_AAAAAAAAAAAAAAAA"
	f.tenant.AddOrganization(org, "acme")
	f.tenant.AddMember(org, users[0], roleA)
	rows := []input.Row{{UserID: users[0], RoleID: roleA, OrganizationID: org}}
	for _, u := range users {
		rows = append(rows, input.Row{UserID: u, RoleID: roleA})
	}
	p := planOf(rows...)
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 4, Check: true}
	results, err := execute(t, x, p)
	require.NoError(t, err)
	assert.Equal(t, PerRole, x.ReadStats().Strategy)
	assert.Equal(t, 1, requests(f.tenant, "GET /api/v2/organizations/{id}/members/{user_id}/roles"))
	assert.Zero(t, requests(f.tenant, routeUserRoles))
	for _, r := range results {
		assert.Equal(t, report.Removed, r.Status)
	}
}

func TestSweepOfEndlessHoldersStopsAtTheCap(t *testing.T) {
	f := newFixture(t, sandbox.Options{ReadFault: sandbox.ReadFaultEndless})
	s := &Sweeper{Reader: f.client, Pacer: fastPacer(0), Concurrency: 1, MaxHolders: 2000}
	_, err := s.Sweep(context.Background(), []SweptRole{{ID: roleA, Name: "A"}}, Kept{})
	var listing *ListingError
	require.ErrorAs(t, err, &listing)
	assert.Contains(t, err.Error(), "more than 2000 holders")
	assert.Equal(t, 20, requests(f.tenant, routeHolders), "one page at a time, up to the cap")
}

func TestSweepReadsPastAThousandHoldersByCheckpoint(t *testing.T) {
	f, users := holdersFixture(t, sandbox.Options{}, 1234, 10)
	kept := Kept{users[0]: {all: true}, users[1]: {roles: map[string]bool{roleA: true}}, users[2]: {roles: map[string]bool{roleB: true}}}
	s := &Sweeper{Reader: f.client, Pacer: fastPacer(0), Concurrency: 1}
	roles := []SweptRole{{ID: roleA, Name: "A"}}
	p, err := s.Sweep(context.Background(), roles, kept)
	require.NoError(t, err)
	assert.Len(t, p.Triples, 1232, "every holder but the two kept in A")
	assert.Equal(t, SweptRole{ID: roleA, Name: "A", Holders: 1234, Kept: 2}, roles[0])
	assert.Equal(t, 13, requests(f.tenant, routeHolders))
	assert.Zero(t, f.tenant.Stats().Requests[routeHolders][400])
	assert.Equal(t, "sweep of A ("+roleA+")", p.Triples[0].Reason)
}
