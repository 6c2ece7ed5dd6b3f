package pacer

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rolesweep/rolesweep/management"
)

// manualClock is simulated time for tests that call the pacer from one
// goroutine: Sleep moves time forward at once and records how long it was
// asked to wait. Nothing ever really sleeps, and every run is the same.
type manualClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 11, 27, 10, 0, 0, 300e6, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return nil
}

// sleptTotal is the simulated time spent sleeping.
func (c *manualClock) sleptTotal() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var total time.Duration
	for _, d := range c.slept {
		total += d
	}
	return total
}

// headers makes a Response carrying Auth0's rate-limit headers.
func headers(status, limit, remaining int, reset time.Time) management.Response {
	return management.Response{StatusCode: status, RateLimit: management.RateLimit{
		Present: true, Limit: limit, Remaining: remaining, Reset: time.Unix(reset.Unix(), 0),
	}}
}

func apiError(resp management.Response) error {
	return &management.APIError{StatusCode: resp.StatusCode, ErrorText: "error", Response: resp}
}

// script answers the attempts of one Call in turn, recording when each began.
type script struct {
	clock   Clock
	answers []func(now time.Time) (management.Response, error)
	starts  []time.Time
}

func (s *script) attempt(ctx context.Context) (management.Response, error) {
	now := s.clock.Now()
	s.starts = append(s.starts, now)
	i := min(len(s.starts), len(s.answers)) - 1
	return s.answers[i](now)
}

func status(code int) func(time.Time) (management.Response, error) {
	return func(time.Time) (management.Response, error) {
		resp := management.Response{StatusCode: code}
		if code >= 300 {
			return resp, apiError(resp)
		}
		return resp, nil
	}
}

func TestSuccessFirstTime(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 5, Seed: 1})
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){status(204)}}
	out := p.Call(context.Background(), s.attempt)
	if out.Err != nil || out.Class != Success || out.Attempts != 1 || out.RateLimited != 0 || out.Response.StatusCode != 204 {
		t.Fatalf("Outcome = %+v, want a success in one attempt", out)
	}
	if st := p.Stats(); st.Requests != 1 || st.Retries != 0 || st.RateLimited != 0 || p.maxInFlight != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestRetryableIsRetriedWithBackoffUntilMaxRetries(t *testing.T) {
	clock := newManualClock()
	cfg := Config{Clock: clock, MaxRetries: 4, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Seed: 7}
	p := New(cfg)
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){status(503)}}
	out := p.Call(context.Background(), s.attempt)

	if out.Attempts != cfg.MaxRetries+1 || out.Class != Retryable || out.Response.StatusCode != 503 {
		t.Fatalf("Outcome = %+v, want %d attempts ending Retryable with the 503", out, cfg.MaxRetries+1)
	}
	var apiErr *management.APIError
	if !errors.As(out.Err, &apiErr) || apiErr.StatusCode != 503 {
		t.Errorf("Err = %v, want the last 503", out.Err)
	}
	// Full jitter: each wait is somewhere in [0, min(MaxBackoff, Base·2^n)].
	for i := 1; i < len(s.starts); i++ {
		wait := s.starts[i].Sub(s.starts[i-1])
		ceiling := min(cfg.MaxBackoff, cfg.BaseBackoff<<(i-1))
		if wait < 0 || wait > ceiling {
			t.Errorf("wait before attempt %d = %v, want within [0, %v]", i+1, wait, ceiling)
		}
	}
	if st := p.Stats(); st.Requests != 5 || st.Retries != 4 {
		t.Errorf("Stats = %+v, want 5 requests, 4 retries", st)
	}
}

func TestBackoffIsDeterministicForASeed(t *testing.T) {
	waits := func() []time.Duration {
		clock := newManualClock()
		p := New(Config{Clock: clock, MaxRetries: 3, Seed: 42})
		s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){status(500)}}
		p.Call(context.Background(), s.attempt)
		var w []time.Duration
		for i := 1; i < len(s.starts); i++ {
			w = append(w, s.starts[i].Sub(s.starts[i-1]))
		}
		return w
	}
	a, b := waits(), waits()
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("waits = %v, %v", a, b)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("wait %d: %v then %v with the same seed", i, a[i], b[i])
		}
	}
}

