// Package pacer decides when each request to the Auth0 Management API may be
// sent. One Pacer is shared by all workers of a run: it keeps them together
// under the tenant's rate limit, retries failed attempts, and stops them all
// when the run must stop.
//
// # Pacing
//
// Auth0 limits the Management API with a token bucket: a burst of
// x-ratelimit-limit requests, refilled at a rate the headers do not state,
// smoothly or once a second. Answers (successful and 429) carry
// x-ratelimit-remaining, the tokens left after that request, and
// x-ratelimit-reset, the Unix second of the next refill. Under one mutex the
// Pacer keeps a model of that bucket (see bucket for how it predicts and
// learns), a shared "paused until" time set by any 429, and the --rate cap.
//
// A request may go when the model predicts that, on reaching the tenant, it
// finds a token beyond every request already sent and beyond the reserve
// (Reserve × limit, rounded up to whole tokens), plus a small cushion for
// the prediction's own error when the refill is predicted rather than seen.
// So while tokens are plentiful as many requests fly as there are tokens
// (the workers' concurrency covers the latency), and once the bucket is
// drained each send waits for the refill of one token: sends space
// themselves at 1/rate with no separate spacing rule, and every answer
// corrects the prediction. Before the first answer one request (a probe) is
// in flight; when the model cannot predict and nothing is in flight, one
// probe goes at the reset second. A tenant that sends no rate-limit headers
// is not held back (--rate still applies, and 429s still pause everybody).
//
// Waiting Calls queue, first come first served: only the head looks at the
// state and sleeps until the moment it allows; an answer wakes the head, and
// a head that sends wakes the next. Every wait goes through Config.Clock.
//
// The --rate cap is a GCRA (one theoretical arrival time) rather than
// golang.org/x/time/rate: it is checked and committed under the same mutex
// as the bucket, with times from the injected Clock, so there is no
// reservation to cancel when another condition holds the request back.
//
// # Retries
//
// A 429 pauses every worker until x-ratelimit-reset, or for MinWait plus a
// jitter of up to 250 ms when the reset is now or past (the reset has a
// one-second resolution and may name the current second), or longer when
// Retry-After says so. 5xx, 408, timeouts and network errors are retried
// after an exponential backoff with full jitter, per Call, at least as long
// as a Retry-After. Every retry, 429s included, counts against MaxRetries, as
// the contract's --max-retries says: the pacer keeps 429s rare, so a request
// that meets several in a row faces another client flooding the tenant, and
// should fail rather than wait without end.
package pacer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	// recheck bounds the head's wait for an answer, so that a lost wake-up
	// could only ever cost this much; idleWait bounds the others' wait to
	// become the head, likewise.
	recheck  = 2 * time.Second
	idleWait = time.Minute
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
	base  time.Time // time zero of the model's float64 seconds

	mu      sync.Mutex
	stopped bool
	queue   []*queued                     // Calls waiting to send, first come first served
	waiters map[uint64]context.CancelFunc // Calls backing off, to wake on Stop
	nextID  uint64
	rng     *rand.Rand

	b           bucket
	bare        bool    // a success came without rate-limit headers before any answer with them
	pausedUntil float64 // model seconds (see sec): every worker waits until then
	gcraNext    float64 // model seconds: the --rate cap's next allowed send

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
		base:    cfg.Clock.Now(),
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
	p.wakeAllLocked()
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
		seq, err := p.acquire(ctx)
		if err != nil {
			return p.ended(out, err)
		}
		if out.Attempts > 0 {
			p.mu.Lock()
			p.stats.Retries++
			p.mu.Unlock()
		}
		resp, err := p.run(ctx, attempt, seq)
		out.Attempts++
		out.Response, out.Err = resp, err
		out.Class = Classify(err)
		if err != nil && ctx.Err() != nil {
			return p.ended(out, context.Cause(ctx))
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
	switch {
	case out.Err == nil:
		out.Err = why
	case !errors.Is(out.Err, why):
		out.Err = fmt.Errorf("%w (last attempt: %w)", why, out.Err)
	}
	return out
}

