package pacer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rolesweep/rolesweep/management"
)

// simBucket is a small model of an Auth0 tenant's rate limiter: a token bucket
// of limit tokens refilled at refill tokens per second, either continuously or
// in steps at every whole Unix second, answering each request with Auth0's
// x-ratelimit-* headers (and a 429 when no token is left). Time is whatever
// time.Now says: inside a synctest bubble, simulated time.
type simBucket struct {
	limit  int
	refill float64
	step   bool
	// resetCeil makes a continuous bucket report the next token's second
	// rounded up instead of down (Auth0's rounding is not documented).
	resetCeil bool

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	served  []served
	limited int
}

type served struct {
	at        time.Time
	ok        bool
	remaining int
	reset     time.Time
}

func newSimBucket(limit int, refill float64, step bool, now time.Time) *simBucket {
	return &simBucket{limit: limit, refill: refill, step: step, tokens: float64(limit), last: now}
}

func (s *simBucket) advance(now time.Time) {
	if s.step {
		boundaries := now.Unix() - s.last.Unix()
		if boundaries > 0 {
			s.tokens = math.Min(float64(s.limit), s.tokens+s.refill*float64(boundaries))
		}
	} else {
		s.tokens = math.Min(float64(s.limit), s.tokens+s.refill*now.Sub(s.last).Seconds())
	}
	s.last = now
}

// serve takes a token for one request arriving now.
func (s *simBucket) serve(now time.Time) management.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(now)
	ok := s.tokens >= 1
	if ok {
		s.tokens--
	} else {
		s.limited++
	}
	remaining := int(math.Floor(s.tokens + 1e-9))
	var reset time.Time
	switch {
	case s.step:
		reset = time.Unix(now.Unix()+1, 0)
	case s.tokens >= float64(s.limit):
		reset = time.Unix(now.Unix(), 0)
	default:
		next := now.Add(time.Duration((float64(remaining+1) - s.tokens) / s.refill * 1e9))
		if s.resetCeil && next.Nanosecond() != 0 {
			reset = time.Unix(next.Unix()+1, 0)
		} else {
			reset = time.Unix(next.Unix(), 0)
		}
	}
	s.served = append(s.served, served{at: now, ok: ok, remaining: remaining, reset: reset})
	resp := management.Response{StatusCode: 204, RateLimit: management.RateLimit{
		Present: true, Limit: s.limit, Remaining: remaining, Reset: reset,
	}}
	if !ok {
		resp.StatusCode = 429
	}
	return resp
}

// simLink is the network between the workers and the simulated tenant: each
// way takes half the round trip, give or take jitter (a share of it).
type simLink struct {
	rtt    time.Duration
	jitter float64
	mu     sync.Mutex
	rng    *rand.Rand
}

func (l *simLink) oneWay() time.Duration {
	l.mu.Lock()
	u := l.rng.Float64()*2 - 1
	l.mu.Unlock()
	return time.Duration(float64(l.rtt) / 2 * (1 + l.jitter*u))
}

type scenario struct {
	name      string
	limit     int
	refill    float64
	step      bool
	resetCeil bool
	rtt       time.Duration
	workers   int
	requests  int
	cfg       Config
	trace     bool
}

type simResult struct {
	elapsed   time.Duration
	ideal     time.Duration
	attempts  int
	limited   int
	failed    int
	served    []served
	stats     Stats
	sends     []time.Time // when each attempt left the worker
	answers   []answerRec // 429 answers as the workers saw them
	startedAt time.Time
}

type answerRec struct {
	at    time.Time
	reset time.Time
}

func (r simResult) ratio() float64 { return r.elapsed.Seconds() / r.ideal.Seconds() }

// lowestAfter is the lowest remaining the tenant reported after the given
// time into the run.
func (r simResult) lowestAfter(d time.Duration) int {
	low := math.MaxInt
	for _, s := range r.served {
		if s.at.Sub(r.startedAt) >= d {
			low = min(low, s.remaining)
		}
	}
	return low
}
func (r simResult) share429() float64 {
	if r.attempts == 0 {
		return 0
	}
	return float64(r.limited) / float64(r.attempts)
}

// runScenario pushes sc.requests Calls through one Pacer from sc.workers
// goroutines against a simulated bucket, all in simulated time.
func runScenario(t *testing.T, sc scenario) simResult {
	t.Helper()
	var res simResult
	synctest.Test(t, func(t *testing.T) {
		// Start off the whole second, as a real run would.
		time.Sleep(370 * time.Millisecond)
		start := time.Now()
		tenant := newSimBucket(sc.limit, sc.refill, sc.step, start)
		tenant.resetCeil = sc.resetCeil
		link := &simLink{rtt: sc.rtt, jitter: 0.2, rng: rand.New(rand.NewPCG(7, 11))}
		cfg := sc.cfg
		if cfg.Seed == 0 {
			cfg.Seed = 1
		}
		if cfg.MaxRetries == 0 {
			cfg.MaxRetries = 5
		}
		p := New(cfg)
		if sc.trace {
			p.trace = func(now float64, seq int64, resp management.Response, b *bucket) {
				fmt.Printf("t=%8.3f seq=%4d st=%d rem=%2d reset=%d | anchor=%d unseen=%.0f open=%d rate=%.2f per=%.1f step=%v cont=%v votes=%.1f runs=%d ow=%.3f\n",
					now-unix(start), seq, resp.StatusCode, resp.RateLimit.Remaining, resp.RateLimit.Reset.Unix()-start.Unix(),
					b.anchor.seq, b.unseen(), len(b.open), b.rate, b.perSecond, b.stepMode, b.contMode, b.stepVotes, len(b.runs), b.oneWay)
			}
		}
		var mu sync.Mutex
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range sc.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					out := p.Call(context.Background(), func(ctx context.Context) (management.Response, error) {
						mu.Lock()
						res.sends = append(res.sends, time.Now())
						mu.Unlock()
						time.Sleep(link.oneWay())
						resp := tenant.serve(time.Now())
						time.Sleep(link.oneWay())
						if resp.StatusCode == 429 {
							mu.Lock()
							res.answers = append(res.answers, answerRec{at: time.Now(), reset: resp.RateLimit.Reset})
							mu.Unlock()
							return resp, &management.APIError{StatusCode: 429, ErrorText: "Too Many Requests", Response: resp}
						}
						return resp, nil
					})
					if out.Err != nil {
						mu.Lock()
						res.failed++
						mu.Unlock()
					}
				}
			}()
		}
		for i := range sc.requests {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		res.elapsed = time.Since(start)
		res.startedAt = start
		rate := sc.refill
		if sc.step {
			rate = math.Min(rate, float64(sc.limit))
		}
		res.ideal = time.Duration(float64(sc.requests-sc.limit) / rate * 1e9)
		res.served = tenant.served
		res.attempts = len(tenant.served)
		res.limited = tenant.limited
		res.stats = p.Stats()
	})
	return res
}