func TestRetryAfterOn503IsHonoured(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 2, BaseBackoff: 10 * time.Millisecond, Seed: 1})
	busy := func(time.Time) (management.Response, error) {
		resp := management.Response{StatusCode: 503, RetryAfter: 7 * time.Second}
		return resp, apiError(resp)
	}
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){busy, status(204)}}
	out := p.Call(context.Background(), s.attempt)
	if out.Class != Success || out.Attempts != 2 {
		t.Fatalf("Outcome = %+v", out)
	}
	if wait := s.starts[1].Sub(s.starts[0]); wait < 7*time.Second {
		t.Errorf("retried after %v, before Retry-After 7s", wait)
	}
}

func TestNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{"400", &management.APIError{StatusCode: 400}, Permanent},
		{"404", &management.APIError{StatusCode: 404}, Permanent},
		{"401", &management.APIError{StatusCode: 401}, Auth},
		{"403", &management.APIError{StatusCode: 403}, Auth},
		{"token 401", &management.TokenError{StatusCode: 401, ErrorCode: "invalid_client"}, Auth},
		{"invalid argument", management.ErrInvalidArgument, Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newManualClock()
			p := New(Config{Clock: clock, MaxRetries: 5, Seed: 1})
			calls := 0
			out := p.Call(context.Background(), func(context.Context) (management.Response, error) {
				calls++
				return management.Response{StatusCode: 400}, tc.err
			})
			if calls != 1 || out.Attempts != 1 || out.Class != tc.want || !errors.Is(out.Err, tc.err) {
				t.Errorf("Outcome = %+v after %d calls, want one attempt, class %v", out, calls, tc.want)
			}
		})
	}
}

func TestRateLimitedPausesUntilReset(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 5, Seed: 1})
	reset := clock.Now().Add(3 * time.Second).Truncate(time.Second)
	limited := func(time.Time) (management.Response, error) {
		resp := headers(429, 10, 0, reset)
		return resp, apiError(resp)
	}
	ok := func(now time.Time) (management.Response, error) {
		return headers(204, 10, 9, now.Add(time.Second)), nil
	}
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){limited, ok}}
	out := p.Call(context.Background(), s.attempt)
	if out.Class != Success || out.Attempts != 2 || out.RateLimited != 1 {
		t.Fatalf("Outcome = %+v, want success on the second attempt after one 429", out)
	}
	if s.starts[1].Before(reset) {
		t.Errorf("retried at %v, before the reset %v", s.starts[1], reset)
	}
	if st := p.Stats(); st.RateLimited != 1 || st.Retries != 1 || p.b.limit != 10 || p.b.anchor.rem != 9 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestRateLimitedWithResetPastWaitsMinWaitPlusJitter(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		clock := newManualClock()
		p := New(Config{Clock: clock, MaxRetries: 1, MinWait: time.Second, Seed: seed})
		limited := func(now time.Time) (management.Response, error) {
			resp := headers(429, 10, 0, now) // the reset names the current second
			return resp, apiError(resp)
		}
		s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){limited, status(204)}}
		p.Call(context.Background(), s.attempt)
		if wait := s.starts[1].Sub(s.starts[0]); wait < time.Second || wait > time.Second+pauseJitter {
			t.Errorf("seed %d: paused %v, want between 1s and 1.25s", seed, wait)
		}
	}
}

func TestRateLimitedRetryAfterLongerThanReset(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 1, Seed: 1})
	limited := func(now time.Time) (management.Response, error) {
		resp := headers(429, 10, 0, now.Add(time.Second))
		resp.RetryAfter = 5 * time.Second
		return resp, apiError(resp)
	}
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){limited, status(204)}}
	p.Call(context.Background(), s.attempt)
	if wait := s.starts[1].Sub(s.starts[0]); wait < 5*time.Second {
		t.Errorf("paused %v, want at least Retry-After 5s", wait)
	}
}

func TestRateLimitedWithoutHeadersWaitsMinWait(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 1, MinWait: 2 * time.Second, Seed: 1})
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){status(429), status(204)}}
	out := p.Call(context.Background(), s.attempt)
	if out.Class != Success || out.RateLimited != 1 {
		t.Fatalf("Outcome = %+v", out)
	}
	if wait := s.starts[1].Sub(s.starts[0]); wait < 2*time.Second || wait > 2*time.Second+pauseJitter {
		t.Errorf("paused %v, want MinWait 2s plus up to 250ms", wait)
	}
}

