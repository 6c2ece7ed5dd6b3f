// Package pacer decides when each request to the Auth0 Management API may be
// sent. One Pacer is shared by all workers of a run: it keeps them together
// under the tenant's rate limit, retries failed attempts, and stops them all
// when the run must stop.
//
// # Pacing
//
// Auth0 limits the Management API with a token bucket: a burst of
// x-ratelimit-limit requests, refilled at a sustained rate that the headers do
// not state. Answers (successful and 429) carry x-ratelimit-remaining, the
// tokens left after that request, and x-ratelimit-reset, the Unix second of
// the next refill. The pacer keeps, under one mutex:
//
//   - the freshest answer's remaining, as an anchor, and every request sent
//     since (or still in flight), which will each take a token the anchor did
//     not see;
//   - a learned refill: the slope over time of Q = remaining + tokens our own
//     requests have taken, over windows of up to 15 s since the bucket was last
//     full (refill into a full bucket is lost, so such windows would lie low);
//     and whether Q grows smoothly (a continuous bucket) or only from one
//     reset second to the next (a bucket refilled in per-second steps), judged
//     by which model the answers contradict less;
//   - a shared "paused until" time, set by any 429;
//   - the --rate cap, as a GCRA (one theoretical arrival time).
//
// A request may go when the predicted tokens at the moment it reaches the
// tenant — anchor remaining, plus predicted refill, capped at the limit, less
// every unseen send — leave at least the reserve (Reserve × limit) after it.
// So during a burst as many requests fly as there are tokens (concurrency
// covers the latency), and once the bucket is drained each send waits for the
// refill of one token: sends space themselves at 1/rate without a separate
// spacing rule, and every answer corrects the prediction, so a rate learned a
// little low costs nothing (the next answer shows the tokens that piled up),
// while the learned rate is deliberately rounded down so that a prediction
// seldom runs ahead of the tenant. Before the first answer only one request
// (a probe) is in flight. When the model cannot predict (nothing learned
// yet) and nothing is in flight, one probe goes at the reset second. A tenant
// that sends no rate-limit headers is not throttled (but --rate still
// applies, and 429s still pause everybody).
//
// The --rate cap uses its own GCRA rather than golang.org/x/time/rate: its
// check and its commit happen under the same mutex as the bucket checks, with
// times from the injected Clock, so there is no reservation to cancel when
// another condition holds the request back.
//
// # Retries
//
// A 429 pauses every worker until x-ratelimit-reset, or for at least MinWait
// plus a jitter of up to 250 ms when the reset is now or past (the reset has a
// one-second resolution and may name the current second), or longer when
// Retry-After says so. 5xx, 408, timeouts and network errors are retried after
// an exponential backoff with full jitter, per Call. Every retry, 429s
// included, counts against MaxRetries, as the contract's --max-retries says:
// the pacer keeps 429s rare, so a request that meets several in a row is
// facing another client flooding the tenant, and should fail rather than
// wait without end.
package pacer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rolesweep/rolesweep/management"
)

// Config tunes a Pacer. Zero values take the defaults noted.
type Config struct {
	Rate           float64       // hard cap in requests/second for all workers together (--rate); 0 = none: pace from the tenant's headers
	MaxRetries     int           // retries per Call after the first attempt (--max-retries); for 429, 5xx, 408, timeouts and network errors
	Reserve        float64       // share of the bucket (0..1) left to other clients (--reserve 20 → 0.20)
	MinWait        time.Duration // least pause after a 429 whose reset is now or past; default 1s
	BaseBackoff    time.Duration // first backoff for 5xx/network errors; default 500ms; doubles per retry, full jitter
	MaxBackoff     time.Duration // default 30s
	AttemptTimeout time.Duration // per-attempt timeout applied to the ctx passed to attempt; default 30s
	Clock          Clock         // default RealClock()
	Seed           int64         // jitter PRNG seed; 0 = time-based
}

