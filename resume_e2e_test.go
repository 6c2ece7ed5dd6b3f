package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/journal"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// The killed run is paced by the sandbox's latency:
// with e2eUsers groups, two in flight and e2eLatency per answer, a whole run
// takes about 3 s, and the kill comes after e2eKillAfter groups, early enough
// that a loaded machine cannot finish the remaining three quarters before the
// kill lands. The kill waits on journal progress, never on a clock.
const (
	e2eUsers        = 120
	e2eLatency      = "30ms"
	e2eKillAfter    = 30
	e2eDeleteRoute  = "DELETE /api/v2/users/{id}/roles"
	e2eStartTimeout = 30 * time.Second
)

// TestKilledRunResumes is the crash test of --journal/--resume: the real
// binary, against the real sandbox process, is SIGKILLed mid-run and resumed.
func TestKilledRunResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it against a sandbox process")
	}
	bin := e2eBuild(t)
	dir := t.TempDir()
	csvPath := e2eWriteInput(t, dir)
	domain, token := e2eStartSandbox(t, bin, csvPath, "--bucket", "0", "--latency", e2eLatency)
	journalPath := filepath.Join(dir, "run.journal.jsonl")

	// Run 1, killed without warning once a quarter of the groups are journaled.
	// --no-check: this test is about the journal alone. With the default
	// check, a DELETE that landed just before the kill would read as absent
	// on resume instead of being sent again (TestResumeRereads covers it).
	first := e2eCommand(bin, "apply", csvPath, "--yes", "--quiet", "--no-check", "--concurrency", "2",
		"--domain", domain, "--api-token", token,
		"--report", filepath.Join(dir, "report.json"), "--journal", journalPath)
	var firstOut, firstErr syncBuffer
	first.Stdout, first.Stderr = &firstOut, &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	t.Cleanup(func() { _ = first.Process.Kill() }) // no-op once reaped
	e2eKillAfterJournaled(t, first, exited, journalPath, e2eKillAfter, &firstOut, &firstErr)
	if _, err := os.Stat(filepath.Join(dir, "report.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a SIGKILLed run wrote a report (stat: %v)", err)
	}

	// What run 1 left behind: the journal, and a tenant that the killed
	// process's last requests may still be reaching.
	journalFile, err := os.Open(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	header, firstEntries, err := journal.Read(journalFile, journalPath)
	journalFile.Close()
	if err != nil {
		t.Fatalf("the journal of the killed run is unreadable: %v", err)
	}
	if header.InputSHA256 == "" || header.Domain == "" || header.PlanDigest == "" {
		t.Errorf("journal header is incomplete: %+v", header)
	}
	finishedFirst := map[report.GroupKey]journal.Entry{}
	for _, e := range firstEntries {
		if _, dup := finishedFirst[e.Key()]; dup {
			t.Errorf("run 1 journaled group %q twice", e.User)
		}
		if !e.Done() {
			t.Errorf("run 1 journaled %q as not done against a fault-free tenant: %+v", e.User, e.Results)
		}
		finishedFirst[e.Key()] = e
	}
	if len(finishedFirst) < e2eKillAfter || len(finishedFirst) >= e2eUsers {
		t.Fatalf("run 1 journaled %d of %d groups; the kill was meant to land after %d", len(finishedFirst), e2eUsers, e2eKillAfter)
	}
	t.Logf("killed after %d of %d groups were journaled", len(finishedFirst), e2eUsers)
	before := e2eQuietStats(t, domain)
	survivor := e2eSurvivor(t, e2eState(t, domain))
	stillHolding := 0
	for _, u := range e2eState(t, domain).Users {
		done := finishedFirst[report.KeyOf("", u.UserID, "")].Done()
		switch {
		case done && !slices.Equal(u.Roles, []string{survivor}):
			t.Errorf("%s is journaled as finished but still holds %v", u.UserID, u.Roles)
		case len(u.Roles) > 1:
			stillHolding++
		}
	}
	if stillHolding == 0 {
		t.Fatalf("no user still holds a listed role after the kill: the run was not cut in the middle")
	}

	// Run 2 resumes the journal to completion.
	finalPath := filepath.Join(dir, "final.json")
	second := e2eCommand(bin, "apply", csvPath, "--yes", "--no-check", "--concurrency", "4",
		"--domain", domain, "--api-token", token, "--report", finalPath, "--resume", journalPath)
	var secondOut, secondErr bytes.Buffer
	second.Stdout, second.Stderr = &secondOut, &secondErr
	if err := second.Run(); err != nil {
		t.Fatalf("resumed run: %v\nstdout:\n%s\nstderr:\n%s", err, secondOut.String(), secondErr.String())
	}
	if want := fmt.Sprintf("resuming %s: %d groups already finished", journalPath, len(finishedFirst)); !strings.Contains(secondErr.String(), want) {
		t.Errorf("resumed run stderr does not say %q:\n%s", want, secondErr.String())
	}
	after := e2eStats(t, domain)

	// (a) The tenant: every listed role is gone, the survivor is not.
	state := e2eState(t, domain)
	if len(state.Users) != e2eUsers {
		t.Errorf("the tenant has %d users, want %d", len(state.Users), e2eUsers)
	}
	for _, u := range state.Users {
		if !slices.Equal(u.Roles, []string{survivor}) {
			t.Errorf("%s holds %v, want only the survivor %s", u.UserID, u.Roles, survivor)
		}
	}

	// (b) Nothing journaled as finished was sent again: run 2 sent exactly
	// one DELETE per group run 1 did not finish, and journaled only those.
	sent := e2eDeleteCounts(after)
	for status, n := range e2eDeleteCounts(before) {
		sent[status] -= n
	}
	if want := e2eUsers - len(finishedFirst); sent[http.StatusNoContent] != want || e2eSum(sent) != want {
		t.Errorf("the resumed run sent DELETEs %v (by status), want %d×204: one per group not finished before the kill", sent, want)
	}
	// A completed run leaves nothing to resume: its journal is removed.
	if _, err := os.Stat(journalPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal of the completed resumed run is still there (stat: %v)", err)
	}

	// (c) and (d) The merged report: complete, all removed, and agreeing
	// with the journal, run 1's results included.
	final := readReport(t, finalPath)
	checkComplete(t, final, csvPath)
	if final.Outcome != report.Completed || final.AbortReason != "" {
		t.Errorf("outcome %q (%q), want %q", final.Outcome, final.AbortReason, report.Completed)
	}
	if s := final.Summary; s.Users != e2eUsers || s.Roles != 2*e2eUsers || s.Removed != 2*e2eUsers {
		t.Errorf("summary %+v, want %d users and %d roles, all removed", s, e2eUsers, 2*e2eUsers)
	}
	if final.Domain != header.Domain || final.Input.SHA256 != header.InputSHA256 || final.PlanDigest != header.PlanDigest {
		t.Errorf("report is for %s %s %s, the journal for %s %s %s", final.Domain, final.Input.SHA256, final.PlanDigest, header.Domain, header.InputSHA256, header.PlanDigest)
	}
	byGroup := map[report.GroupKey][]report.Result{}
	for _, res := range final.Results {
		if res.Status != report.Removed || res.Attempts < 1 || res.HTTPStatus != http.StatusNoContent {
			t.Errorf("result %s %s: status %s, http %d, attempts %d; want removed, 204, ≥1", res.UserID, res.RoleID, res.Status, res.HTTPStatus, res.Attempts)
		}
		key := report.KeyOf(res.OrganizationID, res.UserID, res.UserEmail)
		byGroup[key] = append(byGroup[key], res)
	}
	for key, e := range finishedFirst {
		if !reflect.DeepEqual(byGroup[key], e.Results) {
			t.Errorf("report and journal disagree on %q:\nreport  %+v\njournal %+v", e.User, byGroup[key], e.Results)
		}
	}
	if !strings.Contains(secondOut.String(), fmt.Sprintf("completed: removed %d", 2*e2eUsers)) {
		t.Errorf("resumed run summary line: %q", secondOut.String())
	}
}

