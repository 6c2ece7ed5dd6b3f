package pacer

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/sandbox"
)

// pacingRow is one row of the real-time pacing benchmark: a sandbox tenant's
// bucket, the run(s) against it, and any neighbour sharing the bucket.
type pacingRow struct {
	name      string
	bucket    int
	refill    float64 // tokens per second
	step      bool
	period    time.Duration // step period (default 1s)
	latency   time.Duration
	removals  int // per instance
	instances int
	neighbour float64 // another client's requests per second (30% of the refill)
}

// usable is the refill and first burst left to the run by the reserve
// (--reserve 20: 20% of the bucket rounded to whole tokens, see
// reserveOf) and the neighbour. A stepped bucket holds at most its limit,
// so it cannot deliver more than (bucket − reserve)/period a second,
// whatever its refill.
func (r pacingRow) usable(reserve float64) (rate, burst float64) {
	rate = r.refill
	kept := reserveOf(reserve, r.bucket)
	if r.step {
		// A step that fills the bucket tops it up to the limit: what the
		// reserve keeps back is taken from every such step.
		period := r.period
		if period == 0 {
			period = time.Second
		}
		rate = math.Min(rate, (float64(r.bucket)-kept)/period.Seconds())
	}
	return rate - r.neighbour, float64(r.bucket) - kept
}

// pacingRows: issue 12's cases, then the rows of the v0.1 benchmark. Sizes
// keep each row to 10 to 40 seconds; together about six minutes.
var pacingRows = []pacingRow{
	{name: "two-instances-50x16-continuous-20ms", bucket: 50, refill: 16, latency: 20 * time.Millisecond, removals: 200, instances: 2},
	{name: "two-instances-50x16-step-20ms", bucket: 50, refill: 16, step: true, latency: 20 * time.Millisecond, removals: 200, instances: 2},
	{name: "off-grid-50-24per1.5s-20ms", bucket: 50, refill: 16, step: true, period: 1500 * time.Millisecond, latency: 20 * time.Millisecond, removals: 400},
	{name: "per-minute-10x150pm-step-20ms", bucket: 10, refill: 2.5, step: true, latency: 20 * time.Millisecond, removals: 100},
	{name: "neighbour30-50x16-continuous-20ms", bucket: 50, refill: 16, latency: 20 * time.Millisecond, removals: 400, neighbour: 4.8},
	{name: "neighbour30-50x16-step-20ms", bucket: 50, refill: 16, step: true, latency: 20 * time.Millisecond, removals: 400, neighbour: 4.8},
	{name: "free-2x2-continuous-20ms", bucket: 2, refill: 2, latency: 20 * time.Millisecond, removals: 60},
	{name: "enterprise-50x16-continuous-20ms", bucket: 50, refill: 16, latency: 20 * time.Millisecond, removals: 400},
	{name: "enterprise-50x16-continuous-200ms", bucket: 50, refill: 16, latency: 200 * time.Millisecond, removals: 400},
	{name: "enterprise-50x16-step-20ms", bucket: 50, refill: 16, step: true, latency: 20 * time.Millisecond, removals: 400},
	{name: "fast-50x200-continuous-20ms", bucket: 50, refill: 200, latency: 20 * time.Millisecond, removals: 2000},
	{name: "fast-50x200-step-200ms", bucket: 50, refill: 200, step: true, latency: 200 * time.Millisecond, removals: 600},
}

// BenchmarkPacing runs real removals (DELETE /users/{id}/roles) through the
// real management client and the pacer, with the CLI's defaults (--reserve
// 20, --concurrency 64, --max-retries 5), against the sandbox on loopback,
// in real time. ideal-s is (N − usable burst) / usable refill plus one
// round trip; ratio is achieved over ideal; 429-% the share of the run's
// requests answered 429; neighbour-429 the 429s the neighbour got.
func BenchmarkPacing(b *testing.B) {
	for _, row := range pacingRows {
		b.Run(row.name, func(b *testing.B) {
			for b.Loop() {
				runPacingRow(b, row)
			}
		})
	}
}

func runPacingRow(b *testing.B, row pacingRow) {
	const reserve, workers = 0.2, 64
	mode := sandbox.RefillContinuous
	if row.step {
		mode = sandbox.RefillStep
	}
	tn := sandbox.New(sandbox.Options{Bucket: row.bucket, Refill: row.refill, RefillMode: mode, StepPeriod: row.period, Latency: row.latency})
	tn.AddRole("rol_bench", "Bench")
	instances := max(row.instances, 1)
	srv := httptest.NewServer(tn)
	defer srv.Close()
	newClient := func() *management.Client {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 256
		c, err := management.New(management.Config{Domain: srv.URL, APIToken: tn.Token(), HTTPClient: &http.Client{Transport: transport}})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	users := make([][]string, instances)
	for i := range users {
		for j := range row.removals {
			u := fmt.Sprintf("auth0|bench%d-%06d", i, j)
			tn.AddUser(u, "", "rol_bench")
			users[i] = append(users[i], u)
		}
	}

	var ours, ours429, failed atomic.Int64
	var neighbourSent, neighbour429 atomic.Int64
	stopNeighbour := make(chan struct{})
	var nwg sync.WaitGroup
	if row.neighbour > 0 {
		nc := newClient()
		nwg.Add(1)
		go func() {
			defer nwg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / row.neighbour))
			defer tick.Stop()
			for {
				select {
				case <-stopNeighbour:
					return
				case <-tick.C:
				}
				// Each request on its own: the neighbour keeps its pace
				// whatever the latency.
				nwg.Add(1)
				go func() {
					defer nwg.Done()
					_, resp, _ := nc.Roles(context.Background(), "", 0, 1)
					neighbourSent.Add(1)
					if resp.StatusCode == http.StatusTooManyRequests {
						neighbour429.Add(1)
					}
				}()
			}
		}()
	}

	start := time.Now()
	var wg sync.WaitGroup
	for i := range instances {
		client := newClient()
		p := New(Config{MaxRetries: 5, Reserve: reserve})
		jobs := make(chan string)
		go func() {
			for _, u := range users[i] {
				jobs <- u
			}
			close(jobs)
		}()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for u := range jobs {
					out := p.Call(context.Background(), func(ctx context.Context) (management.Response, error) {
						resp, err := client.RemoveUserRoles(ctx, u, []string{"rol_bench"})
						ours.Add(1)
						if resp.StatusCode == http.StatusTooManyRequests {
							ours429.Add(1)
						}
						return resp, err
					})
					if out.Err != nil {
						failed.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	achieved := time.Since(start).Seconds()
	close(stopNeighbour)
	nwg.Wait()
	if n := failed.Load(); n > 0 {
		b.Errorf("%d removals failed", n)
	}
	rate, burst := row.usable(reserve)
	ideal := (float64(row.removals*instances)-burst)/rate + row.latency.Seconds()
	b.ReportMetric(float64(row.removals*instances), "N")
	b.ReportMetric(ideal, "ideal-s")
	b.ReportMetric(achieved, "achieved-s")
	b.ReportMetric(achieved/ideal, "ratio")
	b.ReportMetric(100*float64(ours429.Load())/float64(max(ours.Load(), 1)), "429-%")
	if row.neighbour > 0 {
		b.ReportMetric(float64(neighbourSent.Load()), "neighbour-requests")
		b.ReportMetric(float64(neighbour429.Load()), "neighbour-429")
	}
}
