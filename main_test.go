package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// syncBuffer is written by the command and read by the test while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type result struct {
	code           int
	stdout, stderr string
}

type invocation struct {
	stdin   string
	signals chan os.Signal
}

func rolesweep(t *testing.T, inv invocation, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(context.Background(), append([]string{"rolesweep"}, args...), env{
		stdin:         strings.NewReader(inv.stdin),
		stdout:        &stdout,
		stderr:        &stderr,
		signals:       inv.signals,
		progressEvery: time.Hour,
	})
	return result{code, stdout.String(), stderr.String()}
}

// tenant starts a sandbox seeded from an input file, as `rolesweep sandbox
// --from-input` does, behind a real loopback server.
func startTenant(t *testing.T, opts sandbox.Options, inputPath string) (*sandbox.Tenant, string) {
	t.Helper()
	tn := sandbox.New(opts)
	if inputPath != "" {
		src, err := input.ReadFile(inputPath, input.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rs := make([]sandbox.Removal, len(src.Rows))
		for i, r := range src.Rows {
			rs[i] = sandbox.Removal{UserID: r.UserID, UserEmail: r.UserEmail, RoleID: r.RoleID, RoleName: r.RoleName, OrganizationID: r.OrganizationID}
		}
		catalogue, err := readRoleCatalogue("testdata/roles.csv")
		if err != nil {
			t.Fatal(err)
		}
		tn.SeedFromRemovals(rs, catalogue)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return tn, srv.URL
}

// writeIDRemovals writes n removals of one role from n users named by id, so
// that a run goes straight to removing, with nothing to resolve.
func writeIDRemovals(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("user_id,role_id\n")
	for i := range n {
		fmt.Fprintf(&b, "auth0|%024x,rol_NHBmr6NkzbRcHob1\n", i)
	}
	path := filepath.Join(t.TempDir(), "ids.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkComplete asserts that every distinct input triple is in the report
// exactly once and that the counts add up.
func checkComplete(t *testing.T, r *report.Report, inputPath string) {
	t.Helper()
	src, err := input.ReadFile(inputPath, input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := map[int]int{}
	for _, res := range r.Results {
		for _, l := range res.Lines {
			lines[l]++
		}
	}
	for _, row := range src.Rows {
		if lines[row.Line] != 1 {
			t.Errorf("input line %d appears %d times in the report", row.Line, lines[row.Line])
		}
	}
	s := r.Summary
	if sum := s.Removed + s.Absent + s.NotFound + s.Failed + s.Skipped; sum != s.Roles || s.Roles != len(r.Results) {
		t.Errorf("status counts add up to %d, roles %d, results %d", sum, s.Roles, len(r.Results))
	}
	if s.Roles+s.Duplicates != len(src.Rows) {
		t.Errorf("roles %d + duplicates %d != input rows %d", s.Roles, s.Duplicates, len(src.Rows))
	}
}

func TestValidate(t *testing.T) {
	for _, f := range []string{"testdata/removals.csv", "testdata/removals.yaml"} {
		got := rolesweep(t, invocation{}, "validate", f)
		want := f + ": valid: 25 rows, 24 roles to remove from 13 users (1 duplicate row merged)\n"
		if strings.HasSuffix(f, ".yaml") {
			want = strings.Replace(want, "25 rows", "14 rows", 1)
		}
		if got.code != 0 || got.stdout != want {
			t.Errorf("validate %s = %d %q %q, want %q", f, got.code, got.stdout, got.stderr, want)
		}
	}
	got := rolesweep(t, invocation{}, "validate", "testdata/invalid/bad-ids.csv")
	if got.code != 2 || !strings.Contains(got.stderr, "testdata/invalid/bad-ids.csv:4:33: role_id \"rol_123\" is not a role id") {
		t.Errorf("invalid input: %d %q", got.code, got.stderr)
	}
	csv, _ := os.ReadFile("testdata/removals.csv")
	got = rolesweep(t, invocation{stdin: string(csv)}, "validate", "-", "--input-format", "csv")
	if got.code != 0 || !strings.HasPrefix(got.stdout, "-: valid: 25 rows") {
		t.Errorf("stdin: %d %q %q", got.code, got.stdout, got.stderr)
	}
	for _, args := range [][]string{{"validate"}, {"validate", "a.csv", "b.csv"}, {"validate", "-"}, {"validate", "x.txt"}, {"validate", "--bogus", "testdata/removals.csv"}, {"nope"}} {
		if got := rolesweep(t, invocation{}, args...); got.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%q)", args, got.code, got.stderr)
		}
	}
}

func TestPlanOfflineFormats(t *testing.T) {
	got := rolesweep(t, invocation{}, "plan", "testdata/removals.csv", "--format", "json")
	if got.code != 0 {
		t.Fatalf("exit %d: %s", got.code, got.stderr)
	}
	r, err := report.ReadJSON(strings.NewReader(got.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if r.Command != "plan" || r.Domain != "" || r.Summary.Remove != 24 || r.PlanDigest != report.Digest(r) {
		t.Errorf("plan = %+v", r.Summary)
	}
	for _, res := range r.Results {
		if res.Status != report.PlanRemove {
			t.Errorf("offline plan status %q for %+v", res.Status, res)
		}
	}
	for format, want := range map[string]string{"text": "rol_NHBmr6NkzbRcHob1", "csv": "rol_NHBmr6NkzbRcHob1", "markdown": "| remove | 24 |"} {
		if got := rolesweep(t, invocation{}, "plan", "--format", format, "testdata/removals.yaml"); got.code != 0 || !strings.Contains(got.stdout, want) {
			t.Errorf("--format %s: %d %q", format, got.code, got.stderr)
		}
	}
}

func TestApplyRemovesEverythingAndReportsIt(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	dir := t.TempDir()
	jsonPath, csvPath, mdPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.md")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(),
		"--report", jsonPath, "--report", csvPath, "--report", mdPath)
	if got.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", got.code, got.stdout, got.stderr)
	}
	r := readReport(t, jsonPath)
	checkComplete(t, r, "testdata/removals.csv")
	if r.Outcome != report.Completed || r.Summary.Removed != 24 || r.Summary.Users != 13 || r.Summary.Duplicates != 1 {
		t.Errorf("summary = %+v, outcome %s", r.Summary, r.Outcome)
	}
	for _, u := range tn.State().Users {
		if !reflect.DeepEqual(u.Roles, []string{survivorOf(t, tn)}) {
			t.Errorf("%s still holds %v", u.UserID, u.Roles)
		}
	}
	for _, p := range []string{csvPath, mdPath} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	// A completed run leaves nothing to resume, so its journal is gone and
	// the next run may use the same report path.
	if _, err := os.Stat(strings.TrimSuffix(jsonPath, ".json") + ".journal.jsonl"); !os.IsNotExist(err) {
		t.Errorf("the journal of a completed run is still there: %v", err)
	}
	if !strings.Contains(got.stdout, "completed: removed 24") {
		t.Errorf("summary line missing: %q", got.stdout)
	}
}

func survivorOf(t *testing.T, tn *sandbox.Tenant) string {
	for _, r := range tn.State().Roles {
		if r.Name == sandbox.SurvivorRoleName {
			return r.ID
		}
	}
	t.Fatal("no survivor role in the sandbox")
	return ""
}

func TestApplyNeedsConfirmation(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(t.TempDir(), "r.json"))
	if got.code != 2 || !strings.Contains(got.stderr, "--yes") {
		t.Errorf("without --yes: %d %q", got.code, got.stderr)
	}
	if n := tn.Stats().Total; n != 0 {
		t.Errorf("%d requests sent without confirmation", n)
	}
}

func TestApplyRefusesBadConfigurationBeforeSending(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	dir := t.TempDir()
	cases := [][]string{
		{"--domain", "http://acme.eu.auth0.com", "--api-token", "x"},
		{"--domain", url},
		{"--domain", url, "--api-token", tn.Token(), "--client-id", "a", "--client-secret", "b"},
		{"--domain", url, "--api-token", tn.Token(), "--concurrency", "0"},
		{"--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(dir, "r.txt")},
		{"--domain", url, "--api-token", tn.Token(), "--protect-role", "rol_NHBmr6NkzbRcHob1"},
	}
	for _, c := range cases {
		args := append([]string{"apply", "testdata/removals.csv", "--yes", "--quiet"}, c...)
		if len(c) < 5 || c[4] != "--report" {
			args = append(args, "--report", filepath.Join(dir, "r.json"))
		}
		if got := rolesweep(t, invocation{}, args...); got.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", c, got.code, got.stderr)
		}
	}
	if n := tn.Stats().Total; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestProtectionListsEveryOffendingLine(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	protect := filepath.Join(t.TempDir(), "protect.csv")
	os.WriteFile(protect, []byte("user_id,role_id,reason\nauth0|6123bc45de67f8001234abcd,,break-glass admin\n,rol_Hs3KdV9nFj6Tq1Xa,auditors keep read access\n"), 0o600)
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(), "--protect", protect, "--report", filepath.Join(t.TempDir(), "r.json"))
	if got.code != 2 {
		t.Fatalf("exit %d: %s", got.code, got.stderr)
	}
	for _, line := range []string{":6:", ":11:", ":12:", ":13:", ":14:", ":15:", ":18:", ":26:"} {
		if !strings.Contains(got.stderr, "testdata/removals.csv"+line) {
			t.Errorf("line %s not named:\n%s", line, got.stderr)
		}
	}
	if n := tn.Stats().Total; n != 0 {
		t.Errorf("%d requests sent", n)
	}
	// A protected role named by name is caught once the name resolves.
	got = rolesweep(t, invocation{stdin: "user_id,role_name\nauth0|64b2e9f0a7c3d5001e2f4a6b,Billing Admin\n"}, "apply", "-", "--input-format", "csv", "--yes", "--domain", url, "--api-token", tn.Token(), "--protect-role", "rol_NHBmr6NkzbRcHob1", "--report", filepath.Join(t.TempDir(), "r.json"))
	if got.code != 2 || !strings.Contains(got.stderr, "-:2: refusing to remove rol_NHBmr6NkzbRcHob1") {
		t.Errorf("name-resolved protection: %d %s", got.code, got.stderr)
	}
	if n := tn.Stats().Requests["DELETE /api/v2/users/{id}/roles"]; len(n) != 0 {
		t.Errorf("removals sent: %v", n)
	}
}

func TestMaxRemovalsGuard(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	path := filepath.Join(t.TempDir(), "r.json")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--no-check", "--domain", url, "--api-token", tn.Token(), "--max-removals", "10", "--report", path)
	if got.code != 3 {
		t.Fatalf("exit %d: %s", got.code, got.stderr)
	}
	r := readReport(t, path)
	if r.Outcome != report.Aborted || r.Summary.Skipped != 24 || !strings.Contains(r.AbortReason, "--max-removals 10") {
		t.Errorf("report: %s %q %+v", r.Outcome, r.AbortReason, r.Summary)
	}
	if n := tn.Stats().Total; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestRetriesExhaustedExitOneThenResume(t *testing.T) {
	in := writeIDRemovals(t, 10)
	tn, url := startTenant(t, sandbox.Options{}, in)
	// One request at a time, one retry each: after the preflight's read
	// (which a 503 does not stop), the first three users fail.
	tn.SetFailNext(7, 503)
	path := filepath.Join(t.TempDir(), "r.json")
	// --no-check: the failures are the DELETEs' (a check would spend them on reads).
	got := rolesweep(t, invocation{}, "apply", in, "--yes", "--no-check", "--domain", url, "--api-token", tn.Token(), "--max-retries", "1", "--concurrency", "1", "--report", path, "--quiet")
	if got.code != 1 {
		t.Fatalf("exit %d: %s %s", got.code, got.stdout, got.stderr)
	}
	r := readReport(t, path)
	checkComplete(t, r, in)
	if r.Outcome != report.CompletedWithFailures || r.Summary.Failed != 3 || r.Summary.Removed != 7 {
		t.Errorf("outcome %s %+v", r.Outcome, r.Summary)
	}
	for _, res := range r.Results[:3] {
		if res.Attempts != 2 || res.HTTPStatus != 503 || !strings.Contains(res.Error, "gave up after 2 attempts") {
			t.Errorf("failed result %+v", res)
		}
	}
	journalPath := strings.TrimSuffix(path, ".json") + ".journal.jsonl"
	if !strings.Contains(got.stdout, "--resume "+journalPath) {
		t.Errorf("the summary does not say how to retry the failures: %q", got.stdout)
	}
	// Resuming retries only what failed, and the attempts add up.
	got = rolesweep(t, invocation{}, "apply", in, "--yes", "--domain", url, "--api-token", tn.Token(), "--report", path, "--resume", journalPath, "--quiet", "--no-check")
	if got.code != 0 {
		t.Fatalf("resume: exit %d: %s %s", got.code, got.stdout, got.stderr)
	}
	r = readReport(t, path)
	checkComplete(t, r, in)
	if r.Outcome != report.Completed || r.Summary.Removed != 10 || r.Summary.Requests != 3 {
		t.Errorf("after resume: %s %+v", r.Outcome, r.Summary)
	}
	if r.Results[0].Attempts != 3 || r.Results[9].Attempts != 1 {
		t.Errorf("attempts after resume: %d and %d, want 3 (2 + 1) and 1", r.Results[0].Attempts, r.Results[9].Attempts)
	}
}

func TestUnauthorizedAbortsWithExitThree(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	tn.RevokeTokens()
	path := filepath.Join(t.TempDir(), "r.json")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(), "--report", path, "--quiet")
	if got.code != 3 {
		t.Fatalf("exit %d: %s %s", got.code, got.stdout, got.stderr)
	}
	r := readReport(t, path)
	checkComplete(t, r, "testdata/removals.csv")
	if r.Outcome != report.Aborted || r.Summary.Skipped == 0 || !strings.Contains(r.AbortReason, "401") {
		t.Errorf("outcome %s %q %+v", r.Outcome, r.AbortReason, r.Summary)
	}
	if n := tn.Stats().Total; n > 4 {
		t.Errorf("%d requests after the first 401", n)
	}
}

func TestInterruptWritesACompleteReport(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{Latency: 20 * time.Millisecond}, "testdata/removals.csv")
	path := filepath.Join(t.TempDir(), "r.json")
	signals := make(chan os.Signal, 2)
	go func() {
		for tn.Stats().RolesRemoved < 3 {
			time.Sleep(time.Millisecond)
		}
		signals <- syscall.SIGINT
	}()
	got := rolesweep(t, invocation{signals: signals}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(), "--concurrency", "1", "--report", path, "--quiet")
	if got.code != 3 {
		t.Fatalf("exit %d: %s %s", got.code, got.stdout, got.stderr)
	}
	r := readReport(t, path)
	checkComplete(t, r, "testdata/removals.csv")
	if r.Outcome != report.Aborted || r.Summary.Skipped == 0 || r.Summary.Removed == 0 || !strings.Contains(r.AbortReason, "interrupt") {
		t.Errorf("outcome %s %q %+v", r.Outcome, r.AbortReason, r.Summary)
	}
}

func TestClientCredentialsAreRenewedAndSecretsNeverLeak(t *testing.T) {
	const secret = "s3cr3t-Sh0uld-N3ver-L3ak-9f8e7d"
	tn, url := startTenant(t, sandbox.Options{ClientID: "rolesweep-ci", ClientSecret: secret, TokenTTL: time.Second, Latency: 40 * time.Millisecond}, "testdata/removals.csv")
	dir := t.TempDir()
	jsonPath, mdPath, csvPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.csv")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--client-id", "rolesweep-ci", "--client-secret", secret,
		"--concurrency", "1", "--check", "--verify", "--report", jsonPath, "--report", mdPath, "--report", csvPath, "--log-format", "json")
	if got.code != 0 {
		t.Fatalf("exit %d: %s %s", got.code, got.stdout, got.stderr)
	}
	// 42 requests one at a time at 40 ms each last at least 1.68 s: three token
	// lifetimes' halves, when the client renews.
	if n := tn.Stats().TokensIssued; n < 3 {
		t.Errorf("%d tokens issued over a run longer than 2 token lifetimes; want renewals", n)
	}
	leaks := []string{secret, tn.Token()}
	texts := map[string]string{"stdout": got.stdout, "stderr": got.stderr}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		texts[e.Name()] = string(b)
	}
	for name, text := range texts {
		for _, s := range leaks {
			if strings.Contains(text, s) {
				t.Errorf("%s contains a secret", name)
			}
		}
	}
	// A wrong secret: the error names the problem, never the secret.
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--client-id", "rolesweep-ci", "--client-secret", secret+"-wrong", "--report", filepath.Join(dir, "bad.json"))
	if got.code != 3 || strings.Contains(got.stdout+got.stderr, secret) {
		t.Errorf("wrong secret: exit %d, output %q %q", got.code, got.stdout, got.stderr)
	}
}

