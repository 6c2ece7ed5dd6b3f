package reconcile

import (
	"context"
	"errors"
	"fmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// Role ids used across these tests: 16 letters or digits after rol_.
const (
	roleA    = "rol_AAAAAAAAAAAAAAAA"
	roleB    = "rol_BBBBBBBBBBBBBBBB"
	roleC    = "rol_CCCCCCCCCCCCCCCC"
	survivor = "rol_SURVIVORSURVIVO"
)

// fixture is a sandbox tenant behind a real loopback HTTP server, and a real
// client for it.
type fixture struct {
	tenant *sandbox.Tenant
	server *httptest.Server
	client *management.Client
}

func newFixture(t *testing.T, opts sandbox.Options) *fixture {
	t.Helper()
	tn := sandbox.New(opts)
	for _, r := range []string{roleA, roleB, roleC, survivor} {
		tn.AddRole(r, "Role "+r[4:8])
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	c, err := management.New(management.Config{Domain: srv.URL, APIToken: tn.Token(), UserAgent: "rolesweep-test"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{tenant: tn, server: srv, client: c}
}

// fastPacer retries quickly so that fault tests finish in milliseconds.
func fastPacer(retries int) *pacer.Pacer {
	return pacer.New(pacer.Config{MaxRetries: retries, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MinWait: 10 * time.Millisecond})
}

func planOf(rows ...input.Row) *Plan {
	for i := range rows {
		if rows[i].Line == 0 {
			rows[i].Line = i + 2
		}
	}
	return buildPlan(&input.Source{Path: "in.csv", Rows: rows})
}

func execute(t *testing.T, x *Executor, p *Plan) ([]report.Result, error) {
	t.Helper()
	out := p.Outcomes(report.Skipped, report.Failed)
	err := x.Execute(context.Background(), p, out, nil)
	return joined(p, out), err
}

// joined is the report rows of a run, for assertions.
func joined(p *Plan, out []Outcome) []report.Result {
	rows := Rows{Plan: p, Outcomes: out}
	rs := make([]report.Result, rows.Len())
	for i := range rs {
		rs[i] = rows.Row(i)
	}
	return rs
}

func statuses(rs []report.Result) []report.Status {
	out := make([]report.Status, len(rs))
	for i, r := range rs {
		out[i] = r.Status
	}
	return out
}

func TestOneDeletePerGroupReachesTheRightUser(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	users := []string{"auth0|plain", "samlp|acme|jane/doe", "oidc|corp/../admin", "auth0|x?y#z%2F"}
	for _, u := range users {
		f.tenant.AddUser(u, "", roleA, roleB, roleC, survivor)
	}
	f.tenant.AddUser("auth0|bystander", "", roleA, roleB)
	var rows []input.Row
	for _, u := range users {
		rows = append(rows, input.Row{UserID: u, RoleID: roleA}, input.Row{UserID: u, RoleID: roleB}, input.Row{UserID: u, RoleID: roleC})
	}
	p := planOf(rows...)
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 4}
	results, err := execute(t, x, p)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Status != report.Removed || r.HTTPStatus != 204 || r.Attempts != 1 {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	for _, u := range users {
		if got := f.tenant.Roles(u); !reflect.DeepEqual(got, []string{survivor}) {
			t.Errorf("%s holds %v, want only the survivor role", u, got)
		}
	}
	if got := f.tenant.Roles("auth0|bystander"); len(got) != 2 {
		t.Errorf("bystander lost roles: %v", got)
	}
	st := f.tenant.Stats()
	if n := st.Requests["DELETE /api/v2/users/{id}/roles"][204]; n != len(users) {
		t.Errorf("%d DELETEs answered 204, want one per user (%d); stats %+v", n, len(users), st.Requests)
	}
	if st.Total != len(users) {
		t.Errorf("%d requests in all, want %d: %+v", st.Total, len(users), st.Requests)
	}
}

func TestStatusesForMissingUsersAndOrganizations(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|member", "", roleA)
	f.tenant.AddUser("auth0|outsider", "", roleA)
	f.tenant.AddOrganization("org_AcmeAcmeAcme12", "acme")
	f.tenant.AddMember("org_AcmeAcmeAcme12", "auth0|member", roleB, survivor)
	p := planOf(
		input.Row{UserID: "auth0|ghost", RoleID: roleA},
		input.Row{UserID: "auth0|member", RoleID: roleB, OrganizationID: "org_AcmeAcmeAcme12"},
		input.Row{UserID: "auth0|outsider", RoleID: roleB, OrganizationID: "org_AcmeAcmeAcme12"},
		input.Row{UserID: "auth0|member", RoleID: roleB, OrganizationID: "org_NoSuchOrg00000"},
	)
	results, err := execute(t, &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 2}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []report.Status{report.NotFound, report.Removed, report.NotFound, report.NotFound}
	if got := statuses(results); !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v (%+v)", got, want, results)
	}
	if got := f.tenant.MemberRoles("org_AcmeAcmeAcme12", "auth0|member"); !reflect.DeepEqual(got, []string{survivor}) {
		t.Errorf("member roles = %v", got)
	}
	if got := f.tenant.Roles("auth0|member"); !reflect.DeepEqual(got, []string{roleA}) {
		t.Errorf("tenant-level roles changed by an organization removal: %v", got)
	}
	if results[0].Error != "The user does not exist." {
		t.Errorf("not_found error = %q, want Auth0's message", results[0].Error)
	}
}

func TestFaultsAreRetriedUntilEveryRoleIsRemoved(t *testing.T) {
	f := newFixture(t, sandbox.Options{FailRate: 0.3, DropRate: 0.1, ApplyThenFailRate: 0.1, FaultSeed: 7})
	var rows []input.Row
	for i := range 60 {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.tenant.AddUser(u, "", roleA, roleB, survivor)
		rows = append(rows, input.Row{UserID: u, RoleID: roleA}, input.Row{UserID: u, RoleID: roleB})
	}
	p := planOf(rows...)
	pc := fastPacer(20)
	results, err := execute(t, &Executor{API: f.client, Pacer: pc, Concurrency: 8}, p)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Status != report.Removed {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	faults := f.tenant.Stats().Faults
	if faults.Failed+faults.Dropped+faults.AppliedThenFailed == 0 {
		t.Fatal("the sandbox injected no faults; the test proves nothing")
	}
	if s := pc.Stats(); s.Retries == 0 {
		t.Errorf("no retries counted despite faults %+v", faults)
	}
	for i := range 60 {
		if got := f.tenant.Roles(fmt.Sprintf("auth0|user%03d", i)); !reflect.DeepEqual(got, []string{survivor}) {
			t.Errorf("user %d holds %v", i, got)
		}
	}
}

func TestRetriesExhaustedFail(t *testing.T) {
	f := newFixture(t, sandbox.Options{FailRate: 1, FaultSeed: 1})
	f.tenant.AddUser("auth0|a", "", roleA)
	results, err := execute(t, &Executor{API: f.client, Pacer: fastPacer(2), Concurrency: 1}, planOf(input.Row{UserID: "auth0|a", RoleID: roleA}))
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Status != report.Failed || r.Attempts != 3 || !strings.Contains(r.Error, "gave up after 3 attempts") || r.HTTPStatus < 500 {
		t.Errorf("result = %+v", r)
	}
}

func TestUnauthorizedStopsTheRunAndSkipsTheRest(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	var rows []input.Row
	for i := range 50 {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.tenant.AddUser(u, "", roleA)
		rows = append(rows, input.Row{UserID: u, RoleID: roleA})
	}
	f.tenant.RevokeTokens()
	results, err := execute(t, &Executor{API: f.client, Pacer: fastPacer(3), Concurrency: 1}, planOf(rows...))
	var abort *AbortError
	if !errors.As(err, &abort) {
		t.Fatalf("err = %v, want an AbortError", err)
	}
	if results[0].Status != report.Failed || results[0].HTTPStatus != 401 {
		t.Errorf("first result = %+v", results[0])
	}
	for i, r := range results[1:] {
		if r.Status != report.Skipped {
			t.Errorf("result %d = %+v, want skipped", i+1, r)
		}
	}
	if n := f.tenant.Stats().Total; n != 1 {
		t.Errorf("%d requests sent, want 1: a 401 must not be retried or repeated for every user", n)
	}
}

func TestCheckClassifiesAndVerifyCatchesRemovalsThatDidNotStick(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "", roleA, survivor)
	f.tenant.AddUser("auth0|stubborn", "", roleA)
	f.tenant.IgnoreRemovals("auth0|stubborn")
	p := planOf(
		input.Row{UserID: "auth0|a", RoleID: roleA},
		input.Row{UserID: "auth0|a", RoleID: roleB},
		input.Row{UserID: "auth0|ghost", RoleID: roleA},
		input.Row{UserID: "auth0|stubborn", RoleID: roleA},
	)
	results, err := execute(t, &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 2, Check: true, Verify: true}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []report.Status{report.Removed, report.Absent, report.NotFound, report.Failed}
	if got := statuses(results); !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if results[3].Error != "still assigned after removal" {
		t.Errorf("verify error = %q", results[3].Error)
	}
	if n := f.tenant.Stats().Requests["DELETE /api/v2/users/{id}/roles"][204]; n != 2 {
		t.Errorf("%d DELETEs, want 2: absent roles must not be sent", n)
	}
}

func TestCheckReadsEveryPage(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	var many []string
	for i := range 150 {
		id := fmt.Sprintf("rol_%016d", i)
		f.tenant.AddRole(id, fmt.Sprintf("Role %d", i))
		many = append(many, id)
	}
	f.tenant.AddUser("auth0|collector", "", many...)
	// The last role sorts onto the second page; a reader that stops after the
	// first page would call it absent.
	p := planOf(input.Row{UserID: "auth0|collector", RoleID: many[149]}, input.Row{UserID: "auth0|collector", RoleID: roleA})
	results, err := execute(t, &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 1, Check: true}, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(results); !reflect.DeepEqual(got, []report.Status{report.Removed, report.Absent}) {
		t.Errorf("statuses = %v", got)
	}
	if n := len(f.tenant.Roles("auth0|collector")); n != 149 {
		t.Errorf("user holds %d roles, want 149", n)
	}
}

func TestInterruptSkipsWhatWasNotSent(t *testing.T) {
	f := newFixture(t, sandbox.Options{Latency: 2 * time.Millisecond})
	var rows []input.Row
	for i := range 200 {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.tenant.AddUser(u, "", roleA)
		rows = append(rows, input.Row{UserID: u, RoleID: roleA})
	}
	p := planOf(rows...)
	results := p.Outcomes(report.Skipped, report.Failed)
	dispatch, cancel := context.WithCancel(context.Background())
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 2}
	x.GroupDone = func(int, []Outcome) error {
		if x.Progress.Done.Load() >= 20 {
			cancel()
		}
		return nil
	}
	err := x.Execute(dispatch, p, results, nil)
	var abort *AbortError
	if !errors.As(err, &abort) {
		t.Fatalf("err = %v, want an AbortError", err)
	}
	counts := map[report.Status]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	removed := f.tenant.Stats().RolesRemoved
	if counts[report.Removed] != removed || counts[report.Removed]+counts[report.Skipped] != 200 || counts[report.Skipped] == 0 {
		t.Errorf("counts %v with %d removed in the tenant", counts, removed)
	}
}

func TestResolveEmailsAndRoleNames(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddRole("rol_BillingAdmin0000", "Billing Admin")
	f.tenant.AddRole("rol_billingadmin0000", "billing admin")
	f.tenant.AddRole("rol_Twin000000000001", "Twin")
	f.tenant.AddRole("rol_Twin000000000002", "Twin")
	f.tenant.AddUser("auth0|dana", "dana@example.com", "rol_BillingAdmin0000", roleA)
	f.tenant.AddUser("auth0|shared1", "shared@example.com")
	f.tenant.AddUser("auth0|shared2", "shared@example.com")
	p := planOf(
		input.Row{UserEmail: "dana@example.com", RoleName: "Billing Admin"},
		input.Row{UserID: "auth0|dana", RoleID: roleA},
		input.Row{UserEmail: "shared@example.com", RoleID: roleA},
		input.Row{UserEmail: "nobody@example.com", RoleID: roleA},
		input.Row{UserID: "auth0|dana", RoleName: "BILLING ADMIN"},
		input.Row{UserID: "auth0|dana", RoleName: "Twin"},
	)
	r := &Resolver{API: f.client, Pacer: fastPacer(0), Concurrency: 4}
	if err := r.Resolve(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(p.Triples))
	for i, tr := range p.Triples {
		got[i] = tr.UserID + " " + tr.RoleID + " " + p.Unresolved[i]
	}
	want := []string{
		"auth0|dana rol_BillingAdmin0000 ",
		"auth0|dana " + roleA + " ",
		` rol_AAAAAAAAAAAAAAAA the email "shared@example.com" matches 2 users (auth0|shared1, auth0|shared2); name the user by user_id`,
		` rol_AAAAAAAAAAAAAAAA no user has the email "nobody@example.com"`,
		`auth0|dana  no role is named "BILLING ADMIN" (role names are case-sensitive; the tenant has "Billing Admin", "billing admin")`,
		`auth0|dana  the role name "Twin" matches 2 roles (rol_Twin000000000001, rol_Twin000000000002); name the role by role_id`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resolved:\n got %q\nwant %q", got, want)
	}
	// dana by email and dana by id are one user: one group, one request.
	if g := p.Groups[0]; g.UserID != "auth0|dana" || len(g.Triples) != 4 {
		t.Errorf("first group = %+v", g)
	}
}

func TestJournalFailureStopsTheRun(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	var rows []input.Row
	for i := range 30 {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.tenant.AddUser(u, "", roleA)
		rows = append(rows, input.Row{UserID: u, RoleID: roleA})
	}
	p := planOf(rows...)
	x := &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 1}
	x.GroupDone = func(int, []Outcome) error { return errors.New("disk full") }
	results, err := execute(t, x, p)
	var abort *AbortError
	if !errors.As(err, &abort) || !strings.Contains(abort.Error(), "journal") {
		t.Fatalf("err = %v, want an abort naming the journal", err)
	}
	if results[0].Status != report.Removed || results[len(results)-1].Status != report.Skipped {
		t.Errorf("first %s, last %s: the run must stop after the first unrecorded group", results[0].Status, results[len(results)-1].Status)
	}
	if n := f.tenant.Stats().RolesRemoved; n > 2 {
		t.Errorf("%d roles removed after the journal failed", n)
	}
}

func TestCheckInAnOrganization(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|member", "", roleA)
	f.tenant.AddUser("auth0|outsider", "")
	f.tenant.AddOrganization("org_AcmeAcmeAcme12", "acme")
	f.tenant.AddMember("org_AcmeAcmeAcme12", "auth0|member", roleB, survivor)
	p := planOf(
		input.Row{UserID: "auth0|member", RoleID: roleB, OrganizationID: "org_AcmeAcmeAcme12"},
		input.Row{UserID: "auth0|member", RoleID: roleA, OrganizationID: "org_AcmeAcmeAcme12"},
		input.Row{UserID: "auth0|outsider", RoleID: roleB, OrganizationID: "org_AcmeAcmeAcme12"},
		input.Row{UserID: "auth0|member", RoleID: roleB, OrganizationID: "org_NoSuchOrg00000"},
	)
	results, err := execute(t, &Executor{API: f.client, Pacer: fastPacer(0), Concurrency: 2, Check: true, Verify: true}, p)
	if err != nil {
		t.Fatal(err)
	}
	// roleA is held at tenant level, not in the organization: absent there.
	want := []report.Status{report.Removed, report.Absent, report.NotFound, report.NotFound}
	if got := statuses(results); !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v (%+v)", got, want, results)
	}
	if got := f.tenant.Roles("auth0|member"); !reflect.DeepEqual(got, []string{roleA}) {
		t.Errorf("tenant-level roles changed: %v", got)
	}
}

