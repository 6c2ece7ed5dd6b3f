package job

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/journal"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// v0.1 sent every DELETE, then failed to write the report and deleted the
// journal: no record of the removals remained. Every report and journal
// path is now proven writable first, and nothing is sent when one is not.
func TestUnwritablePathsAreRefusedBeforeAnythingIsSent(t *testing.T) {
	f := newFixture(t, 3)
	aFile := filepath.Join(f.dir, "a-file")
	require.NoError(t, os.WriteFile(aFile, nil, 0o600))
	aDir := filepath.Join(f.dir, "a-dir.json")
	require.NoError(t, os.Mkdir(aDir, 0o700))
	cases := map[string]string{
		"missing directory": filepath.Join(f.dir, "missing", "r.json"),
		"a directory":       aDir,
		"under a file":      filepath.Join(aFile, "r.json"),
		"unwritable fs":     "/proc/self/r.json", // read-only even for root
	}
	if os.Geteuid() != 0 { // root writes into a 0500 directory
		ro := filepath.Join(f.dir, "read-only")
		require.NoError(t, os.Mkdir(ro, 0o500))
		cases["read-only directory"] = filepath.Join(ro, "r.json")
	}
	for name, bad := range cases {
		t.Run(name+" as report", func(t *testing.T) {
			cfg := f.applyConfig()
			cfg.Reports = []string{filepath.Join(f.dir, "good.json"), bad}
			cfg.Journal = filepath.Join(f.dir, "j.jsonl")
			_, err := Apply(context.Background(), cfg, Hooks{})
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "reports", ce.Field)
			assert.Contains(t, err.Error(), bad)
			assert.Zero(t, f.tenant.Stats().Total, "a request was sent")
			assert.NoFileExists(t, cfg.Journal)
			assert.NoFileExists(t, filepath.Join(f.dir, "good.json"))
		})
		t.Run(name+" as journal", func(t *testing.T) {
			cfg := f.applyConfig()
			cfg.Journal = bad
			_, err := Apply(context.Background(), cfg, Hooks{})
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "journal", ce.Field)
			assert.Zero(t, f.tenant.Stats().Total, "a request was sent")
		})
	}
}