func TestReviewedPlanWorkflow(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	dir := t.TempDir()
	planPath := filepath.Join(dir, "plan.json")
	got := rolesweep(t, invocation{}, "plan", "testdata/removals.csv", "--check", "--domain", url, "--api-token", tn.Token(), "--out", planPath, "--quiet")
	if got.code != 0 {
		t.Fatalf("plan --check: %d %s", got.code, got.stderr)
	}
	plan := readReport(t, planPath)
	if plan.Summary.Remove != 24 || plan.Domain == "" {
		t.Fatalf("checked plan summary %+v domain %q", plan.Summary, plan.Domain)
	}

	// Drift: somebody removes one role by hand between review and apply.
	tn.SetFailNext(0, 500)
	removeByHand(t, url, tn.Token(), "auth0|5f7c8ec7c33c6c004bbafe82", "rol_NHBmr6NkzbRcHob1")

	// An edited plan is refused.
	edited := filepath.Join(dir, "edited.json")
	b, _ := os.ReadFile(planPath)
	os.WriteFile(edited, bytes.Replace(b, []byte("rol_0bwwCJ6v2x8fYcfz"), []byte("rol_AAAAAAAAAAAAAAAA"), 1), 0o600)
	if got := rolesweep(t, invocation{}, "apply", "--plan", edited, "--yes", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(dir, "x.json")); got.code != 2 || !strings.Contains(got.stderr, "edited") {
		t.Errorf("edited plan: %d %s", got.code, got.stderr)
	}

	reportPath := filepath.Join(dir, "report.json")
	got = rolesweep(t, invocation{}, "apply", "--plan", planPath, "--yes", "--domain", url, "--api-token", tn.Token(), "--report", reportPath)
	if got.code != 0 {
		t.Fatalf("apply --plan: %d %s %s", got.code, got.stdout, got.stderr)
	}
	r := readReport(t, reportPath)
	if r.Summary.Removed != 23 || r.Summary.Absent != 1 || r.PlanDigest != plan.PlanDigest || r.Input.SHA256 != plan.Input.SHA256 {
		t.Errorf("report %+v digest %s", r.Summary, r.PlanDigest)
	}
	if !strings.Contains(got.stdout, "drift since the plan: 1 roles planned remove, found absent") {
		t.Errorf("drift not reported: %q", got.stdout)
	}
}

