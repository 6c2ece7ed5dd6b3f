package job

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// BenchmarkSweepPacing plans and then applies a sweep of 30,000 holders
// against a rate-limited sandbox (100 burst, 500 per second, 20 ms) with
// the default check, and reports how close each phase came to the bucket's
// limit: ideal is (requests − burst) / refill plus one round trip, ratio is
// achieved over ideal.
func BenchmarkSweepPacing(b *testing.B) {
	const (
		holders = 30000
		bucket  = 100
		refill  = 500.0
		latency = 20 * time.Millisecond
	)
	for b.Loop() {
		tn := sandbox.New(sandbox.Options{Bucket: bucket, Refill: refill, Latency: latency})
		tn.SeedSynthetic(holders, 1, legacyName)
		srv := httptest.NewServer(tn)
		tenant := Tenant{Management: management.Config{Domain: srv.URL, APIToken: tn.Token()}, Concurrency: reconcile.DefaultConcurrency, MaxRetries: 5}
		sw := &Sweep{Roles: []string{legacyName}}

		start := time.Now()
		plan, err := Plan(context.Background(), PlanConfig{Sweep: sw, Tenant: tenant}, Hooks{})
		if err != nil {
			b.Fatal(err)
		}
		planTime := time.Since(start)
		planRequests := tn.Stats().Total
		if plan.Summary.Remove != holders {
			b.Fatalf("planned %d removals", plan.Summary.Remove)
		}

		start = time.Now()
		// Confirm is asked once the sweep is read, just before the DELETEs.
		var confirmed time.Time
		var readRequests int
		hooks := Hooks{Confirm: func(context.Context, Confirmation) error {
			confirmed, readRequests = time.Now(), tn.Stats().Total-planRequests
			return nil
		}}
		r, err := Apply(context.Background(), ApplyConfig{Sweep: sw, Tenant: tenant, Check: true, MaxRemovals: -1,
			Reports: []string{filepath.Join(b.TempDir(), "r.json")}}, hooks)
		if err != nil {
			b.Fatal(err)
		}
		applyTime := time.Since(start)
		srv.Close()
		if confirmed.IsZero() {
			b.Fatal("the apply did not ask for confirmation")
		}
		if r.Outcome != report.Completed || r.Summary.Removed != holders {
			b.Fatalf("apply: %s %+v", r.Outcome, r.Summary)
		}
		st := tn.Stats()
		applyRequests := st.Total - planRequests
		ideal := func(n int) float64 { return max(float64(n)-bucket, 0)/refill + latency.Seconds() }
		b.ReportMetric(float64(planRequests), "plan-requests")
		b.ReportMetric(planTime.Seconds(), "plan-s")
		b.ReportMetric(planTime.Seconds()/ideal(planRequests), "plan-ratio")
		b.ReportMetric(float64(applyRequests), "apply-requests")
		b.ReportMetric(float64(applyRequests-holders), "apply-reads")
		b.ReportMetric(applyTime.Seconds(), "apply-s")
		b.ReportMetric(applyTime.Seconds()/ideal(applyRequests), "apply-ratio")
		// The DELETEs alone, after the sweep's sequential holder pages.
		deleteTime := time.Since(confirmed)
		b.ReportMetric(deleteTime.Seconds(), "delete-s")
		b.ReportMetric(deleteTime.Seconds()/ideal(applyRequests-readRequests), "delete-ratio")
		b.ReportMetric(100*float64(st.RateLimited)/float64(max(st.Total, 1)), "429-%")
	}
}