func TestRateLimitedCountsAgainstMaxRetries(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 3, Seed: 1})
	limited := func(now time.Time) (management.Response, error) {
		resp := headers(429, 10, 0, now.Add(time.Second))
		return resp, apiError(resp)
	}
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){limited}}
	out := p.Call(context.Background(), s.attempt)
	if out.Attempts != 4 || out.RateLimited != 4 || out.Class != RateLimited {
		t.Errorf("Outcome = %+v, want 4 attempts all 429, class RateLimited", out)
	}
}

func TestAbsurdResetIsBounded(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 1, Seed: 1})
	limited := func(now time.Time) (management.Response, error) {
		resp := headers(429, 10, 0, now.Add(48*time.Hour))
		return resp, apiError(resp)
	}
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){limited, status(204)}}
	p.Call(context.Background(), s.attempt)
	if wait := s.starts[1].Sub(s.starts[0]); wait > maxPause {
		t.Errorf("paused %v for a reset two days away, want at most %v", wait, maxPause)
	}
}

func TestCanceledBeforeFirstSend(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := p.Call(ctx, func(context.Context) (management.Response, error) {
		t.Fatal("attempt ran after the ctx ended")
		return management.Response{}, nil
	})
	if out.Class != Canceled || out.Attempts != 0 || !errors.Is(out.Err, context.Canceled) {
		t.Errorf("Outcome = %+v, want Canceled with no attempt", out)
	}
}

func TestStoppedBeforeCall(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, Seed: 1})
	p.Stop()
	out := p.Call(context.Background(), func(context.Context) (management.Response, error) {
		t.Fatal("attempt ran after Stop")
		return management.Response{}, nil
	})
	if out.Class != Canceled || out.Attempts != 0 || !errors.Is(out.Err, context.Canceled) {
		t.Errorf("Outcome = %+v, want Canceled with no attempt", out)
	}
}

func TestCallerCanceledDuringAttempt(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 5, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	out := p.Call(ctx, func(actx context.Context) (management.Response, error) {
		cancel() // e.g. an interrupt while the request is on the wire
		<-actx.Done()
		return management.Response{}, actx.Err()
	})
	if out.Class != Canceled || out.Attempts != 1 {
		t.Errorf("Outcome = %+v, want Canceled after the one attempt", out)
	}
}

func TestCallerCanceledDuringBackoffKeepsLastError(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 5, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	out := p.Call(ctx, func(context.Context) (management.Response, error) {
		cancel() // ends before the backoff is over
		resp := management.Response{StatusCode: 500}
		return resp, apiError(resp)
	})
	var apiErr *management.APIError
	if out.Class != Canceled || out.Attempts != 1 || !errors.Is(out.Err, context.Canceled) || !errors.As(out.Err, &apiErr) {
		t.Errorf("Outcome = %+v, want Canceled after one attempt, wrapping both the cancel and the 500", out)
	}
}

func TestAttemptPanicKeepsThePacerUsable(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, Seed: 1})
	func() {
		defer func() { _ = recover() }()
		p.Call(context.Background(), func(context.Context) (management.Response, error) { panic("boom") })
	}()
	// The panicking attempt was the probe: had it stayed "in flight", this
	// Call would wait for its answer for ever.
	out := p.Call(context.Background(), func(context.Context) (management.Response, error) {
		return management.Response{StatusCode: 204}, nil
	})
	if out.Class != Success {
		t.Errorf("Outcome = %+v", out)
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{MaxRetries: 1, AttemptTimeout: time.Second, BaseBackoff: time.Millisecond, Seed: 1})
		out := p.Call(context.Background(), func(ctx context.Context) (management.Response, error) {
			<-ctx.Done() // a tenant that never answers
			return management.Response{}, ctx.Err()
		})
		if out.Class != Retryable || out.Attempts != 2 || !errors.Is(out.Err, context.DeadlineExceeded) {
			t.Errorf("Outcome = %+v, want two timed-out attempts, Retryable", out)
		}
	})
}

func TestCallerDeadlineIsCanceledNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{MaxRetries: 5, AttemptTimeout: time.Minute, Seed: 1})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		out := p.Call(ctx, func(ctx context.Context) (management.Response, error) {
			<-ctx.Done()
			return management.Response{}, ctx.Err()
		})
		if out.Class != Canceled || out.Attempts != 1 {
			t.Errorf("Outcome = %+v, want Canceled after one attempt", out)
		}
	})
}