func removeByHand(t *testing.T, url, token, user, role string) {
	t.Helper()
	got := rolesweep(t, invocation{stdin: fmt.Sprintf("user_id,role_id\n%s,%s\n", user, role)},
		"apply", "-", "--input-format", "csv", "--yes", "--domain", url, "--api-token", token, "--report", filepath.Join(t.TempDir(), "hand.json"), "--quiet")
	if got.code != 0 {
		t.Fatalf("removing by hand: %d %s", got.code, got.stderr)
	}
}

func TestFlagsAfterTheFile(t *testing.T) {
	got := rolesweep(t, invocation{}, "plan", "testdata/removals.csv", "--format", "json")
	var r map[string]any
	if got.code != 0 || json.Unmarshal([]byte(got.stdout), &r) != nil {
		t.Errorf("flags after FILE: %d %q", got.code, got.stderr)
	}
}

func TestHeaderOnlyIsNothingToDo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.csv")
	os.WriteFile(path, []byte("user_id,role_id\n"), 0o600)
	if got := rolesweep(t, invocation{}, "validate", path); got.code != 0 || !strings.Contains(got.stdout, "valid: 0 rows") {
		t.Errorf("header only: %d %q %q", got.code, got.stdout, got.stderr)
	}
	tn, url := startTenant(t, sandbox.Options{}, "")
	report := filepath.Join(t.TempDir(), "r.json")
	if got := rolesweep(t, invocation{}, "apply", path, "--yes", "--domain", url, "--api-token", tn.Token(), "--report", report, "--quiet"); got.code != 0 {
		t.Errorf("apply of nothing: %d %q", got.code, got.stderr)
	}
	if got := rolesweep(t, invocation{}, "validate", filepath.Join(t.TempDir(), "missing.csv")); got.code != 2 || !strings.Contains(got.stderr, "missing.csv") {
		t.Errorf("missing file: %d %q", got.code, got.stderr)
	}
}