const (
	defaultMinWait        = time.Second
	defaultBaseBackoff    = 500 * time.Millisecond
	defaultMaxBackoff     = 30 * time.Second
	defaultAttemptTimeout = 30 * time.Second
	// pauseJitter spreads the workers' restart after a 429 whose reset has
	// already passed.
	pauseJitter = 250 * time.Millisecond
	// maxPause bounds a wait a tenant asks for (reset, Retry-After): a clock
	// far off or a bogus header must not park the run for hours.
	maxPause = 5 * time.Minute
	// recheck bounds a wait for an answer, so that a lost wake-up could only
	// ever cost this much.
	recheck = 2 * time.Second
)

// Outcome is what a Call did.
type Outcome struct {
	Response    management.Response // the last attempt's answer
	Err         error               // the last error; nil on success
	Class       Class               // the class of Err (Success when nil)
	Attempts    int                 // attempts sent; 0 if the Call ended before the first
	RateLimited int                 // how many of the attempts were answered 429
}

// Stats are counters over the Pacer's life.
type Stats struct {
	Requests, Retries, RateLimited, MaxInFlight int
	Limit, LastRemaining                        int
	LearnedRate                                 float64 // tokens per second
}

// Pacer paces and retries the requests of all workers of a run. Its methods
// are safe for concurrent use.
type Pacer struct {
	cfg   Config
	clock Clock

	mu      sync.Mutex
	stopped bool
	waiters map[uint64]context.CancelFunc
	nextID  uint64
	rng     *rand.Rand

	b           bucket
	bare        bool    // an HTTP answer came without rate-limit headers before any with them
	pausedUntil float64 // Unix s
	gcraNext    float64 // Unix s: the --rate cap's next allowed send

	stats Stats

	// trace, when set (by tests), is told each answer and the model after it.
	trace func(now float64, seq int64, resp management.Response, b *bucket)
}