// waitersOnAPause starts n Calls against a pacer paused by a 429 whose reset
// is an hour away, and returns their outcomes once done is closed.
func waitersOnAPause(t *testing.T, p *Pacer, ctx context.Context, n int) <-chan Outcome {
	t.Helper()
	now := time.Now()
	first := p.Call(context.Background(), func(context.Context) (management.Response, error) {
		resp := headers(429, 10, 0, now.Add(time.Hour))
		return resp, apiError(resp)
	})
	if first.RateLimited != 1 {
		t.Fatalf("setup: %+v", first)
	}
	outs := make(chan Outcome, n)
	for range n {
		go func() {
			outs <- p.Call(ctx, func(context.Context) (management.Response, error) {
				t.Error("attempt sent during the pause")
				return management.Response{StatusCode: 204}, nil
			})
		}()
	}
	synctest.Wait() // all of them are waiting now
	return outs
}

func TestStopReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{MaxRetries: 0, Seed: 1})
		start := time.Now()
		outs := waitersOnAPause(t, p, context.Background(), 8)
		p.Stop()
		for range 8 {
			out := <-outs
			if out.Class != Canceled || out.Attempts != 0 {
				t.Errorf("Outcome = %+v, want Canceled with no attempt", out)
			}
		}
		if waited := time.Since(start); waited > time.Second {
			t.Errorf("waiters took %v to return after Stop", waited)
		}
	})
}

func TestCancelReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{MaxRetries: 0, Seed: 1})
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		outs := waitersOnAPause(t, p, ctx, 8)
		cancel()
		for range 8 {
			out := <-outs
			if out.Class != Canceled || out.Attempts != 0 || !errors.Is(out.Err, context.Canceled) {
				t.Errorf("Outcome = %+v, want Canceled with no attempt", out)
			}
		}
		if waited := time.Since(start); waited > time.Second {
			t.Errorf("waiters took %v to return after the cancel", waited)
		}
	})
}

func TestStopDoesNotInterruptASend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{Seed: 1})
		sending := make(chan struct{})
		var out Outcome
		done := make(chan struct{})
		go func() {
			defer close(done)
			out = p.Call(context.Background(), func(ctx context.Context) (management.Response, error) {
				close(sending)
				time.Sleep(time.Second)
				if ctx.Err() != nil {
					t.Error("Stop canceled a request on the wire")
				}
				return management.Response{StatusCode: 204}, nil
			})
		}()
		<-sending
		p.Stop()
		<-done
		if out.Class != Success || out.Attempts != 1 {
			t.Errorf("Outcome = %+v, want the send in flight to complete", out)
		}
	})
}

// TestOneProbeBeforeTheFirstAnswer: until the tenant has said what its limit
// is, only one request is on the wire.
func TestOneProbeBeforeTheFirstAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{Seed: 1})
		var inFlight, most atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.Call(context.Background(), func(context.Context) (management.Response, error) {
					n := inFlight.Add(1)
					defer inFlight.Add(-1)
					if n > most.Load() {
						most.Store(n)
					}
					time.Sleep(100 * time.Millisecond)
					return headers(204, 100, 90, time.Now().Add(time.Second)), nil
				})
			}()
			if most.Load() > 1 {
				t.Fatal("a second request went out before the first answer")
			}
		}
		time.Sleep(50 * time.Millisecond) // the probe is on the wire
		if n := inFlight.Load(); n != 1 {
			t.Errorf("%d requests in flight before the first answer, want 1", n)
		}
		wg.Wait()
		if most.Load() < 2 {
			t.Errorf("never more than one in flight after the answer (max %d)", most.Load())
		}
	})
}

// TestNoHeadersNoThrottle: a tenant that sends no rate-limit headers is not
// paced (only 429s and --rate would hold the workers back).
func TestNoHeadersNoThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{Seed: 1})
		start := time.Now()
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					p.Call(context.Background(), func(context.Context) (management.Response, error) {
						time.Sleep(100 * time.Millisecond)
						return management.Response{StatusCode: 204}, nil
					})
				}
			}()
		}
		wg.Wait()
		// 10 rounds of 100ms, plus the probe's round trip.
		if took := time.Since(start); took > 1100*time.Millisecond+time.Millisecond {
			t.Errorf("160 calls took %v with 16 workers, want 1.1s: something throttled", took)
		}
		if st := p.Stats(); p.maxInFlight != 16 || st.Requests != 160 {
			t.Errorf("Stats = %+v, want 16 in flight at most, 160 requests", st)
		}
	})
}