func TestConfirmationOnATerminal(t *testing.T) {
	for answer, want := range map[string]int{"yes\n": 0, "no\n": 2, "": 2} {
		tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
		var stdout, stderr syncBuffer
		dir := t.TempDir()
		code := run(context.Background(), []string{"rolesweep", "apply", "testdata/removals.csv", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(dir, "r.json"), "--quiet"}, env{
			stdin: strings.NewReader(answer), stdout: &stdout, stderr: &stderr,
			terminal: func(s any) bool { _, isReader := s.(*strings.Reader); return isReader },
		})
		if code != want || !strings.Contains(stderr.String(), "About to remove 24 roles from 13 users on 127.0.0.1:") {
			t.Errorf("answer %q: exit %d, want %d; stderr %q", answer, code, want, stderr.String())
		}
		if sent := tn.Stats().RolesRemoved; (want == 0) != (sent > 0) {
			t.Errorf("answer %q: %d roles removed", answer, sent)
		}
		// Declined: nothing happened, so there is no journal to trip over.
		if entries, _ := os.ReadDir(dir); want != 0 && len(entries) != 0 {
			t.Errorf("answer %q left files behind: %v", answer, entries)
		}
	}
}

func TestProgressIsLoggedWhenNotOnATerminal(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{Latency: 10 * time.Millisecond}, "testdata/removals.csv")
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"rolesweep", "apply", "testdata/removals.csv", "--yes", "--concurrency", "1", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(t.TempDir(), "r.json"), "--log-format", "json"}, env{
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, progressEvery: 20 * time.Millisecond,
	})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var progress map[string]any
	for line := range strings.SplitSeq(stderr.String(), "\n") {
		if strings.Contains(line, `"msg":"progress"`) {
			if err := json.Unmarshal([]byte(line), &progress); err != nil {
				t.Fatalf("progress line %q: %v", line, err)
			}
		}
	}
	if progress == nil || progress["total"] != float64(24) {
		t.Errorf("no JSON progress line with the total in %q", stderr.String())
	}
}