// New returns a Pacer; see Config for the defaults.
func New(cfg Config) *Pacer {
	if cfg.MinWait <= 0 {
		cfg.MinWait = defaultMinWait
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = defaultBaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = defaultMaxBackoff
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = defaultAttemptTimeout
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	cfg.Reserve = math.Min(math.Max(cfg.Reserve, 0), 0.99)
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		cfg.Rate = 0
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock()
	}
	seed := uint64(cfg.Seed)
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &Pacer{
		cfg:     cfg,
		clock:   cfg.Clock,
		waiters: make(map[uint64]context.CancelFunc),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Stop makes every waiting and future Call return at once with Class Canceled
// and no new attempt (used when a run aborts on 401/403). Calls already
// sending are not interrupted.
func (p *Pacer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.wakeLocked()
}

// Stats returns the counters so far.
func (p *Pacer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Limit = p.b.limit
	s.LearnedRate = p.b.learnedRate()
	return s
}

// Call waits for a send slot, runs attempt, feeds its Response (rate-limit
// headers, status) back into the shared state, and retries as Classify says,
// up to MaxRetries. It returns the last Response and error (nil on success),
// the number of attempts made (0 if ctx ended before the first send), and the
// class of the final error. Once ctx has ended the Class is Canceled, whatever
// the last attempt returned (unless it succeeded).
func (p *Pacer) Call(ctx context.Context, attempt func(ctx context.Context) (management.Response, error)) Outcome {
	var out Outcome
	failures := 0 // Retryable failures so far, for the backoff
	for {
		seq, sentAt, err := p.acquire(ctx)
		if err != nil {
			return p.ended(out, err)
		}
		if out.Attempts > 0 {
			p.mu.Lock()
			p.stats.Retries++
			p.mu.Unlock()
		}
		resp, err := p.run(ctx, attempt, seq, sentAt)
		out.Attempts++
		out.Response, out.Err = resp, err
		out.Class = Classify(err)
		if err != nil && ctx.Err() != nil {
			out.Class = Canceled
		}
		if out.Class == RateLimited {
			out.RateLimited++
		}
		switch out.Class {
		case Success, Permanent, Auth, Canceled:
			return out
		}
		if out.Attempts > p.cfg.MaxRetries {
			return out
		}
		if out.Class == Retryable {
			wait := p.backoff(failures, resp.RetryAfter)
			failures++
			if err := p.sleep(ctx, wait); err != nil {
				return p.ended(out, err)
			}
		}
		// A 429 has set the shared pause; acquire waits it out.
	}
}

// ended is the Outcome of a Call that stopped waiting because its ctx ended
// or the Pacer was stopped.
func (p *Pacer) ended(out Outcome, why error) Outcome {
	out.Class = Canceled
	if out.Err != nil {
		out.Err = fmt.Errorf("%w (last attempt: %w)", why, out.Err)
	} else {
		out.Err = why
	}
	return out
}

// run sends one attempt with its own timeout and feeds the answer back.
func (p *Pacer) run(ctx context.Context, attempt func(context.Context) (management.Response, error), seq int64, sentAt float64) (resp management.Response, err error) {
	actx, cancel := context.WithTimeoutCause(ctx, p.cfg.AttemptTimeout, errAttemptTimeout)
	defer cancel()
	fed := false
	defer func() {
		if !fed { // attempt panicked: keep the in-flight count honest
			p.answer(seq, sentAt, management.Response{}, Retryable)
		}
	}()
	resp, err = attempt(actx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout) {
		err = &attemptTimeoutError{err: err}
	}
	class := Classify(err)
	if err != nil && ctx.Err() != nil {
		class = Canceled
	}
	p.answer(seq, sentAt, resp, class)
	fed = true
	return resp, err
}

func (p *Pacer) backoff(failures int, retryAfter time.Duration) time.Duration {
	ceiling := p.cfg.MaxBackoff
	if failures < 32 {
		ceiling = min(ceiling, p.cfg.BaseBackoff<<failures)
	}
	p.mu.Lock()
	wait := time.Duration(p.rng.Int64N(int64(ceiling) + 1))
	p.mu.Unlock()
	return max(wait, min(retryAfter, maxPause))
}

// sleep waits d on the Clock, ending early when ctx ends or the Pacer stops.
func (p *Pacer) sleep(ctx context.Context, d time.Duration) error {
	for {
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return errStopped
		}
		wctx, done := p.waiterLocked(ctx)
		p.mu.Unlock()
		start := p.clock.Now()
		err := p.clock.Sleep(wctx, d)
		done()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			return nil
		}
		// Woken by a state change, not by time: sleep the rest.
		d -= p.clock.Now().Sub(start)
		if d <= 0 {
			return nil
		}
	}
}

// waiterLocked returns a ctx that ends with ctx or at the next wake-up, and a
// func to call when done waiting.
func (p *Pacer) waiterLocked(ctx context.Context) (context.Context, func()) {
	wctx, cancel := context.WithCancel(ctx)
	id := p.nextID
	p.nextID++
	p.waiters[id] = cancel
	return wctx, func() {
		cancel()
		p.mu.Lock()
		delete(p.waiters, id)
		p.mu.Unlock()
	}
}