// A report that cannot be written at the end (here: its path became a
// directory after the check) is exit 3, is not named as written, and keeps
// the journal, even of a run that completed, so --resume can write it.
func TestAReportThatFailsAtTheEndKeepsTheJournal(t *testing.T) {
	f := newFixture(t, 3)
	cfg := f.applyConfig()
	good, bad := filepath.Join(f.dir, "good.json"), filepath.Join(f.dir, "bad.md")
	cfg.Reports = []string{bad, good}
	var sum Summary
	hooks := Hooks{
		Confirm:  func(context.Context, Confirmation) error { return os.Mkdir(bad, 0o700) },
		Finished: func(s Summary) { sum = s },
	}
	r, err := Apply(context.Background(), cfg, hooks)
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.Contains(t, err.Error(), "the report could not be written")
	assert.Contains(t, err.Error(), bad)
	require.NotNil(t, r)
	assert.Equal(t, report.Completed, r.Outcome, "every removal was made")
	assert.Equal(t, []string{good}, sum.Reports, "only the written report is named")
	assert.Equal(t, 1, sum.Unwritten)
	journalPath := filepath.Join(f.dir, "bad.journal.jsonl")
	assert.Equal(t, journalPath, sum.Journal)
	require.FileExists(t, journalPath)

	// --resume sends nothing more and writes the report; then the journal goes.
	require.NoError(t, os.Remove(bad))
	deletes := f.deletes()
	cfg.Resume = journalPath
	r, err = Apply(context.Background(), cfg, Hooks{Finished: func(s Summary) { sum = s }})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, deletes, f.deletes())
	assert.Equal(t, []string{bad, good}, sum.Reports)
	assert.FileExists(t, bad)
	assert.NoFileExists(t, journalPath)
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// v0.1 sent a request (with retries) per row to an unreachable tenant:
// 750 failures in 145 s. Now the preflight finds out: exit 3, every row
// skipped, the report written, no journal.
func TestUnreachableTenantAbortsBeforeTheFirstRow(t *testing.T) {
	f := newFixture(t, 4)
	cfg := f.applyConfig()
	cfg.Tenant.Management.Domain = "http://" + closedPort(t)
	cfg.Tenant.MaxRetries = 5
	r, err := Apply(context.Background(), cfg, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.True(t, management.IsNetwork(err), "%v", err)
	assert.Contains(t, err.Error(), "cannot be reached; nothing was sent")
	require.NotNil(t, r)
	assert.Equal(t, report.Aborted, r.Outcome)
	assert.Equal(t, 8, r.Summary.Skipped)
	assert.Zero(t, r.Summary.Failed)
	assert.Zero(t, r.Summary.Requests, "no row's request was sent")
	assert.FileExists(t, cfg.Reports[0])
	assert.NoFileExists(t, filepath.Join(f.dir, "report.journal.jsonl"), "a run that sent nothing left a journal")
}

func TestRejectedCredentialsAbortBeforeTheFirstRow(t *testing.T) {
	f := newFixture(t, 2)
	cfg := f.applyConfig()
	cfg.Tenant.Management.APIToken = "not-the-token-at-all"
	r, err := Apply(context.Background(), cfg, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.Contains(t, err.Error(), "refused the credentials")
	assert.Equal(t, 4, r.Summary.Skipped)
	assert.Equal(t, 1, f.tenant.Stats().Total, "one preflight read, nothing else")
	assert.Zero(t, f.deletes())
	assert.NoFileExists(t, filepath.Join(f.dir, "report.journal.jsonl"))
}

// A token that lacks read:roles gets a 403 on the preflight's read: the
// tenant was reached and the token accepted, so the run goes on.
func TestPreflightVerdicts(t *testing.T) {
	ctx := context.Background()
	reached := []error{
		nil,
		&management.APIError{StatusCode: 403, Message: "Insufficient scope"},
		&management.APIError{StatusCode: 503},
		&management.APIError{StatusCode: 429},
		&management.DecodeError{Method: "GET", Endpoint: "/api/v2/roles", StatusCode: 200, Err: errors.New("unexpected EOF")},
	}
	for _, err := range reached {
		assert.NoError(t, preflightVerdict(ctx, err), "%v", err)
	}
	stops := map[string]error{
		"no token from":           fmt.Errorf("wrapped: %w", management.ErrTokenUnavailable),
		"cannot be reached":       &management.NetworkError{Op: "dns", Host: "nowhere.invalid", Err: errors.New("no such host")},
		"refused the credentials": &management.APIError{StatusCode: 401},
	}
	for says, err := range stops {
		got := preflightVerdict(ctx, err)
		var abort *reconcile.AbortError
		require.ErrorAs(t, got, &abort, "%v", err)
		assert.Contains(t, got.Error(), says)
		assert.Contains(t, got.Error(), "nothing was sent")
	}
	canceled, cancel := context.WithCancelCause(ctx)
	cancel(&reconcile.AbortError{Reason: "interrupted by hangup"})
	got := preflightVerdict(canceled, context.Canceled)
	assert.EqualError(t, got, "interrupted by hangup before anything was sent")
}

// A run that sends nothing leaves no journal to block the next night's run:
// a protected user found only once emails are resolved, or the guard.
func TestARunThatSentNothingLeavesNoJournal(t *testing.T) {
	f := newFixture(t, 2)
	f.tenant.AddUser("auth0|boss", "boss@example.com", roleA)
	in := filepath.Join(f.dir, "by-email.csv")
	require.NoError(t, os.WriteFile(in, []byte("user_email,role_id\nboss@example.com,"+roleA+"\n"), 0o600))
	cfg := f.applyConfig()
	cfg.Source = Source{Path: in}
	cfg.ProtectUsers = []string{"auth0|boss"}
	_, err := Apply(context.Background(), cfg, Hooks{})
	var pe *ProtectedError
	require.ErrorAs(t, err, &pe)
	assert.Zero(t, f.deletes())
	assert.NoFileExists(t, filepath.Join(f.dir, "report.journal.jsonl"))

	cfg = f.applyConfig()
	cfg.MaxRemovals = 1
	sent := f.tenant.Stats().Total
	_, err = Apply(context.Background(), cfg, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.Equal(t, sent, f.tenant.Stats().Total, "the guard let a request out")
	assert.NoFileExists(t, filepath.Join(f.dir, "report.journal.jsonl"))
}

// One journal, one run: a journal held by another run, or one that is a
// symbolic link, is refused (exit 2 from main) naming it, nothing sent.
func TestAJournalInUseOrALinkIsRefused(t *testing.T) {
	f := newFixture(t, 2)
	held := filepath.Join(f.dir, "held.jsonl")
	w, err := journal.Create(held, journal.Header{Domain: "x"})
	require.NoError(t, err)
	defer w.Close()
	link := filepath.Join(f.dir, "link.jsonl")
	target := filepath.Join(f.dir, "target.txt")
	require.NoError(t, os.WriteFile(target, nil, 0o600))
	require.NoError(t, os.Symlink(target, link))

	for _, tc := range []struct {
		field, path string
		why         error
		set         func(*ApplyConfig, string)
	}{
		{"journal", held, journal.ErrInUse, func(c *ApplyConfig, p string) { c.Journal = p }},
		{"resume", held, journal.ErrInUse, func(c *ApplyConfig, p string) { c.Resume = p }},
		{"journal", link, journal.ErrSymlink, func(c *ApplyConfig, p string) { c.Journal = p }},
		{"resume", link, journal.ErrSymlink, func(c *ApplyConfig, p string) { c.Resume = p }},
	} {
		cfg := f.applyConfig()
		tc.set(&cfg, tc.path)
		_, err := Apply(context.Background(), cfg, Hooks{})
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, "%s %s", tc.field, tc.path)
		assert.Equal(t, tc.field, ce.Field)
		assert.ErrorIs(t, err, tc.why)
		assert.Contains(t, err.Error(), tc.path)
	}
	assert.Zero(t, f.tenant.Stats().Total)
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Empty(t, got, "written through the link")
}

// v0.1 saved a plan with status failed when the tenant's answers were not
// JSON, and exited 0; apply --plan then refused it. Now a check that cannot
// classify a row is an abort (exit 3) and the plan is not for saving.
func TestPlanCheckWithUnreadableAnswersIsNotAPlan(t *testing.T) {
	f := newFixture(t, 2)
	f.tenant.SetReadFault("invalid-json")
	r, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}, Check: true, Tenant: f.tenantConfig()}, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.Contains(t, err.Error(), "could not tell what to do with 4 roles")
	assert.Contains(t, err.Error(), "the plan was not saved")
	require.NotNil(t, r, "the rows are still shown")
	assert.Zero(t, f.deletes())
}