func TestCheckKeepsRemovalsItCouldNotRead(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "", roleA)
	f.tenant.SetFailNext(2, 503)
	p := planOf(input.Row{UserID: "auth0|a", RoleID: roleA})
	results := p.Outcomes(report.Skipped, report.PlanUnresolved)
	c := &Checker{Reader: f.client, Pacer: fastPacer(1), Concurrency: 1}
	require.NoError(t, c.Check(context.Background(), p, results))
	// The plan keeps the removal, says why, and apply will read again.
	if r := results[0]; r.Status != report.PlanRemove || !strings.Contains(r.Error, "could not be read after 2 attempts") {
		t.Errorf("result = %+v", r)
	}
	if got := f.tenant.Roles("auth0|a"); len(got) != 1 {
		t.Errorf("a dry run changed the tenant: %v", got)
	}
}

// readerOnly hides every method but Reader's, so not even a type assertion
// inside the checker could find the client's remove methods.
type readerOnly struct{ Reader }

func TestCheckCannotReachARemover(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "", roleA, roleB)
	f.tenant.AddUser("auth0|b", "")
	p := planOf(input.Row{UserID: "auth0|a", RoleID: roleA}, input.Row{UserID: "auth0|b", RoleID: roleB})
	out := p.Outcomes(report.Skipped, report.PlanUnresolved)

	var reader Reader = readerOnly{f.client}
	_, isRemover := reader.(Remover)
	require.False(t, isRemover, "the checker's reader must not be a remover")
	c := &Checker{Reader: reader, Pacer: fastPacer(0), Concurrency: 2}
	require.NoError(t, c.Check(context.Background(), p, out))

	assert.Equal(t, []report.Status{report.PlanRemove, report.Absent}, statuses(joined(p, out)))
	assert.ElementsMatch(t, []string{roleA, roleB}, f.tenant.Roles("auth0|a"), "a check removed a role")
	for route := range f.tenant.Stats().Requests {
		assert.NotContains(t, route, "DELETE", "a check sent %s", route)
	}
}