// TestRateCap: --rate holds all workers together to Rate requests a
// second: in any window of t seconds at most Rate·t + 1 requests start.
func TestRateCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate = 5.0
		p := New(Config{Rate: rate, Seed: 1})
		var mu sync.Mutex
		var starts []time.Time
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 8 {
					p.Call(context.Background(), func(context.Context) (management.Response, error) {
						mu.Lock()
						starts = append(starts, time.Now())
						mu.Unlock()
						time.Sleep(30 * time.Millisecond)
						// A generous tenant: the cap is the only limit.
						return headers(204, 1000, 999, time.Now()), nil
					})
				}
			}()
		}
		wg.Wait()
		if len(starts) != 64 {
			t.Fatalf("%d requests, want 64", len(starts))
		}
		for i := range starts {
			for j := i; j < len(starts); j++ {
				window := starts[j].Sub(starts[i]).Seconds()
				if n := j - i + 1; float64(n) > rate*window+1+1e-9 {
					t.Fatalf("%d requests in %.3fs, more than %.0f/s allows", n, window, rate)
				}
			}
		}
		if took := starts[len(starts)-1].Sub(starts[0]).Seconds(); took > 63/rate*1.01 {
			t.Errorf("64 requests took %.2fs, want about %.2fs: the cap held back more than it should", took, 63/rate)
		}
	})
}

// TestRateLimitedPausesEveryWorker: after a 429 comes back, no worker sends
// anything before the reset it named (or MinWait, when the reset is past).
func TestRateLimitedPausesEveryWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A tenant with a small window that it enforces with 429s until
		// the next whole second, like a bucket that ran dry.
		var mu sync.Mutex
		var starts []time.Time
		type limitedAnswer struct{ at, until time.Time }
		var answers []limitedAnswer
		allowed := 3
		window := time.Now().Truncate(time.Second)
		serve := func(now time.Time) management.Response {
			mu.Lock()
			defer mu.Unlock()
			if now.Truncate(time.Second) != window {
				window, allowed = now.Truncate(time.Second), 3
			}
			reset := window.Add(time.Second)
			if allowed == 0 {
				return headers(429, 3, 0, reset)
			}
			allowed--
			return headers(204, 3, allowed, reset)
		}
		// Let the pacer send freely, as to a tenant without rate-limit
		// headers, so that it runs into the 429s this test is about.
		p := New(Config{MaxRetries: 50, Seed: 1})
		p.mu.Lock()
		p.bare = true
		p.mu.Unlock()
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					out := p.Call(context.Background(), func(context.Context) (management.Response, error) {
						mu.Lock()
						starts = append(starts, time.Now())
						mu.Unlock()
						time.Sleep(10 * time.Millisecond)
						resp := serve(time.Now())
						time.Sleep(10 * time.Millisecond)
						if resp.StatusCode == 429 {
							mu.Lock()
							until := resp.RateLimit.Reset
							if now := time.Now(); !until.After(now) {
								until = now.Add(time.Second) // MinWait
							}
							answers = append(answers, limitedAnswer{at: time.Now(), until: until})
							mu.Unlock()
							return resp, apiError(resp)
						}
						return resp, nil
					})
					if out.Class != Success {
						t.Errorf("Outcome = %+v", out)
					}
				}
			}()
		}
		wg.Wait()
		if len(answers) == 0 {
			t.Fatal("no 429 happened: the test tests nothing")
		}
		for _, a := range answers {
			for _, s := range starts {
				if s.After(a.at) && s.Before(a.until) {
					t.Fatalf("a request started at %v, after a 429 at %v and before its reset %v",
						s.Format("05.000"), a.at.Format("05.000"), a.until.Format("05.000"))
				}
			}
		}
	})
}

