package job

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/journal"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// BenchmarkJournalCost runs ROLESWEEP_BENCH_GROUPS (default 100,000) one-role
// groups against an unlimited in-process sandbox three ways: without a
// journal, with one in os.TempDir, and with one in ROLESWEEP_BENCH_DISK_DIR
// (default the test's working directory). Journaling should cost under 10%:
//
//	ROLESWEEP_BENCH_DISK_DIR=/work/tmp go test -run '^$' -bench JournalCost -benchtime 1x ./job
func BenchmarkJournalCost(b *testing.B) {
	groups := 100_000
	if v := os.Getenv("ROLESWEEP_BENCH_GROUPS"); v != "" {
		_, err := fmt.Sscan(v, &groups)
		require.NoError(b, err)
	}
	diskDir := os.Getenv("ROLESWEEP_BENCH_DISK_DIR")
	if diskDir == "" {
		diskDir, _ = os.Getwd()
	}
	for _, c := range []struct{ name, dir string }{{"disk", diskDir}, {"tmp", os.TempDir()}, {"none", ""}} {
		b.Run(c.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				total += runJournalBench(b, groups, c.dir)
			}
			b.ReportMetric(float64(groups*b.N)/total.Seconds(), "groups/s")
		})
	}
}

// runJournalBench returns the time of the run alone, without the seeding.
func runJournalBench(b *testing.B, groups int, dir string) time.Duration {
	tn := sandbox.New(sandbox.Options{})
	tn.AddRole(roleA, "A")
	rows := make([]input.Row, groups)
	for i := range rows {
		u := fmt.Sprintf("auth0|bench%07d", i)
		tn.AddUser(u, "", roleA)
		rows[i] = input.Row{Line: i + 2, UserID: u, RoleID: roleA}
	}
	srv := httptest.NewServer(tn)
	defer srv.Close()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	client, err := management.New(management.Config{Domain: srv.URL, APIToken: tn.Token(), HTTPClient: &http.Client{Transport: transport}})
	require.NoError(b, err)
	bld := reconcile.NewBuilder(groups)
	for _, r := range rows {
		bld.Add(r)
	}
	p := bld.Plan(&input.Source{Path: "bench.csv"})
	out := p.Outcomes(report.Skipped, report.Failed)
	x := &reconcile.Executor{API: client, Pacer: pacer.New(pacer.Config{}), Concurrency: reconcile.DefaultConcurrency}
	if dir != "" {
		jdir, err := os.MkdirTemp(dir, "rolesweep-bench-")
		require.NoError(b, err)
		defer os.RemoveAll(jdir)
		w, err := journal.Create(filepath.Join(jdir, "bench.journal.jsonl"), journal.Header{Domain: srv.URL})
		require.NoError(b, err)
		defer w.Close()
		jr := &journalRun{writer: w}
		x.GroupDone = func(gi int, out []reconcile.Outcome) error { return jr.record(p, gi, out, time.Now()) }
	}
	start := time.Now()
	require.NoError(b, x.Execute(context.Background(), p, out, nil))
	elapsed := time.Since(start)
	for i := range out {
		require.Equal(b, report.Removed, out[i].Status)
	}
	return elapsed
}
