package reconcile

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// benchTenant is one row of the pacing benchmark: a tenant's bucket, how it
// refills, its latency, and how many removals to run against it.
type benchTenant struct {
	name    string
	bucket  int
	refill  float64
	mode    string
	latency time.Duration
	groups  int
	reserve float64
}

// The tenants of Auth0's plans (auth0-api-facts.md §3): Free 2/2 per second,
// Enterprise production 50 burst / 16 per second, and a fast 50/200 bucket.
// Sizes keep each row to about 10 to 25 seconds of tenant time.
var benchTenants = func() []benchTenant {
	var rows []benchTenant
	for _, base := range []benchTenant{
		{name: "free-2x2", bucket: 2, refill: 2, groups: 100},
		{name: "enterprise-50x16", bucket: 50, refill: 16, groups: 400},
		{name: "fast-50x200", bucket: 50, refill: 200, groups: 2000},
	} {
		for _, mode := range []string{sandbox.RefillContinuous, sandbox.RefillStep} {
			for _, lat := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond} {
				r := base
				r.mode, r.latency = mode, lat
				r.name = fmt.Sprintf("%s-%s-%dms", base.name, mode, lat.Milliseconds())
				rows = append(rows, r)
			}
		}
	}
	reserve := benchTenant{name: "enterprise-50x16-continuous-20ms-reserve20", bucket: 50, refill: 16, mode: sandbox.RefillContinuous, latency: 20 * time.Millisecond, groups: 400, reserve: 0.20}
	return append(rows, reserve)
}()

// remainingLog records every x-ratelimit-remaining the client sees, to check
// what --reserve leaves to the tenant's other clients.
type remainingLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []remainingAt
}

type remainingAt struct {
	at        time.Time
	remaining int
}

func (l *remainingLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err == nil {
		if v, perr := strconv.Atoi(resp.Header.Get("x-ratelimit-remaining")); perr == nil {
			l.mu.Lock()
			l.seen = append(l.seen, remainingAt{time.Now(), v})
			l.mu.Unlock()
		}
	}
	return resp, err
}

// BenchmarkApplyPacing runs real removals through the executor, with default
// settings, against the sandbox for each tenant of the table and reports how
// close the run came to the tenant's limit: ideal is the time the bucket
// allows ((N − usable burst) / refill, plus one round trip), ratio is achieved over
// ideal, and 429-% the share of requests the tenant refused.
func BenchmarkApplyPacing(b *testing.B) {
	for _, bt := range benchTenants {
		b.Run(bt.name, func(b *testing.B) {
			for b.Loop() {
				runPacingBench(b, bt)
			}
		})
	}
}

func runPacingBench(b *testing.B, bt benchTenant) {
	tn := sandbox.New(sandbox.Options{Bucket: bt.bucket, Refill: bt.refill, RefillMode: bt.mode, Latency: bt.latency})
	tn.AddRole(roleA, "A")
	tn.AddRole(survivor, "Survivor")
	rows := make([]input.Row, bt.groups)
	for i := range rows {
		u := fmt.Sprintf("auth0|bench%06d", i)
		tn.AddUser(u, "", roleA, survivor)
		rows[i] = input.Row{Line: i + 2, UserID: u, RoleID: roleA}
	}
	srv := httptest.NewServer(tn)
	defer srv.Close()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	log := &remainingLog{next: transport}
	client, err := management.New(management.Config{Domain: srv.URL, APIToken: tn.Token(), HTTPClient: &http.Client{Transport: log}})
	if err != nil {
		b.Fatal(err)
	}
	p := buildPlan(&input.Source{Rows: rows})
	results := p.Outcomes(report.Skipped, report.Failed)
	x := &Executor{API: client, Pacer: pacer.New(pacer.Config{MaxRetries: 5, Reserve: bt.reserve}), Concurrency: DefaultConcurrency}

	start := time.Now()
	if err := x.Execute(context.Background(), p, results, nil); err != nil {
		b.Fatal(err)
	}
	achieved := time.Since(start).Seconds()
	for i, r := range results {
		if r.Status != report.Removed {
			b.Fatalf("result %d: %+v", i, r)
		}
	}
	// A reserve leaves part of the first burst unused, too. A stepped bucket
	// is topped up once a second and never holds more than its limit, so it
	// cannot deliver more than its limit per second, whatever its refill.
	burst := float64(bt.bucket) * (1 - bt.reserve)
	rate := bt.refill
	if bt.mode == sandbox.RefillStep {
		rate = min(rate, float64(bt.bucket))
	}
	ideal := max(float64(bt.groups)-burst, 0)/rate + bt.latency.Seconds()
	st := tn.Stats()
	b.ReportMetric(float64(bt.groups), "N")
	b.ReportMetric(ideal, "ideal-s")
	b.ReportMetric(achieved, "achieved-s")
	b.ReportMetric(achieved/ideal, "ratio")
	b.ReportMetric(100*float64(st.RateLimited)/float64(max(st.Total, 1)), "429-%")
	if bt.reserve > 0 {
		lowest := bt.bucket
		for _, s := range log.seen {
			if s.at.Sub(start) > time.Second {
				lowest = min(lowest, s.remaining)
			}
		}
		b.ReportMetric(100*float64(lowest)/float64(bt.bucket), "min-remaining-%")
	}
}
