package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// These are end-to-end tests of the real binary against a sandbox tenant
// served by the test itself, behind a gate that holds every DELETE until the
// test opens it: the test decides when the run may progress, so nothing
// waits on a clock and a loaded machine cannot reorder what is asserted.

// deleteGate holds DELETEs while shut and counts those that arrived.
type deleteGate struct {
	arrived atomic.Int64
	mu      sync.Mutex
	open    chan struct{} // closed while the gate is open
}

func newDeleteGate() *deleteGate { return &deleteGate{open: make(chan struct{})} }

func (g *deleteGate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// Shut holds the DELETEs that arrive from now on.
func (g *deleteGate) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default:
	}
}

func (g *deleteGate) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

func (g *deleteGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			// Read the body first: only then does the server notice a client
			// that hung up, and end r's context.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			g.arrived.Add(1)
			select {
			case <-g.wait():
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// gatedTenant serves a sandbox seeded from inputPath behind a closed gate.
func gatedTenant(t *testing.T, inputPath string) (*sandbox.Tenant, *deleteGate, string) {
	t.Helper()
	tn, _ := startTenant(t, sandbox.Options{}, inputPath)
	gate := newDeleteGate()
	srv := httptest.NewServer(gate.wrap(tn))
	t.Cleanup(srv.Close)
	t.Cleanup(gate.Open) // before srv.Close (cleanups run last first): no handler left waiting
	return tn, gate, srv.URL
}

// waitFor polls an observable condition of the run, never a fixed sleep.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(e2eStartTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type e2eRun struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

func startRun(t *testing.T, bin string, args ...string) *e2eRun {
	t.Helper()
	r := &e2eRun{cmd: e2eCommand(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	require.NoError(t, r.cmd.Start())
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); <-r.done })
	return r
}

func (r *e2eRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait returns the exit code; a death by signal fails the test.
func (r *e2eRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(e2eStartTimeout):
		t.Fatalf("the run did not end within %s\nstderr:\n%s", e2eStartTimeout, r.stderr.String())
	}
	ws := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.False(t, ws.Signaled(), "the run was killed by %v\nstdout:\n%s\nstderr:\n%s", ws.Signal(), r.stdout.String(), r.stderr.String())
	return ws.ExitStatus()
}

func deletesSent(tn *sandbox.Tenant) int { return e2eSum(tn.Stats().Requests[e2eDeleteRoute]) }

// v0.1 died of SIGHUP (an SSH session dropping) with exit 129 and no
// report. It now stops as for SIGTERM: requests on the wire finish, the rest
// are skipped, the report is written and the journal kept for --resume.
func TestSIGHUPStopsTheRunLikeSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := e2eBuild(t)
	dir := t.TempDir()
	in := e2eWriteInput(t, dir)
	tn, gate, url := gatedTenant(t, in)
	reportPath, journalPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "run.journal.jsonl")
	run := startRun(t, bin, "apply", in, "--yes", "--quiet", "--concurrency", "2",
		"--domain", url, "--api-token", tn.Token(), "--report", reportPath, "--journal", journalPath)

	// The pacer sends one request until it has seen the tenant's rate-limit
	// headers: one DELETE is on the wire, the other worker waits to send.
	waitFor(t, "a DELETE on the wire", func() bool { return gate.arrived.Load() >= 1 || run.exited() })
	require.False(t, run.exited(), "stderr:\n%s", run.stderr.String())
	require.NoError(t, run.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, "the hangup to be announced", func() bool {
		return strings.Contains(run.stderr.String(), "hangup: stopping") || run.exited()
	})
	gate.Open() // the request on the wire may now finish within the grace period

	assert.Equal(t, exitAborted, run.wait(t), "stdout:\n%s\nstderr:\n%s", run.stdout.String(), run.stderr.String())
	r := readReport(t, reportPath)
	checkComplete(t, r, in)
	assert.Equal(t, report.Aborted, r.Outcome)
	assert.Contains(t, r.AbortReason, "interrupted by hangup")
	// The group on the wire finished; the announcement comes an instant
	// before the stop, so one more group may have slipped out after it.
	sent := deletesSent(tn)
	assert.Zero(t, r.Summary.Failed)
	assert.Equal(t, 2*sent, r.Summary.Removed)
	assert.LessOrEqual(t, sent, 4, "the run went on after the hangup")
	assert.Equal(t, 2*e2eUsers-2*sent, r.Summary.Skipped)
	assert.FileExists(t, journalPath, "an aborted run keeps its journal")
	assert.Contains(t, run.stdout.String(), "--resume "+journalPath)
}