func TestSecondInterruptStopsRequestsOnTheWire(t *testing.T) {
	in := writeIDRemovals(t, 10)
	tn, _ := startTenant(t, sandbox.Options{}, in)
	// Only the DELETEs are slow: the preflight's read must get through.
	var deleting atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			// Read the body first: only then does the server notice a
			// client that hung up, and end r's context.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			deleting.Store(true)
			select {
			case <-time.After(20 * time.Second):
			case <-r.Context().Done():
			}
		}
		tn.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL
	path := filepath.Join(t.TempDir(), "r.json")
	signals := make(chan os.Signal, 2)
	go func() {
		for !deleting.Load() {
			time.Sleep(time.Millisecond)
		}
		signals <- syscall.SIGINT
		signals <- syscall.SIGTERM
	}()
	start := time.Now()
	// --no-check: the request on the wire is a DELETE (a read's outcome is never unknown).
	got := rolesweep(t, invocation{signals: signals}, "apply", in, "--yes", "--no-check", "--concurrency", "2", "--domain", url, "--api-token", tn.Token(), "--report", path, "--quiet")
	if got.code != 3 {
		t.Fatalf("exit %d: %s %s", got.code, got.stdout, got.stderr)
	}
	if waited := time.Since(start); waited > 15*time.Second {
		t.Errorf("the second signal did not stop the requests on the wire (%v)", waited)
	}
	r := readReport(t, path)
	checkComplete(t, r, in)
	if r.Summary.Failed == 0 || r.Summary.Skipped == 0 || r.Summary.Removed != 0 {
		t.Errorf("want the interrupted request failed (outcome unknown) and the rest skipped: %+v", r.Summary)
	}
	for _, res := range r.Results {
		if res.Status == report.Failed && !strings.Contains(res.Error, "outcome is unknown") {
			t.Errorf("failed without saying the outcome is unknown: %+v", res)
		}
	}
}