func TestReserveTokens(t *testing.T) {
	for _, tc := range []struct {
		reserve float64
		limit   int
		want    float64
	}{
		{0, 50, 0}, {0.2, 50, 10}, {0.2, 2, 0}, {0.3, 2, 1}, {0.2, 5, 1}, {0.2, 10, 2}, {0.99, 10, 9}, {0.5, 1, 0},
	} {
		p := New(Config{Reserve: tc.reserve})
		p.b.limit = tc.limit
		if got := p.reserveTokens(); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("reserve %.2f of %d = %v tokens, want %v", tc.reserve, tc.limit, got, tc.want)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	p := New(Config{Reserve: 3, Rate: -1, MaxRetries: -2})
	c := p.cfg
	if c.MinWait != time.Second || c.BaseBackoff != 500*time.Millisecond || c.MaxBackoff != 30*time.Second ||
		c.AttemptTimeout != 30*time.Second || c.Clock == nil || c.Reserve > 0.99 || c.Rate != 0 || c.MaxRetries != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestStopDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{MaxRetries: 5, BaseBackoff: time.Hour, MaxBackoff: time.Hour, Seed: 3})
		done := make(chan Outcome)
		go func() {
			done <- p.Call(context.Background(), func(context.Context) (management.Response, error) {
				resp := management.Response{StatusCode: 503, RetryAfter: time.Minute}
				return resp, apiError(resp)
			})
		}()
		synctest.Wait() // backing off now
		start := time.Now()
		p.Stop()
		out := <-done
		var apiErr *management.APIError
		if out.Class != Canceled || out.Attempts != 1 || !errors.Is(out.Err, context.Canceled) || !errors.As(out.Err, &apiErr) {
			t.Errorf("Outcome = %+v, want Canceled after its one attempt, keeping the 503", out)
		}
		if waited := time.Since(start); waited > 0 {
			t.Errorf("the backoff went on for %v after Stop", waited)
		}
	})
}

// TestLimitChange: a tenant whose limit changes (its plan, or an endpoint
// with its own bucket) is relearned rather than paced by the old picture.
func TestLimitChange(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, Seed: 1})
	limit := 10
	attempt := func(context.Context) (management.Response, error) {
		now := clock.Now()
		return headers(204, limit, limit-1, now.Add(time.Second)), nil
	}
	for range 5 {
		p.Call(context.Background(), attempt)
	}
	if st := p.Stats(); p.b.limit != 10 {
		t.Fatalf("Stats = %+v", st)
	}
	limit = 50
	for range 5 {
		if out := p.Call(context.Background(), attempt); out.Class != Success {
			t.Fatalf("Outcome = %+v", out)
		}
	}
	if st := p.Stats(); p.b.limit != 50 || p.b.anchor.rem != 49 {
		t.Errorf("Stats = %+v, want the new limit", st)
	}
}

func TestErrorTexts(t *testing.T) {
	timeout := &attemptTimeoutError{err: context.DeadlineExceeded}
	if got := timeout.Error(); got != "pacer: attempt timed out: context deadline exceeded" {
		t.Errorf("attempt timeout: %q", got)
	}
	if got := (&attemptTimeoutError{}).Error(); got != "pacer: attempt timed out" {
		t.Errorf("attempt timeout without cause: %q", got)
	}
	if !timeout.Timeout() || !timeout.Temporary() {
		t.Error("an attempt timeout is a temporary timeout")
	}
	if got := errStopped.Error(); got != "pacer: stopped: the run is aborting" {
		t.Errorf("stopped: %q", got)
	}
}

// TestErrorWithoutHeadersKeepsProbing: an early error without rate-limit
// headers (a proxy's 503) does not make the pacer believe the tenant sends
// none, which would let every worker loose at once.
func TestErrorWithoutHeadersKeepsProbing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{MaxRetries: 3, BaseBackoff: time.Millisecond, Seed: 1})
		var inFlight, most atomic.Int32
		var answered atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.Call(context.Background(), func(context.Context) (management.Response, error) {
					n := inFlight.Add(1)
					defer inFlight.Add(-1)
					if n > most.Load() {
						most.Store(n)
					}
					time.Sleep(50 * time.Millisecond)
					if answered.Add(1) == 1 {
						resp := management.Response{StatusCode: 503}
						return resp, apiError(resp)
					}
					return headers(204, 2, 1, time.Now().Add(time.Second)), nil
				})
			}()
		}
		time.Sleep(120 * time.Millisecond) // the 503 is back, the next probe is out
		if n := most.Load(); n != 1 {
			t.Errorf("%d requests in flight at once before any rate-limit headers; want 1", n)
		}
		wg.Wait()
	})
}