// run sends one attempt with its own timeout and feeds the answer back.
func (p *Pacer) run(ctx context.Context, attempt func(context.Context) (management.Response, error), seq int64) (resp management.Response, err error) {
	actx, cancel := context.WithTimeoutCause(ctx, p.cfg.AttemptTimeout, errAttemptTimeout)
	defer cancel()
	fed := false
	defer func() {
		if !fed { // attempt panicked: keep the in-flight count honest
			p.answer(seq, management.Response{}, Retryable)
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
	p.answer(seq, resp, class)
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
		// Woken early (by Stop, which the loop checks): sleep the rest.
		d -= p.clock.Now().Sub(start)
		if d <= 0 {
			return nil
		}
	}
}

// waiterLocked returns a ctx that ends with ctx or when Stop wakes the
// waiters, and a func to call when done waiting.
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

// wakeAllLocked makes every waiter, queued or backing off, look at the
// state again.
func (p *Pacer) wakeAllLocked() {
	for id, cancel := range p.waiters {
		cancel()
		delete(p.waiters, id)
	}
	for _, w := range p.queue {
		if w.wake != nil {
			w.wake()
		}
	}
}

// sec is t as seconds since the Pacer was made: the float64 times of the
// model keep nanosecond precision that way (Unix seconds would not).
func (p *Pacer) sec(t time.Time) float64 { return t.Sub(p.base).Seconds() }

// waitFor is how long to sleep to reach s seconds from now, rounded up to
// the next nanosecond: rounding down could sleep 0 and spin.
func waitFor(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/1e9 {
		return math.MaxInt64
	}
	return time.Duration(math.Ceil(s * 1e9))
}

// acquire waits until a request may be sent, then records it as sent.
//
// Requests wait in one queue, first come first served. Only the head of the
// queue looks at the shared state and sleeps until the moment it allows;
// the others sleep until they become the head. Every answer wakes the head
// (the state changed), and a head that sends or gives up wakes the next, so
// an answer costs one wake-up, not one per waiter, and no Call is overtaken
// by later ones.
func (p *Pacer) acquire(ctx context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 && !p.stopped && ctx.Err() == nil {
		// Nobody waits ahead: no need to queue if it may go at once.
		now := p.sec(p.clock.Now())
		if at, spared := p.admitLocked(now); at <= now {
			return p.sendLocked(now, spared), nil
		}
	}
	w := &queued{}
	p.queue = append(p.queue, w)
	for {
		err := ctx.Err()
		if p.stopped {
			err = errStopped
		}
		if err != nil {
			p.leaveLocked(w)
			return 0, err
		}
		wait := idleWait // until the head leaves
		if p.queue[0] == w {
			now := p.sec(p.clock.Now())
			at, spared := p.admitLocked(now)
			if at <= now {
				seq := p.sendLocked(now, spared)
				p.leaveLocked(w)
				return seq, nil
			}
			wait = min(waitFor(at-now), recheck)
		}
		wctx, cancel := context.WithCancel(ctx)
		w.wake = cancel
		p.mu.Unlock()
		_ = p.clock.Sleep(wctx, wait)
		cancel()
		p.mu.Lock()
		w.wake = nil
	}
}

// queued is a Call waiting in acquire's queue; wake, while set, ends its
// sleep.
type queued struct{ wake context.CancelFunc }

// leaveLocked takes w out of the queue and, if it was the head, wakes the
// next one.
func (p *Pacer) leaveLocked(w *queued) {
	i := slices.Index(p.queue, w)
	if i < 0 {
		return
	}
	p.queue = slices.Delete(p.queue, i, i+1)
	if i == 0 {
		p.wakeHeadLocked()
	}
}

// wakeHeadLocked makes the head of the queue look at the state again.
func (p *Pacer) wakeHeadLocked() {
	if len(p.queue) > 0 && p.queue[0].wake != nil {
		p.queue[0].wake()
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
	if ok, spare := b.fits(at, need); ok {
		return at, spare
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
func (p *Pacer) answer(seq int64, resp management.Response, class Class) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nowT := p.clock.Now()
	now := p.sec(nowT)
	limited := class == RateLimited || resp.StatusCode == 429
	req := p.b.done(seq, limited)
	rl := resp.RateLimit
	switch {
	case rl.Present && rl.Limit > 0:
		p.b.observe(req, now, rl.Limit, rl.Remaining, p.sec(rl.Reset), limited)
		p.stats.LastRemaining = rl.Remaining
	case resp.StatusCode >= 200 && resp.StatusCode < 300 && !p.b.known():
		// A success without rate-limit headers: this tenant does not send
		// them. (An error without them, say a proxy's 503, proves nothing.)
		p.bare = true
	}
	if limited {
		p.stats.RateLimited++
		p.pauseLocked(nowT, resp)
	}
	if p.trace != nil {
		p.trace(now, seq, resp, &p.b)
	}
	p.wakeHeadLocked()
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
	p.pausedUntil = math.Max(p.pausedUntil, p.sec(until))
}