// wakeLocked makes every waiter look at the state again.
func (p *Pacer) wakeLocked() {
	for id, cancel := range p.waiters {
		cancel()
		delete(p.waiters, id)
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func seconds(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/1e9 {
		return math.MaxInt64
	}
	return time.Duration(s * 1e9)
}

// acquire waits until a request may be sent, then records it as sent.
func (p *Pacer) acquire(ctx context.Context) (int64, float64, error) {
	for {
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return 0, 0, errStopped
		}
		if err := ctx.Err(); err != nil {
			p.mu.Unlock()
			return 0, 0, err
		}
		now := unix(p.clock.Now())
		at, spared := p.admitLocked(now)
		if at <= now {
			seq := p.sendLocked(now, spared)
			p.mu.Unlock()
			return seq, now, nil
		}
		wctx, done := p.waiterLocked(ctx)
		p.mu.Unlock()
		_ = p.clock.Sleep(wctx, min(seconds(at-now), recheck))
		done()
	}
}

// admitLocked returns the earliest time a request may be sent, given what is
// known now (a time ≤ now means at once), and whether the model expects
// tokens to spare after it.
func (p *Pacer) admitLocked(now float64) (at float64, spared bool) {
	at = math.Max(now, p.pausedUntil)
	if p.cfg.Rate > 0 {
		at = math.Max(at, p.gcraNext)
	}
	b := &p.b
	switch {
	case !b.known() && p.bare:
		return at, false
	case !b.known():
		if len(b.open) > 0 {
			return math.Inf(1), false // one probe at a time until the first answer
		}
		return at, false
	}
	need := 1 + p.reserveTokens()
	if seen := b.seen(); seen >= need {
		return at, seen >= need+1 // tokens the answers showed: certain
	}
	// Tokens the model predicts must leave a cushion for its error.
	need += b.cushion(need)
	if level := b.level(at); level >= need {
		return at, level >= need+1
	}
	next := b.nextAt(at, need)
	if len(b.open) == 0 && (math.IsInf(next, 1) || (!b.settled() && p.cfg.Reserve == 0)) {
		// Nothing in flight will tell us more: find out with one request,
		// rather than wait for a prediction that is not yet trusted. (A
		// rate learned too low would otherwise wait for the bucket to be
		// full, where nothing more is learned.) With a reserve only when
		// there is no prediction at all: a probe may dig into it.
		next = math.Min(next, math.Max(at, b.probeAt()))
	}
	return next, false
}

// reserveTokens is how many tokens every request must leave in the bucket
// for other clients: Reserve of the limit, rounded up, since the tenant
// reports whole tokens (20% of a bucket of 2 means leaving 1), but never the
// whole bucket, so that a request is always possible.
func (p *Pacer) reserveTokens() float64 {
	if p.cfg.Reserve <= 0 {
		return 0
	}
	return math.Min(math.Ceil(p.cfg.Reserve*float64(p.b.limit)-1e-9), float64(p.b.limit-1))
}

func (p *Pacer) sendLocked(now float64, spared bool) int64 {
	if p.cfg.Rate > 0 {
		p.gcraNext = math.Max(p.gcraNext, now) + 1/p.cfg.Rate
	}
	seq := p.b.send(now, spared)
	p.stats.Requests++
	p.stats.MaxInFlight = max(p.stats.MaxInFlight, len(p.b.open))
	return seq
}

// answer feeds an attempt's result back into the shared state.
func (p *Pacer) answer(seq int64, sentAt float64, resp management.Response, class Class) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nowT := p.clock.Now()
	now := unix(nowT)
	limited := class == RateLimited || resp.StatusCode == 429
	req := p.b.done(seq, limited)
	rl := resp.RateLimit
	switch {
	case rl.Present && rl.Limit > 0:
		p.b.observe(req, now, rl.Limit, rl.Remaining, unix(rl.Reset), limited)
		p.stats.LastRemaining = rl.Remaining
	case resp.StatusCode != 0 && !p.b.known():
		p.bare = true
	}
	if limited {
		p.stats.RateLimited++
		p.pauseLocked(nowT, resp)
	}
	if p.trace != nil {
		p.trace(now, seq, resp, &p.b)
	}
	p.wakeLocked()
}

// pauseLocked holds every worker after a 429: until the reset when it is in
// the future; else for MinWait plus jitter; and at least for Retry-After.
func (p *Pacer) pauseLocked(now time.Time, resp management.Response) {
	var until time.Time
	if rl := resp.RateLimit; rl.Present && rl.Reset.After(now) {
		until = rl.Reset
	} else {
		jitter := time.Duration(p.rng.Int64N(int64(pauseJitter) + 1))
		until = now.Add(p.cfg.MinWait + jitter)
	}
	if ra := resp.RetryAfter; ra > 0 && now.Add(ra).After(until) {
		until = now.Add(ra)
	}
	if limit := now.Add(maxPause); until.After(limit) {
		until = limit
	}
	p.pausedUntil = math.Max(p.pausedUntil, unix(until))
}