// v0.1 died of SIGPIPE at its first log line when stdout and stderr went to
// a pipe nobody read any more (`… 2>&1 | head -c1`, a log collector
// restarting), with no report. Now the lines are dropped and the run ends as
// it would have: every report written, the exit code that of the results.
func TestAClosedStdoutAndStderrDoNotStopTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := e2eBuild(t)
	dir := t.TempDir()
	in := e2eWriteInput(t, dir)
	tn, _ := startTenant(t, sandbox.Options{}, in)
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	// After the preflight's read, two DELETEs fail and are not retried:
	// each logs a warning to the closed stderr in the middle of the run.
	tn.SetFailNext(3, 503)

	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, pr.Close()) // the reader is gone before the first line
	reportPath, csvPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.csv")
	// --no-check: the failures are meant for the DELETEs, not the reads.
	cmd := e2eCommand(bin, "apply", in, "--yes", "--no-check", "--concurrency", "1", "--max-retries", "0",
		"--domain", srv.URL, "--api-token", tn.Token(), "--report", reportPath, "--report", csvPath)
	cmd.Stdout, cmd.Stderr = pw, pw
	require.NoError(t, cmd.Start())
	require.NoError(t, pw.Close())
	err = cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.False(t, ws.Signaled(), "killed by %v", ws.Signal())
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitFailures, ws.ExitStatus(), "the exit code is the results', not the pipe's")

	r := readReport(t, reportPath)
	checkComplete(t, r, in)
	assert.Equal(t, report.CompletedWithFailures, r.Outcome)
	assert.Equal(t, 4, r.Summary.Failed, "two groups of two roles")
	assert.Equal(t, 2*e2eUsers-4, r.Summary.Removed)
	assert.FileExists(t, csvPath)
}

// One journal, one run. v0.1 let two runs started together on one journal
// both send (leaving a journal with two headers), and two --resume of one
// journal delete the same groups twice. The journal is now locked for the
// whole run: the second is refused with exit 2 naming it, nothing sent.
func TestOneJournalOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := e2eBuild(t)
	dir := t.TempDir()
	in := e2eWriteInput(t, dir)
	tn, gate, url := gatedTenant(t, in)
	reportPath, journalPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "run.journal.jsonl")
	apply := func(extra ...string) *e2eRun {
		args := append([]string{"apply", in, "--yes", "--quiet", "--concurrency", "2", "--max-retries", "0",
			"--domain", url, "--api-token", tn.Token(), "--report", reportPath}, extra...)
		return startRun(t, bin, args...)
	}
	refused := func(r *e2eRun) {
		t.Helper()
		assert.Equal(t, exitInvalid, r.wait(t), "stderr:\n%s", r.stderr.String())
		assert.Contains(t, r.stderr.String(), journalPath)
		assert.Contains(t, r.stderr.String(), "in use by another rolesweep run")
	}

	// Two runs started at the same instant: the DELETEs wait at the gate,
	// so whichever got the journal is still running when the other is
	// refused.
	a, b := apply("--journal", journalPath), apply("--journal", journalPath)
	waitFor(t, "one of two runs to be refused", func() bool { return a.exited() || b.exited() })
	winner, loser := a, b
	if a.exited() {
		winner, loser = b, a
	}
	refused(loser)
	assert.False(t, winner.exited(), "the run holding the journal ended too: %s", winner.stderr.String())

	// While it runs, neither a third run nor a --resume gets the journal.
	refused(apply("--journal", journalPath))
	refused(apply("--resume", journalPath))
	assert.Zero(t, deletesSent(tn), "the gate is shut: nothing may have been answered")

	// The winner's first two DELETEs fail (it does not retry), the rest
	// pass: it ends with exit 1 and keeps its journal.
	tn.SetFailNext(2, 503)
	gate.Open()
	assert.Equal(t, exitFailures, winner.wait(t), "stderr:\n%s", winner.stderr.String())
	require.FileExists(t, journalPath)
	data, err := os.ReadFile(journalPath)
	require.NoError(t, err)
	assert.Equal(t, 1, bytes.Count(data, []byte(`"rolesweep_journal"`)), "one header: one run wrote the journal")
	assert.Equal(t, e2eUsers, deletesSent(tn), "one DELETE per group")

	// Two --resume at the same instant, the gate shut again: one gets the
	// journal, the other is refused; the two failed groups are sent once,
	// not twice.
	gate.Shut()
	resumedPath := filepath.Join(dir, "resumed.json")
	resume := func() *e2eRun {
		return startRun(t, bin, "apply", in, "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
			"--report", resumedPath, "--resume", journalPath)
	}
	c, d := resume(), resume()
	waitFor(t, "one of two resumes to be refused", func() bool { return c.exited() || d.exited() })
	winner, loser = c, d
	if c.exited() {
		winner, loser = d, c
	}
	refused(loser)
	gate.Open()
	assert.Equal(t, exitOK, winner.wait(t), "stderr:\n%s", winner.stderr.String())
	assert.Equal(t, e2eUsers+2, deletesSent(tn), "the failed groups were sent again exactly once")
	final := readReport(t, resumedPath)
	checkComplete(t, final, in)
	assert.Equal(t, report.Completed, final.Outcome)
	_, err = os.Stat(journalPath)
	assert.True(t, errors.Is(err, os.ErrNotExist), "the completed run's journal is still there: %v", err)
}

