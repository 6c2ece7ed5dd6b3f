package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

const (
	undoPostRoute       = "POST /api/v2/users/{id}/roles"
	undoMemberPostRoute = "POST /api/v2/organizations/{id}/members/{user_id}/roles"
)

// runBinary runs the binary to its end and returns its exit code and output.
func runBinary(t *testing.T, bin string, args ...string) result {
	t.Helper()
	cmd := e2eCommand(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	assert.NotContains(t, stderr.String(), "DATA RACE")
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func posts(s sandbox.Stats) int {
	return e2eSum(s.Requests[undoPostRoute]) + e2eSum(s.Requests[undoMemberPostRoute])
}

// TestUndoPutsTheTenantBack is issue 15's end-to-end test: a checked apply
// on the sandbox, then undo, leaves the tenant exactly as it was, roles that
// were already absent included (not added); --dry-run sends no request; an
// edited report, a plan and another tenant's report are refused with exit 2.
func TestUndoPutsTheTenantBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it against a sandbox process")
	}
	bin := e2eBuild(t)
	dir := t.TempDir()
	const input = "testdata/removals.csv"
	domain, token := e2eStartSandbox(t, bin, input, "--bucket", "0")
	tenant := []string{"--domain", domain, "--api-token", token, "--quiet"}

	// A role already gone before the run: the apply finds it absent.
	removeByHand(t, domain, token, "auth0|60a1f3b9e4c2d1007a5b9c3e", "rol_9yRKwo2Bl0zckceV")
	before := e2eState(t, domain)

	applyReport := filepath.Join(dir, "apply.json")
	got := runBinary(t, bin, append([]string{"apply", input, "--check", "--yes", "--report", applyReport}, tenant...)...)
	require.Equal(t, 0, got.code, "apply: %s\n%s", got.stdout, got.stderr)
	applied := readReport(t, applyReport)
	require.Equal(t, 1, applied.Summary.Absent)
	require.Equal(t, 23, applied.Summary.Removed)
	require.NotEqual(t, before, e2eState(t, domain))

	// --dry-run: the plan of restores, and not one request.
	sent := e2eStats(t, domain).Total
	got = runBinary(t, bin, append([]string{"undo", applyReport, "--dry-run"}, tenant...)...)
	require.Equal(t, 0, got.code, got.stderr)
	assert.Contains(t, got.stdout, "would restore 23 roles")
	assert.Contains(t, got.stdout, "1 other result of the report removed nothing")
	assert.Equal(t, sent, e2eStats(t, domain).Total, "--dry-run sent a request")

	// Refusals: exit 2, nothing sent, no report.
	original, err := os.ReadFile(applyReport)
	require.NoError(t, err)
	edited := filepath.Join(dir, "edited.json")
	require.NoError(t, os.WriteFile(edited, bytes.Replace(original, []byte(`"status": "absent"`), []byte(`"status": "removed"`), 1), 0o600))
	planPath := filepath.Join(dir, "plan.json")
	require.Equal(t, 0, runBinary(t, bin, "plan", input, "--out", planPath).code)
	_, otherURL := startTenant(t, sandbox.Options{}, input)
	for _, refused := range []struct {
		name, path, says string
		domain           string
	}{
		{"edited", edited, "edited after it was written", domain},
		{"plan", planPath, "it is a plan", domain},
		{"another tenant", applyReport, "was made against tenant " + strings.TrimPrefix(domain, "http://"), otherURL},
	} {
		got := runBinary(t, bin, "undo", refused.path, "--yes", "--quiet", "--domain", refused.domain, "--api-token", token,
			"--report", filepath.Join(dir, "refused.json"))
		assert.Equal(t, 2, got.code, "%s: %s", refused.name, got.stderr)
		assert.Contains(t, got.stderr, refused.says, refused.name)
		assert.NoFileExists(t, filepath.Join(dir, "refused.json"), refused.name)
	}
	assert.Equal(t, sent, e2eStats(t, domain).Total, "a refused undo sent a request")

	// The undo itself.
	undoReport := filepath.Join(dir, "undo.json")
	got = runBinary(t, bin, "undo", applyReport, "--yes", "--report", undoReport, "--report", filepath.Join(dir, "undo.md"), "--domain", domain, "--api-token", token)
	require.Equal(t, 0, got.code, "undo: %s\n%s", got.stdout, got.stderr)
	assert.Equal(t, before, e2eState(t, domain), "the tenant is not as it was before the apply")
	assert.Contains(t, got.stdout, "completed: restored 23 · present 0")

	undone := readReport(t, undoReport)
	assert.Equal(t, report.CommandUndo, undone.Command)
	assert.Equal(t, 23, undone.Summary.Restored)
	require.NotNil(t, undone.Input.Undoes)
	assert.Equal(t, sha256Of(original), undone.Input.Undoes.SHA256)
	assert.Equal(t, applied.Domain, undone.Input.Undoes.Domain)
	assert.Equal(t, applied.PlanDigest, undone.Input.Undoes.PlanDigest)
	md, err := os.ReadFile(filepath.Join(dir, "undo.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "restored")

	// A second undo finds every role present and sends no POST.
	postsBefore := posts(e2eStats(t, domain))
	got = runBinary(t, bin, "undo", applyReport, "--yes", "--report", filepath.Join(dir, "again.json"), "--domain", domain, "--api-token", token)
	require.Equal(t, 0, got.code, got.stderr)
	assert.Contains(t, got.stdout, "restored 0 · present 23")
	assert.Equal(t, postsBefore, posts(e2eStats(t, domain)))
}

// TestUndoOfAnUncheckedRun: removals an unchecked run reports may never
// have been held, so undo sends nothing for them, says why and exits 1;
// --include-unverified re-assigns them.
func TestUndoOfAnUncheckedRun(t *testing.T) {
	const input = "testdata/removals.csv"
	tn, url := startTenant(t, sandbox.Options{}, input)
	dir := t.TempDir()
	applyReport := filepath.Join(dir, "apply.json")
	before := tn.State()
	// --check=false: unchecked whether --check is on by default or not.
	got := rolesweep(t, invocation{}, "apply", input, "--check=false", "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(), "--report", applyReport)
	require.Equal(t, 0, got.code, got.stderr)
	require.False(t, readReport(t, applyReport).Run.Checked)

	sent := tn.Stats().Total
	got = rolesweep(t, invocation{}, "undo", applyReport, "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(dir, "undo.json"))
	assert.Equal(t, 1, got.code, got.stderr)
	assert.Contains(t, got.stderr, "24 removals of "+applyReport+" are unverified")
	assert.Contains(t, got.stderr, "--include-unverified")
	assert.Contains(t, got.stdout, "unverified 24")
	assert.Equal(t, sent, tn.Stats().Total, "an unverified undo sent a request")
	assert.Equal(t, 24, readReport(t, filepath.Join(dir, "undo.json")).Summary.Unverified)

	got = rolesweep(t, invocation{}, "undo", applyReport, "--include-unverified", "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(dir, "undo2.json"))
	assert.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, before, tn.State())
}

// TestUndoRetriesFaultsAndRateLimits: 5xx, dropped connections, changes
// applied then answered 503, and 429s during an undo are retried like
// removals, and the tenant ends as it was before the apply.
func TestUndoRetriesFaultsAndRateLimits(t *testing.T) {
	const input = "testdata/removals.csv"
	tn, url := startTenant(t, sandbox.Options{Bucket: 1000, Refill: 1000, FailRate: 0.1, DropRate: 0.05, ApplyThenFailRate: 0.05, FaultSeed: 5}, input)
	before := tn.State()
	dir := t.TempDir()
	applyReport := filepath.Join(dir, "apply.json")
	flags := []string{"--yes", "--quiet", "--domain", url, "--api-token", tn.Token(), "--max-retries", "30", "--concurrency", "8"}
	got := rolesweep(t, invocation{}, append([]string{"apply", input, "--check", "--report", applyReport}, flags...)...)
	require.Equal(t, 0, got.code, "apply: %s\n%s", got.stdout, got.stderr)

	faults := tn.Stats().Faults
	tn.SetFailNext(3, 429) // the preflight's read (which a 429 does not stop), then the undo's first two reads
	undoReport := filepath.Join(dir, "undo.json")
	got = rolesweep(t, invocation{}, append([]string{"undo", applyReport, "--report", undoReport}, flags...)...)
	require.Equal(t, 0, got.code, "undo: %s\n%s", got.stdout, got.stderr)
	after := tn.Stats().Faults
	require.Equal(t, 3, after.Forced-faults.Forced)
	require.NotZero(t, after.Failed+after.Dropped+after.AppliedThenFailed-faults.Failed-faults.Dropped-faults.AppliedThenFailed,
		"no faults during the undo; the test proves nothing")
	undone := readReport(t, undoReport)
	assert.Equal(t, report.Completed, undone.Outcome)
	assert.Equal(t, 24, undone.Summary.Restored+undone.Summary.Present)
	assert.NotZero(t, undone.Summary.Retries)
	assert.Equal(t, 2, undone.Summary.RateLimited)
	assert.Equal(t, before, tn.State())
}

// TestInterruptedUndoResumes: SIGINT during an undo (the real binary) stops
// it with exit 3 and a complete report, keeps the journal, and --resume
// finishes it without sending a finished group again; the tenant ends as it
// was before the apply.
func TestInterruptedUndoResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it against a sandbox process")
	}
	bin := e2eBuild(t)
	dir := t.TempDir()
	csvPath := e2eWriteInput(t, dir)
	domain, token := e2eStartSandbox(t, bin, csvPath, "--bucket", "0", "--latency", e2eLatency)
	before := e2eState(t, domain)
	applyReport := filepath.Join(dir, "apply.json")
	got := runBinary(t, bin, "apply", csvPath, "--check", "--yes", "--quiet", "--concurrency", "8",
		"--domain", domain, "--api-token", token, "--report", applyReport)
	require.Equal(t, 0, got.code, "apply: %s\n%s", got.stdout, got.stderr)

	journalPath := filepath.Join(dir, "undo.journal.jsonl")
	undoReport := filepath.Join(dir, "undo.json")
	first := e2eCommand(bin, "undo", applyReport, "--yes", "--quiet", "--concurrency", "2",
		"--domain", domain, "--api-token", token, "--report", undoReport, "--journal", journalPath)
	var firstOut, firstErr syncBuffer
	first.Stdout, first.Stderr = &firstOut, &firstErr
	require.NoError(t, first.Start())
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	t.Cleanup(func() { _ = first.Process.Kill() })
	waitJournaled(t, exited, journalPath, e2eKillAfter, &firstErr)
	require.NoError(t, first.Process.Signal(syscall.SIGINT))
	select {
	case <-exited:
	case <-time.After(e2eStartTimeout):
		t.Fatalf("the interrupted undo did not end within %s", e2eStartTimeout)
	}
	require.Equal(t, exitAborted, first.ProcessState.ExitCode(), "stdout:\n%s\nstderr:\n%s", firstOut.String(), firstErr.String())
	assert.NotContains(t, firstErr.String(), "DATA RACE")

	interrupted := readReport(t, undoReport)
	assert.Equal(t, report.Aborted, interrupted.Outcome)
	assert.Contains(t, interrupted.AbortReason, "interrupt")
	s := interrupted.Summary
	assert.Equal(t, 2*e2eUsers, s.Roles, "every removal is in the report of the interrupted undo")
	assert.Equal(t, s.Roles, s.Restored+s.Skipped+s.Failed)
	require.NotZero(t, s.Skipped, "the undo was not cut in the middle")
	require.NotZero(t, s.Restored)
	require.FileExists(t, journalPath)
	postsBefore := posts(e2eQuietStats(t, domain))

	final := filepath.Join(dir, "final.json")
	got = runBinary(t, bin, "undo", applyReport, "--yes", "--concurrency", "4",
		"--domain", domain, "--api-token", token, "--report", final, "--resume", journalPath)
	require.Equal(t, 0, got.code, "resume: %s\n%s", got.stdout, got.stderr)
	assert.Contains(t, got.stderr, "resuming "+journalPath)
	assert.Equal(t, before, e2eState(t, domain), "the tenant is not as it was before the apply")
	resumed := readReport(t, final)
	assert.Equal(t, report.Completed, resumed.Outcome)
	assert.Equal(t, 2*e2eUsers, resumed.Summary.Restored+resumed.Summary.Present)
	// Groups finished before the interrupt are not sent again; a group cut
	// on the wire (failed, outcome unknown) is read again and found present.
	assert.LessOrEqual(t, posts(e2eStats(t, domain))-postsBefore, e2eUsers-s.Restored/2)
	assert.NoFileExists(t, journalPath, "the completed resume removed its journal")
}

// waitJournaled waits until the journal holds n entries.
func waitJournaled(t *testing.T, exited <-chan error, journalPath string, n int, stderr *syncBuffer) {
	t.Helper()
	deadline := time.After(e2eStartTimeout)
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case err := <-exited:
			t.Fatalf("undo ended (%v) before %d groups were journaled: too fast to interrupt\n%s", err, n, stderr.String())
		case <-deadline:
			t.Fatalf("fewer than %d groups journaled within %s\n%s", n, e2eStartTimeout, stderr.String())
		case <-poll.C:
		}
		data, err := os.ReadFile(journalPath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Count(data, []byte("\n"))-1 >= n {
			return
		}
	}
}

func sha256Of(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