func TestInterruptAtThePrompt(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	stdin, _ := io.Pipe() // nobody answers
	signals := make(chan os.Signal, 1)
	signals <- syscall.SIGINT
	var stdout, stderr syncBuffer
	path := filepath.Join(t.TempDir(), "r.json")
	code := run(context.Background(), []string{"rolesweep", "apply", "testdata/removals.csv", "--domain", url, "--api-token", tn.Token(), "--report", path, "--quiet"}, env{
		stdin: stdin, stdout: &stdout, stderr: &stderr, signals: signals,
		terminal: func(s any) bool { _, ok := s.(*io.PipeReader); return ok },
	})
	if code != 3 {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	if r := readReport(t, path); r.Summary.Skipped != 24 || !strings.Contains(r.AbortReason, "confirmation prompt") {
		t.Errorf("report %q %+v", r.AbortReason, r.Summary)
	}
	if n := tn.Stats().Total; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestOnlyNetworkCommandsHandleInterrupts(t *testing.T) {
	for args, want := range map[string]bool{"rolesweep validate x.csv": false, "rolesweep apply x.csv": true, "rolesweep --quiet plan x.csv": true, "rolesweep sandbox": true, "rolesweep": false} {
		if got := handlesInterrupts(strings.Fields(args)); got != want {
			t.Errorf("%q: %v, want %v", args, got, want)
		}
	}
}