var tenants = []struct {
	name   string
	limit  int
	refill float64
}{
	{"free-2/2", 2, 2},
	{"enterprise-50/16", 50, 16},
	{"fast-50/200", 50, 200},
}

func TestSimExplore(t *testing.T) {
	if os.Getenv("PACER_EXPLORE") == "" {
		t.Skip("set PACER_EXPLORE=runs to print the simulated numbers")
	}
	runs, _ := strconv.Atoi(os.Getenv("PACER_EXPLORE"))
	runs = max(runs, 1)
	for _, tn := range tenants {
		for _, step := range []bool{false, true} {
			for _, rtt := range []time.Duration{20 * time.Millisecond, 250 * time.Millisecond} {
				workers := 32
				if tn.refill*rtt.Seconds() > 16 {
					workers = 64
				}
				sc := scenario{limit: tn.limit, refill: tn.refill, step: step, rtt: rtt, workers: workers, requests: 2000}
				worstRatio, worst429 := 0.0, 0.0
				bestRatio := math.Inf(1)
				for range runs {
					r := runScenario(t, sc)
					worstRatio = math.Max(worstRatio, r.ratio())
					bestRatio = math.Min(bestRatio, r.ratio())
					worst429 = math.Max(worst429, r.share429())
				}
				mode := "cont"
				if step {
					mode = "step"
				}
				fmt.Printf("%-18s %-4s rtt=%3dms  ratio %.3f..%.3f  429 ≤ %.2f%%\n", tn.name, mode, rtt.Milliseconds(), bestRatio, worstRatio, 100*worst429)
			}
		}
	}
}

func TestSimExploreMore(t *testing.T) {
	if os.Getenv("PACER_EXPLORE") == "" {
		t.Skip("set PACER_EXPLORE=runs to print the simulated numbers")
	}
	runs, _ := strconv.Atoi(os.Getenv("PACER_EXPLORE"))
	runs = max(runs, 1)
	type variant struct {
		name string
		sc   scenario
	}
	var vs []variant
	for _, tn := range tenants {
		for _, step := range []bool{false, true} {
			for _, rtt := range []time.Duration{20 * time.Millisecond, 250 * time.Millisecond} {
				mode := "cont"
				if step {
					mode = "step"
				}
				workers := 32
				if tn.refill*rtt.Seconds() > 16 {
					workers = 64
				}
				base := scenario{limit: tn.limit, refill: tn.refill, step: step, rtt: rtt, workers: workers, requests: 2000}
				r := base
				r.cfg.Reserve = 0.2
				vs = append(vs, variant{fmt.Sprintf("%s %s %dms reserve", tn.name, mode, rtt.Milliseconds()), r})
				if !step {
					c := base
					c.resetCeil = true
					vs = append(vs, variant{fmt.Sprintf("%s %s %dms ceil", tn.name, mode, rtt.Milliseconds()), c})
				}
				if tn.refill*rtt.Seconds() <= 16 {
					w := base
					w.workers = 16
					vs = append(vs, variant{fmt.Sprintf("%s %s %dms 16w", tn.name, mode, rtt.Milliseconds()), w})
				}
			}
		}
	}
	for _, v := range vs {
		worstRatio, worst429 := 0.0, 0.0
		bestRatio := math.Inf(1)
		low := math.MaxInt
		for range runs {
			r := runScenario(t, v.sc)
			worstRatio = math.Max(worstRatio, r.ratio())
			bestRatio = math.Min(bestRatio, r.ratio())
			worst429 = math.Max(worst429, r.share429())
			low = min(low, r.lowestAfter(time.Second))
		}
		fmt.Printf("%-36s ratio %.3f..%.3f  429 ≤ %.2f%%  lowest remaining after 1s %d\n", v.name, bestRatio, worstRatio, 100*worst429, low)
	}
}

func TestSimOne(t *testing.T) {
	sc := scenario{limit: 50, refill: 200, rtt: 250 * time.Millisecond, workers: 64, requests: 2000, trace: true, cfg: Config{Reserve: 0.2}}
	r := runScenario(t, sc)
	fmt.Printf("ratio=%.3f 429=%.2f%% learned=%.2f\n", r.ratio(), 100*r.share429(), r.stats.LearnedRate)
}