// Reads that fail for reasons that may pass plan the rows as remove, with
// the reason, as v0.1 did; but the check was incomplete, so it is not a
// success either.
func TestPlanCheckWithFailedReadsSaysSo(t *testing.T) {
	f := newFixture(t, 2)
	f.tenant.SetFailNext(100, 503)
	r, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}, Check: true, Tenant: f.tenantConfig()}, Hooks{})
	var unchecked *UncheckedError
	require.ErrorAs(t, err, &unchecked)
	assert.Equal(t, 4, unchecked.Rows)
	require.NotNil(t, r)
	for res := range r.Rows() {
		assert.Equal(t, report.PlanRemove, res.Status)
		assert.Contains(t, res.Error, "could not be read")
	}
	assert.NoError(t, r.CheckDigest())
}

func TestPlanCheckOfAnUnreachableTenantStopsAtOnce(t *testing.T) {
	f := newFixture(t, 2)
	cfg := f.tenantConfig()
	cfg.Management.Domain = "http://" + closedPort(t)
	cfg.MaxRetries = 5
	_, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}, Check: true, Tenant: cfg}, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.True(t, management.IsNetwork(err))
}

// v0.1 asked a failing token endpoint 1,200 times in 32 s and failed every
// row. The client's one shared fetch gives up after its bounded tries, and
// the preflight turns that into exit 3 with every row skipped.
func TestAFailingTokenEndpointStopsTheRunAtThePreflight(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the token client's backoff (seconds)")
	}
	f := newFixture(t, 5)
	f.tenant.AddClient("rolesweep-ci", "a-client-secret-of-some-length", "read:roles", "update:users")
	f.tenant.SetTokenFault(500, 0)
	cfg := f.applyConfig()
	cfg.Tenant.Management = management.Config{Domain: f.url, ClientID: "rolesweep-ci", ClientSecret: "a-client-secret-of-some-length"}
	r, err := Apply(context.Background(), cfg, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.ErrorIs(t, err, management.ErrTokenUnavailable)
	assert.Contains(t, err.Error(), "no token from the tenant's token endpoint; nothing was sent")
	assert.NotContains(t, err.Error(), "a-client-secret-of-some-length")
	assert.Equal(t, 10, r.Summary.Skipped)
	st := f.tenant.Stats()
	assert.Equal(t, management.DefaultTokenTries, st.Faults.TokenFailed, "one shared fetch, its bounded tries")
	for route := range st.Requests {
		assert.NotContains(t, route, "/api/v2/", "no API request without a token")
	}
	assert.NoFileExists(t, filepath.Join(f.dir, "report.journal.jsonl"))
}

// v0.1 retried row by row, for minutes, once the tenant went away mid-run.
// Network failures in a row with no answer (the pacer's Unreachable) now
// stop the run like a 401: exit 3, the rest skipped, within seconds.
func TestATenantLostMidRunStopsTheRun(t *testing.T) {
	f := newFixture(t, 200)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var answered atomic.Int64
	lost := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && answered.Add(1) > 20 {
			<-lost // the tenant goes away with this request on the wire
			return
		}
		f.tenant.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	go func() {
		for answered.Load() <= 20 {
			time.Sleep(time.Millisecond)
		}
		srv.Close() // the listener and every connection: refused from now on
		close(lost)
	}()
	cfg := f.applyConfig()
	cfg.Tenant.Management.Domain = "http://" + l.Addr().String()
	cfg.Tenant.Concurrency = 4
	cfg.Tenant.MaxRetries = 5
	r, err := Apply(context.Background(), cfg, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort)
	assert.Contains(t, abort.Reason, "the tenant stopped answering")
	require.NotNil(t, r)
	assert.Equal(t, report.Aborted, r.Outcome)
	s := r.Summary
	t.Logf("removed %d, failed %d, skipped %d, %d requests", s.Removed, s.Failed, s.Skipped, s.Requests)
	assert.Equal(t, 40, s.Removed, "the 20 groups answered before the tenant went")
	assert.LessOrEqual(t, s.Failed, 2*4, "only the groups on the wire are in doubt")
	assert.Equal(t, 400, s.Removed+s.Failed+s.Skipped)
	assert.Less(t, s.Requests, 100, "not a retry storm per row")
	assert.FileExists(t, filepath.Join(f.dir, "report.journal.jsonl"), "kept for --resume")
}