// TestResumeRefusesAnotherInput: --resume continues only the run its journal
// belongs to; a different input or tenant is refused before anything is sent
// and leaves the journal untouched, as is a new run pointed at that journal.
// The same input under another path (a moved file) is the same run.
func TestResumeRefusesAnotherInput(t *testing.T) {
	const input = "testdata/removals.csv"
	tn, url := startTenant(t, sandbox.Options{}, input)
	dir := t.TempDir()
	journalPath := filepath.Join(dir, "run.journal.jsonl")
	// In run 1 the first four requests fail and are not retried: the
	// preflight's read (a 503 proves the tenant is there), then the three
	// lookups of an email or a role name, one at a time. Their groups fail,
	// the other ten finish, and the journal stays for a resume.
	tn.SetFailNext(4, 503)
	got := rolesweep(t, invocation{}, "apply", input, "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
		"--report", filepath.Join(dir, "run1.json"), "--journal", journalPath, "--max-retries", "0", "--concurrency", "1")
	if got.code != 1 {
		t.Fatalf("run 1: exit %d\n%s\n%s", got.code, got.stdout, got.stderr)
	}
	journaled, err := os.ReadFile(journalPath)
	if err != nil {
		t.Fatal(err)
	}

	original, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimRight(string(original), "\n"), "\n")
	changed := filepath.Join(dir, "changed.csv")
	if err := os.WriteFile(changed, []byte(strings.Join(lines[:len(lines)-1], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	other, otherURL := startTenant(t, sandbox.Options{}, input)

	refusals := []struct {
		name, input, url, token, says string
		tenant                        *sandbox.Tenant
	}{
		{"another input", changed, url, tn.Token(), "the input changed since the journal was written", tn},
		{"another tenant", input, otherURL, other.Token(), "the journal is for tenant " + strings.TrimPrefix(url, "http://"), other},
	}
	for _, r := range refusals {
		sentBefore := r.tenant.Stats().Total
		got := rolesweep(t, invocation{}, "apply", r.input, "--yes", "--quiet", "--domain", r.url, "--api-token", r.token,
			"--report", filepath.Join(dir, "refused.json"), "--resume", journalPath)
		if got.code != 2 || !strings.Contains(got.stderr, "cannot resume "+journalPath) || !strings.Contains(got.stderr, r.says) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", r.name, got.code, got.stderr, r.says)
		}
		if n := r.tenant.Stats().Total - sentBefore; n != 0 {
			t.Errorf("%s: %d requests sent before the refusal", r.name, n)
		}
		if now, _ := os.ReadFile(journalPath); !bytes.Equal(now, journaled) {
			t.Errorf("%s: the refused resume changed the journal", r.name)
		}
	}
	// Starting afresh must not write over the journal of the unfinished run.
	sentBefore := tn.Stats().Total
	got = rolesweep(t, invocation{}, "apply", input, "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
		"--report", filepath.Join(dir, "refused.json"), "--journal", journalPath)
	if got.code != 2 || !strings.Contains(got.stderr, "--resume "+journalPath) {
		t.Errorf("a new run on an existing journal: exit %d, stderr %q; want 2 and a pointer to --resume", got.code, got.stderr)
	}
	if n := tn.Stats().Total - sentBefore; n != 0 {
		t.Errorf("a new run on an existing journal sent %d requests", n)
	}
	if now, _ := os.ReadFile(journalPath); !bytes.Equal(now, journaled) {
		t.Errorf("a new run on an existing journal changed it")
	}
	if _, err := os.Stat(filepath.Join(dir, "refused.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused resume wrote a report (stat: %v)", err)
	}

	// The same bytes under another name resume fine.
	moved := filepath.Join(t.TempDir(), "moved.csv")
	if err := os.WriteFile(moved, original, 0o600); err != nil {
		t.Fatal(err)
	}
	got = rolesweep(t, invocation{}, "apply", moved, "--yes", "--domain", url, "--api-token", tn.Token(),
		"--report", filepath.Join(dir, "resumed.json"), "--resume", journalPath)
	if got.code != 0 || !strings.Contains(got.stderr, "10 groups already finished") {
		t.Fatalf("resuming a finished run from a moved input: exit %d\n%s\n%s", got.code, got.stdout, got.stderr)
	}
	deletes := tn.Stats().Requests
	if n := e2eSum(deletes[e2eDeleteRoute]) + e2eSum(deletes["DELETE /api/v2/organizations/{id}/members/{user_id}/roles"]); n != 13 {
		t.Errorf("%d DELETEs in all, want one per group: 10 in run 1, 3 in the resumed run", n)
	}
	resumed := readReport(t, filepath.Join(dir, "resumed.json"))
	checkComplete(t, resumed, moved)
	if resumed.Outcome != report.Completed || resumed.Summary.Removed != 24 {
		t.Errorf("resumed report: %s %+v", resumed.Outcome, resumed.Summary)
	}
}

// e2eBuild builds the rolesweep binary once for this test, with the race
// detector when the test binary has it: the packages are then already in the
// build cache, and the binary's own races surface as exit code 66. VCS
// stamping is off: CI checkouts owned by another user make git refuse it.
func e2eBuild(t *testing.T) string {
	t.Helper()
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	bin := filepath.Join(t.TempDir(), "rolesweep")
	args := []string{"build", "-buildvcs=false", "-o", bin}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	build := exec.Command(goTool, append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// e2eCommand runs the binary with no AUTH0_* variables from the caller's
// environment: a CI secret must not change which credentials the test uses.
func e2eCommand(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTH0_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// e2eWriteInput writes e2eUsers users with two of three shared roles each.
func e2eWriteInput(t *testing.T, dir string) string {
	t.Helper()
	roles := []string{"rol_E2eResumeRole001", "rol_E2eResumeRole002", "rol_E2eResumeRole003"}
	var b strings.Builder
	b.WriteString("user_id,role_id,reason\n")
	for i := range e2eUsers {
		user := fmt.Sprintf("auth0|%024x", 0xe2e0000+i)
		for j := range 2 {
			fmt.Fprintf(&b, "%s,%s,E2E-%d\n", user, roles[(i+j)%len(roles)], i)
		}
	}
	path := filepath.Join(dir, "removals.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// e2eStartSandbox starts `rolesweep sandbox` and returns the domain and token
// it prints; flags are added to --from-input csvPath (the resume test turns
// rate limiting off so that run 2's DELETE count is exact).
func e2eStartSandbox(t *testing.T, bin, csvPath string, flags ...string) (domain, token string) {
	t.Helper()
	cmd := e2eCommand(bin, append([]string{"sandbox", "--listen", "127.0.0.1:0", "--from-input", csvPath}, flags...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if strings.Contains(stderr.String(), "DATA RACE") {
			t.Errorf("the sandbox process raced:\n%s", stderr.String())
		}
	})
	settings := make(chan map[string]string, 1)
	go func() {
		defer close(settings)
		found := map[string]string{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if name, value, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && strings.HasPrefix(name, "AUTH0_") {
				found[name] = e2eUnquote(value)
			}
			if found["AUTH0_DOMAIN"] != "" && found["AUTH0_API_TOKEN"] != "" {
				settings <- found
				// Keep draining: a sandbox blocked on a full pipe stops serving.
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
	}()
	select {
	case found, ok := <-settings:
		if !ok {
			t.Fatalf("the sandbox exited without printing its settings; stderr:\n%s", stderr.String())
		}
		return found["AUTH0_DOMAIN"], found["AUTH0_API_TOKEN"]
	case <-time.After(e2eStartTimeout):
		t.Fatalf("the sandbox printed no settings within %s; stderr:\n%s", e2eStartTimeout, stderr.String())
		return "", ""
	}
}

// e2eUnquote undoes the sandbox's shell quoting: single quotes around the
// value, and a quote inside written as quote, backslash, quote, quote.
func e2eUnquote(v string) string {
	if len(v) >= 2 && strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") {
		return strings.ReplaceAll(v[1:len(v)-1], `'\''`, "'")
	}
	return v
}

// e2eKillAfterJournaled SIGKILLs the run once its journal holds n entries
// and fails the test if the run ended on its own first.
func e2eKillAfterJournaled(t *testing.T, cmd *exec.Cmd, exited <-chan error, journalPath string, n int, stdout, stderr *syncBuffer) {
	t.Helper()
	deadline := time.After(e2eStartTimeout)
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case err := <-exited:
			t.Fatalf("apply ended (%v) before %d groups were journaled and could be killed: the run is too fast to be cut in the middle (raise e2eLatency or e2eUsers)\nstdout:\n%s\nstderr:\n%s",
				err, n, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("fewer than %d groups journaled within %s\nstderr:\n%s", n, e2eStartTimeout, stderr.String())
		case <-poll.C:
		}
		data, err := os.ReadFile(journalPath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Count(data, []byte("\n"))-1 >= n { // the header is the first line
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v (apply already ended: the run is too fast to be cut in the middle)", err)
	}
	<-exited
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("apply ended with %v, not by the SIGKILL: the run is too fast to be cut in the middle\nstdout:\n%s\nstderr:\n%s",
			cmd.ProcessState, stdout.String(), stderr.String())
	}
}

var e2eHTTP = &http.Client{Timeout: 10 * time.Second}

func e2eGet(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := e2eHTTP.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func e2eStats(t *testing.T, domain string) sandbox.Stats {
	t.Helper()
	var s sandbox.Stats
	e2eGet(t, domain+"/__sandbox/stats", &s)
	return s
}

func e2eState(t *testing.T, domain string) sandbox.Seed {
	t.Helper()
	var s sandbox.Seed
	e2eGet(t, domain+"/__sandbox/state", &s)
	return s
}

// e2eQuietStats returns the sandbox's counters once the killed process's
// last requests have been answered. They are at most --concurrency requests
// whose client died: the sandbox notices the closed connection, cuts the
// latency short and counts them within milliseconds, so counters that stay
// still for many latencies in a row are final.
func e2eQuietStats(t *testing.T, domain string) sandbox.Stats {
	t.Helper()
	const stillPolls = 6
	deadline := time.Now().Add(e2eStartTimeout)
	last, still := e2eStats(t, domain), 0
	for still < stillPolls {
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox kept counting requests after the client was killed: %+v", last)
		}
		time.Sleep(50 * time.Millisecond)
		s := e2eStats(t, domain)
		if s.Total == last.Total && e2eSum(s.Requests[e2eDeleteRoute]) == e2eSum(last.Requests[e2eDeleteRoute]) {
			still++
		} else {
			still = 0
		}
		last = s
	}
	return last
}

func e2eDeleteCounts(s sandbox.Stats) map[int]int {
	counts := map[int]int{}
	for status, n := range s.Requests[e2eDeleteRoute] {
		counts[status] = n
	}
	return counts
}

func e2eSum(byStatus map[int]int) int {
	total := 0
	for _, n := range byStatus {
		total += n
	}
	return total
}

func e2eSurvivor(t *testing.T, s sandbox.Seed) string {
	t.Helper()
	for _, r := range s.Roles {
		if r.Name == sandbox.SurvivorRoleName {
			return r.ID
		}
	}
	t.Fatal("no survivor role in the sandbox")
	return ""
}
