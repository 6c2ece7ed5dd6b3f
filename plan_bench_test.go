package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeRemovals writes a generated CSV of n rows: three roles per user, from
// a catalogue of 20 roles, every row with a reason.
func writeRemovals(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("removals-%d.csv", n))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "user_id,role_id,reason")
	for i := range n {
		fmt.Fprintf(w, "auth0|%024x,rol_%016d,2026-Q4 access review CERT-1182\n", i/3, i%20)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

func benchmarkPlan(b *testing.B, rows int, format string) {
	path := writeRemovals(b, rows)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		code := run(context.Background(), []string{"rolesweep", "plan", path, "--format", format}, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
		if code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.StopTimer()
	b.ReportMetric(peakRSSMiB(b, path, format), "peak-RSS-MiB")
}

// peakRSSMiB runs the same plan in a child process of this test binary and
// returns that process's peak resident memory: the number a 2-core, small
// machine cares about, which allocation counts alone do not give. The child
// reports its own high-water mark: the rusage of a child started from this
// big process would count the parent's pages it shared before exec.
func peakRSSMiB(b *testing.B, path, format string) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestPlanChildProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "ROLESWEEP_PLAN_CHILD="+path, "ROLESWEEP_PLAN_FORMAT="+format)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child plan: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "VmHWM:")
	if !ok {
		b.Fatalf("the child did not report its peak memory:\n%s", out)
	}
	var kib float64
	if _, err := fmt.Sscan(after, &kib); err != nil {
		b.Fatalf("peak memory %q: %v", after, err)
	}
	return kib / 1024
}

// TestPlanChildProcess is the child of peakRSSMiB; it does nothing in a
// normal test run.
func TestPlanChildProcess(t *testing.T) {
	path := os.Getenv("ROLESWEEP_PLAN_CHILD")
	if path == "" {
		t.Skip("only run as the child of a plan benchmark")
	}
	tuneGC() // as main does
	code := run(context.Background(), []string{"rolesweep", "plan", path, "--format", os.Getenv("ROLESWEEP_PLAN_FORMAT")}, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status: peak memory is not measured here")
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			t.Log(line)
		}
	}
}

func BenchmarkPlan100k(b *testing.B)   { benchmarkPlan(b, 100_000, "text") }
func BenchmarkPlan1M(b *testing.B)     { benchmarkPlan(b, 1_000_000, "text") }
func BenchmarkPlan1MJSON(b *testing.B) { benchmarkPlan(b, 1_000_000, "json") }
