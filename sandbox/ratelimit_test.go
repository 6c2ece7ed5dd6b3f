package sandbox

import (
	"bufio"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type rateStep struct {
	advance   time.Duration // before the request
	status    int
	remaining int
	reset     int64 // seconds after t0
}

// runRateSteps sends GET /api/v2/roles at each step and checks the status and
// the three headers exactly.
func runRateSteps(t *testing.T, opts Options, start time.Time, steps []rateStep) *Tenant {
	t.Helper()
	clock := newFakeClock(start)
	opts.Clock = clock
	tn, srv := newServer(t, opts)
	for i, s := range steps {
		clock.Advance(s.advance)
		a := request(t, srv, "GET", "/api/v2/roles", tn.Token(), "")
		got := fmt.Sprintf("%d limit=%s remaining=%s reset=%s", a.status,
			a.header.Get("X-Ratelimit-Limit"), a.header.Get("X-Ratelimit-Remaining"), a.header.Get("X-Ratelimit-Reset"))
		want := fmt.Sprintf("%d limit=%d remaining=%d reset=%d", s.status, opts.Bucket, s.remaining, t0.Unix()+s.reset)
		if got != want {
			t.Fatalf("step %d (at %s): got %s, want %s", i, clock.Now().Sub(t0), got, want)
		}
		if s.status == 429 {
			a.expect(t, 429, `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`)
		}
	}
	return tn
}

func TestBucketContinuous(t *testing.T) {
	tn := runRateSteps(t, Options{Bucket: 3, Refill: 1}, t0, []rateStep{
		{0, 200, 2, 1}, // 3 → 2; the third token comes back at t0+1
		{0, 200, 1, 1},
		{0, 200, 0, 1},
		{0, 429, 0, 1}, // empty: 429, nothing taken
		{0, 429, 0, 1},
		{500 * time.Millisecond, 429, 0, 1}, // 0.5 tokens; the whole one at t0+1
		{500 * time.Millisecond, 200, 0, 2}, // t0+1: one token, taken; next at t0+2
		{250 * time.Millisecond, 429, 0, 2}, // t0+1.25: 0.25
		{10 * time.Second, 200, 2, 13},      // t0+11.25: full (capped at 3) → 2; next whole at t0+12.25 → 13
		{100 * time.Millisecond, 200, 1, 13},
	})
	if s := tn.Stats(); s.RateLimited != 4 || s.Requests["GET /api/v2/roles"][429] != 4 || s.Requests["GET /api/v2/roles"][200] != 6 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestBucketContinuousFractionalRefill(t *testing.T) {
	// Enterprise production: burst 50, 16/second. Drain, then watch 1/16 s refills.
	var steps []rateStep
	for i := range 50 {
		steps = append(steps, rateStep{0, 200, 49 - i, 1})
	}
	steps = append(steps,
		rateStep{0, 429, 0, 1},
		// t0+0.0625: one token, taken; the next one at t0+0.125 → t0+1.
		rateStep{62500 * time.Microsecond, 200, 0, 1},
		// t0+1: 0.9375 s × 16 = 15 tokens, one taken → 14; the 15th whole
		// token arrives at t0+1.0625 → t0+2.
		rateStep{937500 * time.Microsecond, 200, 14, 2},
	)
	runRateSteps(t, Options{Bucket: 50, Refill: 16}, t0, steps)
}

func TestBucketTruncatedReset(t *testing.T) {
	// With TruncateReset the next refill's own second is reported, which can
	// be the current second (what Auth0 was seen to send).
	runRateSteps(t, Options{Bucket: 2, Refill: 4, TruncateReset: true}, t0.Add(100*time.Millisecond), []rateStep{
		{0, 200, 1, 0}, // next whole token at t0+0.35 → truncated to t0
		{0, 200, 0, 0},
		{0, 429, 0, 0},
		{900 * time.Millisecond, 200, 1, 1}, // t0+1.0: full (2), one taken; next at t0+1.25 → t0+1
	})
}

func TestBucketStep(t *testing.T) {
	// Starting mid-second: refills come only at whole-second boundaries.
	runRateSteps(t, Options{Bucket: 2, Refill: 2, RefillMode: RefillStep}, t0.Add(250*time.Millisecond), []rateStep{
		{0, 200, 1, 1},
		{0, 200, 0, 1},
		{0, 429, 0, 1},
		{500 * time.Millisecond, 429, 0, 1}, // t0+0.75: same second, still empty
		{250 * time.Millisecond, 200, 1, 2}, // t0+1.0: +2, one taken
		{999 * time.Millisecond, 200, 0, 2}, // t0+1.999
		{0, 429, 0, 2},
		{3 * time.Second, 200, 1, 5}, // t0+4.999: +6 capped at 2
	})
}

func TestBucketStepSlowRefill(t *testing.T) {
	runRateSteps(t, Options{Bucket: 3, Refill: 1, RefillMode: RefillStep}, t0, []rateStep{
		{0, 200, 2, 1},
		{0, 200, 1, 1},
		{0, 200, 0, 1},
		{0, 429, 0, 1},
		{time.Second, 200, 0, 2}, // +1 at t0+1
		{0, 429, 0, 2},
		{2 * time.Second, 200, 1, 4}, // +2 at t0+3
	})
}

func TestBucketDefaultsAndHeaders(t *testing.T) {
	// Refill defaults to Bucket per second.
	runRateSteps(t, Options{Bucket: 2}, t0, []rateStep{
		{0, 200, 1, 1},
		{0, 200, 0, 1},
		{0, 429, 0, 1},
		{500 * time.Millisecond, 200, 0, 1},
	})

	// Bucket 0: no limit and no headers.
	tn, srv := newServer(t, Options{})
	for range 20 {
		a := request(t, srv, "GET", "/api/v2/roles", tn.Token(), "")
		a.expectStatus(t, 200)
		if a.header.Get("X-Ratelimit-Limit") != "" || a.header.Get("X-Ratelimit-Remaining") != "" || a.header.Get("X-Ratelimit-Reset") != "" {
			t.Fatalf("headers without a bucket: %v", a.header)
		}
	}
}

func TestRateLimitHeadersOnEveryAPIAnswer(t *testing.T) {
	tn, srv := newServer(t, Options{Bucket: 10, Refill: 1})
	check := func(a answer, remaining string) {
		t.Helper()
		if a.header.Get("X-Ratelimit-Limit") != "10" || a.header.Get("X-Ratelimit-Remaining") != remaining {
			t.Fatalf("%d %s: headers %v", a.status, a.body, a.header)
		}
	}
	check(request(t, srv, "GET", "/api/v2/users/auth0%7Cx/roles", tn.Token(), ""), "9") // 404
	check(request(t, srv, "GET", "/api/v2/roles", "bad", ""), "8")                      // 401
	check(request(t, srv, "GET", "/api/v2/nowhere", tn.Token(), ""), "7")               // 404 route
	check(request(t, srv, "DELETE", "/api/v2/users/auth0%7Cx/roles", tn.Token(), "{"), "6")
	// The wire spelling is lower case, as Auth0 sends it.
	raw := rawHeaderNames(t, srv)
	if !raw["x-ratelimit-limit"] || !raw["x-ratelimit-remaining"] || !raw["x-ratelimit-reset"] {
		t.Fatalf("header names on the wire: %v", raw)
	}
}

// rawHeaderNames reads the header names of one answer as written.
func rawHeaderNames(t *testing.T, srv *httptest.Server) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v2/roles HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	rd := bufio.NewReader(conn)
	if _, err := rd.ReadString('\n'); err != nil { // status line
		t.Fatal(err)
	}
	for {
		line, err := rd.ReadString('\n')
		if err != nil || strings.TrimSpace(line) == "" {
			return names
		}
		if name, _, ok := strings.Cut(line, ":"); ok {
			names[name] = true
		}
	}
}

func TestBucketUnit(t *testing.T) {
	b := newBucket(bucketConfig{limit: 5, refill: 2}, t0)
	if got := b.resetAt(t0.Add(300 * time.Millisecond)).Unix(); got != t0.Unix() {
		t.Fatalf("full bucket reset = %d, want the current second %d", got, t0.Unix())
	}
	d := b.take(t0.Add(300 * time.Millisecond))
	if !d.allowed || d.remaining != 4 || d.reset != t0.Unix()+1 { // next token at t0+0.8
		t.Fatalf("take = %+v", d)
	}
	// A clock that goes backwards refills nothing.
	d = b.take(t0)
	if !d.allowed || d.remaining != 3 {
		t.Fatalf("take after backwards clock = %+v", d)
	}
}