// interruptingRemover ends the run's context as its DELETE goes out, as a
// first Ctrl-C would.
type interruptingRemover struct {
	API
	interrupt func()
}

func (r interruptingRemover) RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) (management.Response, error) {
	r.interrupt()
	return r.API.RemoveUserRoles(ctx, userID, roleIDs)
}

func TestExecuteOwnsTheGracePeriod(t *testing.T) {
	f := newFixture(t, sandbox.Options{Latency: 20 * time.Millisecond})
	f.tenant.AddUser("auth0|a", "", roleA)
	f.tenant.AddUser("auth0|b", "", roleA)
	p := planOf(input.Row{UserID: "auth0|a", RoleID: roleA}, input.Row{UserID: "auth0|b", RoleID: roleA})
	out := p.Outcomes(report.Skipped, report.Failed)
	ctx, cancel := context.WithCancelCause(context.Background())
	api := interruptingRemover{API: f.client, interrupt: func() { cancel(&AbortError{Reason: "interrupted by test"}) }}
	x := &Executor{API: api, Pacer: fastPacer(0), Concurrency: 1, Grace: time.Hour}
	err := x.Execute(ctx, p, out, nil)

	var abort *AbortError
	require.ErrorAs(t, err, &abort)
	assert.Equal(t, "interrupted by test", abort.Reason)
	assert.Equal(t, report.Removed, out[0].Status, "the request on the wire was cut off: %+v", out[0])
	assert.Equal(t, report.Skipped, out[1].Status, "a group started after the interrupt")
	assert.Empty(t, f.tenant.Roles("auth0|a"))
}