// v0.1 sent every DELETE, then could not write the report, still printed
// `report: <path>` and deleted the journal. Here the report path becomes
// unwritable mid-run (a directory appears there): exit 3, the error on
// stderr, stdout never names it, and the kept journal is the way back.
func TestAReportThatCannotBeWrittenIsNeverNamed(t *testing.T) {
	in := writeIDRemovals(t, 5)
	tn, gate, url := gatedTenant(t, in)
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.csv")
	go func() {
		for gate.arrived.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		_ = os.Mkdir(bad, 0o700)
		gate.Open()
	}()
	got := rolesweep(t, invocation{}, "apply", in, "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
		"--report", bad, "--report", good)
	assert.Equal(t, exitAborted, got.code, "stdout:\n%s\nstderr:\n%s", got.stdout, got.stderr)
	assert.Contains(t, got.stderr, "the report could not be written")
	assert.Contains(t, got.stderr, bad)
	assert.NotContains(t, got.stdout, "report: "+bad)
	assert.Contains(t, got.stdout, "report: "+good)
	journalPath := filepath.Join(dir, "report.journal.jsonl")
	assert.Contains(t, got.stdout, "--resume "+journalPath)
	assert.FileExists(t, journalPath)
	assert.Equal(t, 5, deletesSent(tn))

	require.NoError(t, os.Remove(bad))
	got = rolesweep(t, invocation{}, "apply", in, "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
		"--report", bad, "--resume", journalPath)
	assert.Equal(t, exitOK, got.code, "stderr:\n%s", got.stderr)
	assert.Equal(t, 5, deletesSent(tn), "the resumed run had nothing left to send")
	assert.Equal(t, report.Completed, readReport(t, bad).Outcome)
	assert.NoFileExists(t, journalPath)
}

// v0.1 exited 0 and saved a plan with status failed when the tenant's
// answers were not JSON; apply --plan then refused it.
func TestPlanCheckOfUnreadableAnswersSavesNothing(t *testing.T) {
	in := writeIDRemovals(t, 5)
	tn, url := startTenant(t, sandbox.Options{ReadFault: sandbox.ReadFaultInvalidJSON}, in)
	out := filepath.Join(t.TempDir(), "plan.json")
	got := rolesweep(t, invocation{}, "plan", in, "--check", "--out", out, "--format", "json", "--domain", url, "--api-token", tn.Token())
	assert.Equal(t, exitAborted, got.code, "stderr:\n%s", got.stderr)
	assert.Contains(t, got.stderr, "the plan was not saved")
	assert.NoFileExists(t, out)

	// An --out that cannot be written is refused before the tenant is read.
	sent := tn.Stats().Total
	got = rolesweep(t, invocation{}, "plan", in, "--check", "--out", filepath.Join(t.TempDir(), "missing", "plan.json"),
		"--domain", url, "--api-token", tn.Token())
	assert.Equal(t, exitInvalid, got.code)
	assert.Equal(t, sent, tn.Stats().Total)
}

// v0.1 took 97 s and 4,500 requests to fail 750 rows against 127.0.0.1:1.
func TestAnUnreachableTenantIsExitThreeAtOnce(t *testing.T) {
	in := writeIDRemovals(t, 50)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	path := filepath.Join(t.TempDir(), "r.json")
	got := rolesweep(t, invocation{}, "apply", in, "--yes", "--quiet", "--domain", "http://"+closed, "--api-token", "x-token",
		"--report", path)
	assert.Equal(t, exitAborted, got.code)
	assert.Contains(t, got.stderr, "the tenant cannot be reached; nothing was sent")
	r := readReport(t, path)
	checkComplete(t, r, in)
	assert.Equal(t, 50, r.Summary.Skipped)
	assert.NoFileExists(t, strings.TrimSuffix(path, ".json")+".journal.jsonl")
}
