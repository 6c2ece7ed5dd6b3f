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
// The --rate cap is a golang.org/x/time/rate Limiter of burst 1, read with
// TokensAt and committed with AllowN under the same mutex as the bucket,
// always with times from the injected Clock, so there is no reservation to
// cancel when another condition holds the request back.
//
// # Shared buckets
//
// The headers describe the tenant's bucket, which other clients (logins,
// another job, a second rolesweep) spend too. Nothing learned is final: the
// refill estimate follows the answers of the last seconds, and when the
// model would have a request wait much longer than the refill it has seen
// (an estimate collapsed by a neighbour's burst) and nothing is in flight,
// one probe goes after at most probeCeiling, so the estimate recovers
// within seconds once the neighbour stops. The reserve (Reserve × limit)
// is left in the bucket at all times: a second instance of the pacer, or
// another client, always finds tokens; it costs the reserved part of the
// first burst only, the refill is used in full.
//
// # Untrustworthy headers
//
// The tenant's clock is estimated from its Date header and the round trip
// (see clockOffset); resets are read on that clock, and a reset still far
// from now after that is not waited for. A tenant that sends no rate-limit
// headers, or a 429 with Retry-After alone, puts the pacer in blind mode: a
// shared AIMD rate (halved at each 429, grown a few per cent a second
// while answers succeed) spaces every send, so after a pause the workers
// restart one by one instead of all at once.
//
// # A tenant gone
//
// Network failures (no HTTP answer at all) from all workers in a row, with
// no answer in between, unreachableAfter of them over at least
// unreachableSpan, mean the tenant is gone: that Call and every later one
// end with Class Unreachable, which stops the run like Auth.
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
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/rolesweep/rolesweep/management"
)

// Config tunes a Pacer. Zero values take the defaults noted.
type Config struct {
	Rate           float64       // hard cap in requests/second for all workers together (--rate); 0 = none: pace from the tenant's headers
	MaxRetries     int           // retries per Call after the first attempt (--max-retries); for 429, 5xx, 408, timeouts and network errors
	Reserve        float64       // share of the bucket (0..1) always left to other clients (--reserve 20 → 0.20); costs part of the first burst only
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

	// unreachableAfter network failures in a row (no HTTP answer, from any
	// worker, with no answer in between) spanning at least unreachableSpan
	// mean the tenant is gone. The span keeps a burst of workers failing
	// together on one dropped link from counting as many.
	unreachableAfter = 8
	unreachableSpan  = 3 * time.Second

	// Blind mode (no rate-limit headers): the least and the starting AIMD
	// rate, and its growth per second of successes.
	blindMinRate  = 0.2
	blindGrowth   = 0.05
	blindMaxBoost = 4.0 // no more than this × the rate that last succeeded
	// distrustReset: a reset further than this from now (on the tenant's
	// clock as estimated) is not believed; the pause is MinWait.
	distrustReset = 3.0
	// probeCeiling (seconds) is the longest the model may hold back a lone
	// request while nothing is in flight before one probe asks the tenant.
	probeCeiling = 1.5
	// burstShare is the part of the visible surplus left for the next
	// round trip (see admitLocked).
	burstShare = 0.5
	// firstShareRTT: below this round trip the first bucketful is shared
	// too, before anything is known: halving it costs a few round trips,
	// little refill at that latency.
	firstShareRTT = 0.05
)

// Outcome is what a Call did.
//
// Unsent tells "certainly not applied" from "maybe applied": it is true
// when no attempt can have changed the tenant, because none was sent
// (Attempts 0: the ctx ended, the Pacer stopped, or the tenant was already
// unreachable) or every attempt was refused before the tenant acted on it
// (a 429, which applies nothing; a token that could not be had; a
// connection refused or a name that did not resolve). A Call interrupted
// after 429s only is Unsent: its row is skipped, not "outcome unknown".
// Any attempt that may have reached the tenant (a success, a 5xx, a
// timeout, a connection lost mid-way) makes it false.
type Outcome struct {
	Response    management.Response // the last attempt's answer
	Err         error               // the last error; nil on success
	Class       Class               // the class of Err (Success when nil)
	Attempts    int                 // attempts sent; 0 if the Call ended before the first
	RateLimited int                 // how many of the attempts were answered 429
	Unsent      bool                // no attempt can have changed the tenant (see above)
}

// Stats are counters over the Pacer's life.
type Stats struct {
	Requests, Retries, RateLimited int
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
	bare        bool          // a success came without rate-limit headers before any answer with them
	pausedUntil float64       // model seconds (see sec): every worker waits until then
	limiter     *rate.Limiter // --rate; nil without

	// Blind mode (see the package doc): blind is set by the first 429 that
	// came without rate-limit headers; blindNext is the next send it allows.
	blind       bool
	blindRate   float64
	blindNext   float64
	blindSeq    int64 // sends after this one may lower blindRate again
	okTimes     []float64
	tenantClock clockOffset // the tenant's clock less ours, from its Date headers
	netFails    int         // network failures in a row, all workers
	netFailAt   float64     // when the first of them came back
	unreachErr  error       // set once the tenant is unreachable: every Call ends with it

	stats       Stats
	maxInFlight int
	lastAnswer  float64 // model seconds: when the latest answer came back

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
	p := &Pacer{
		cfg:     cfg,
		clock:   cfg.Clock,
		base:    cfg.Clock.Now(),
		waiters: make(map[uint64]context.CancelFunc),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	if cfg.Rate > 0 {
		p.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
		// A new Limiter starts full, at the zero time; bring it to the
		// injected clock's now so that TokensAt counts from there.
		p.limiter.AllowN(p.base, 0)
	}
	return p
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
	return p.stats
}

// Call waits for a send slot, runs attempt, feeds its Response (rate-limit
// headers, status) back into the shared state, and retries as Classify says,
// up to MaxRetries. It returns the last Response and error (nil on success),
// the number of attempts made (0 if ctx ended before the first send), and the
// class of the final error. Once ctx has ended the Class is Canceled, whatever
// the last attempt returned (unless it succeeded).
func (p *Pacer) Call(ctx context.Context, attempt func(ctx context.Context) (management.Response, error)) Outcome {
	out := Outcome{Unsent: true}
	failures := 0 // Retryable failures so far, for the backoff
	for {
		seq, err := p.acquire(ctx)
		if err != nil {
			if u := p.unreachable(); u != nil {
				out.Class, out.Err = Unreachable, u
				return out
			}
			return p.ended(out, err)
		}
		if out.Attempts > 0 {
			p.mu.Lock()
			p.stats.Retries++
			p.mu.Unlock()
		}
		resp, err, gone := p.run(ctx, attempt, seq)
		out.Attempts++
		out.Response, out.Err = resp, err
		out.Class = Classify(err)
		if out.Unsent && !notApplied(resp, err) {
			out.Unsent = false
		}
		if out.Class == RateLimited {
			out.RateLimited++
		}
		if err != nil && ctx.Err() != nil {
			return p.ended(out, context.Cause(ctx))
		}
		if gone != nil {
			out.Class, out.Err = Unreachable, gone
			return out
		}
		switch out.Class {
		case Success, Permanent, Auth, Canceled, Unreachable:
			return out
		}
		if out.Attempts > p.cfg.MaxRetries {
			return out
		}
		if out.Class == Retryable {
			wait := p.backoff(failures, resp.RetryAfter)
			failures++
			if err := p.sleep(ctx, wait); err != nil {
				if u := p.unreachable(); u != nil {
					out.Class, out.Err = Unreachable, u
					return out
				}
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
// gone is set when this attempt's failure showed the tenant unreachable.
func (p *Pacer) run(ctx context.Context, attempt func(context.Context) (management.Response, error), seq int64) (resp management.Response, err error, gone error) {
	actx, cancel := context.WithTimeoutCause(ctx, p.cfg.AttemptTimeout, errAttemptTimeout)
	defer cancel()
	fed := false
	sentAt := p.clock.Now()
	defer func() {
		if !fed { // attempt panicked: keep the in-flight count honest
			p.answer(seq, sentAt, management.Response{}, nil, Retryable)
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
	gone = p.answer(seq, sentAt, resp, err, class)
	fed = true
	return resp, err, gone
}

// unreachable is the error every Call ends with once the tenant is gone.
func (p *Pacer) unreachable() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unreachErr
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
		if p.stopped || p.unreachErr != nil {
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
	if p.unreachErr != nil {
		return 0, p.unreachErr
	}
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
		if p.unreachErr != nil {
			err = p.unreachErr
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
	if p.limiter != nil {
		at = math.Max(at, p.rateCapAt(now))
	}
	b := &p.b
	switch {
	case !b.known() && p.blind:
		return math.Max(at, p.blindNext), false
	case !b.known() && p.bare:
		return at, false
	case !b.known():
		if len(b.open) > 0 {
			return math.Inf(1), false // one probe at a time until the first answer
		}
		return at, false
	}
	need := 1 + p.reserveTokens()
	// Of the tokens the latest answer showed beyond the need, take half
	// before the next answers show what is left: another client (a second
	// rolesweep) who saw the same tokens takes its half too, instead of
	// both taking all and meeting 429s. Tokens left in a bucket that is not
	// full lose no refill, so this costs a round trip or two of the first
	// burst, not throughput.
	// A bucket that refills in under two seconds loses more refill to
	// that than the sharing is worth, and so does the first burst, before
	// any refill is known (sharing it costs a fast bucket a second in
	// simulation): they take all, unless another client was seen spending
	// the bucket from the start, or round trips are short enough for the
	// first bucketful's halving to cost little (firstShareRTT).
	share := math.Max(0, float64(b.anchor.rem)-need) * burstShare
	if r := b.learnedRate(); (r <= 0 && !b.contended && (b.seq > int64(b.limit) || b.rttLo >= firstShareRTT)) || (r > 0 && float64(b.limit)/r < 2) {
		share = 0
	}
	if seen := b.seen(); seen >= need+share {
		return at, seen >= need+share+1 // tokens the answers showed: certain
	}
	if ok, spare := b.fits(at, need+share); ok {
		return at, spare
	}
	next := b.nextAt(at, need+share)
	if len(b.open) == 0 && (math.IsInf(next, 1) || (!b.settled() && p.reserveTokens() == 0)) {
		// Nothing in flight will tell us more: find out with one request,
		// rather than wait for a prediction that is not yet trusted. (A
		// rate learned too low would otherwise wait for the bucket to be
		// full, where nothing more is learned.) With a reserve only when
		// there is no prediction at all: a probe may dig into it.
		next = math.Min(next, math.Max(at, b.probeAt()))
	}
	if len(b.open) == 0 && next-at > probeCeiling && b.limit > 1 {
		// The model would wait far longer than the refill it has seen
		// could need (an estimate collapsed while others drained the
		// bucket): nothing in flight will correct it, so ask the tenant.
		next = math.Min(next, math.Max(at, p.lastAnswer+probeCeiling))
	}
	return next, false
}

// reserveTokens is how many tokens every request must leave in the bucket
// for other clients: Reserve of the limit, rounded to the nearest whole
// token (the tenant reports whole tokens), but never the whole bucket, so
// that a request is always possible. Rounding to the nearest, not up: 20%
// of Free's bucket of 2 is 0.4 tokens, and leaving a whole one (half the
// bucket) would have every request wait for a full bucket, losing refill to
// the cap at every prediction error (3× the ideal time, measured), where
// the reserve should cost the reserved part of the first burst only.
func (p *Pacer) reserveTokens() float64 {
	return reserveOf(p.cfg.Reserve, p.b.limit)
}

// reserveOf is reserveTokens for a share and a bucket size.
func reserveOf(share float64, limit int) float64 {
	if share <= 0 || limit <= 1 {
		return 0
	}
	return math.Min(math.Round(share*float64(limit)), float64(limit-1))
}

// rateCapAt is when the --rate Limiter next has a token, reading it at the
// injected clock's time.
func (p *Pacer) rateCapAt(now float64) float64 {
	tokens := p.limiter.TokensAt(p.at(now))
	if tokens >= 1 {
		return now
	}
	return now + (1-tokens)/p.cfg.Rate
}

// at is model seconds s as a time, rounded down to the nanosecond, so that
// the cap is read no later than the real time; atCeil rounds up, so that a
// send is committed no earlier than it happened. Together they never let
// two sends come closer than 1/Rate.
func (p *Pacer) at(s float64) time.Time     { return p.base.Add(time.Duration(math.Floor(s * 1e9))) }
func (p *Pacer) atCeil(s float64) time.Time { return p.base.Add(time.Duration(math.Ceil(s * 1e9))) }

func (p *Pacer) sendLocked(now float64, spared bool) int64 {
	if p.limiter != nil {
		p.limiter.AllowN(p.atCeil(now), 1)
	}
	if p.blind {
		p.blindNext = math.Max(p.blindNext, now) + 1/p.blindRate
	}
	seq := p.b.send(now, spared)
	p.stats.Requests++
	p.maxInFlight = max(p.maxInFlight, len(p.b.open))
	return seq
}

// answer feeds an attempt's result back into the shared state. It returns
// the error every Call now ends with when this failure showed the tenant
// unreachable.
func (p *Pacer) answer(seq int64, sentAt time.Time, resp management.Response, err error, class Class) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	nowT := p.clock.Now()
	now := p.sec(nowT)
	limited := class == RateLimited || resp.StatusCode == 429
	req := p.b.done(seq, limited)
	p.lastAnswer = now
	if !resp.Date.IsZero() {
		p.tenantClock.observe(resp.Date, sentAt, nowT)
	}
	rl := resp.RateLimit
	reset := p.localReset(rl.Reset, nowT)
	switch {
	case rl.Present && rl.Limit > 0:
		epoch := p.sec(reset)
		if !p.trustReset(reset, nowT) {
			// Far from now even on the tenant's clock: a reset that says
			// nothing about the next refill; one that settles the model
			// as continuous (see judgeReset) and is never waited for.
			epoch = now + 2*distrustReset
		}
		p.b.observe(req, now, rl.Limit, rl.Remaining, epoch, limited)
		p.blind = false
	case resp.StatusCode >= 200 && resp.StatusCode < 300 && !p.b.known():
		// A success without rate-limit headers: this tenant does not send
		// them. (An error without them, say a proxy's 503, proves nothing.)
		p.bare = true
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		p.blindSuccessLocked(now)
	}
	if limited {
		p.stats.RateLimited++
		if !p.b.known() {
			p.blindBackoffLocked(now, seq)
		}
		p.pauseLocked(nowT, resp, reset)
	}
	gone := p.reachLocked(now, resp, err)
	if p.trace != nil {
		p.trace(now, seq, resp, &p.b)
	}
	p.wakeHeadLocked()
	return gone
}

// reachLocked counts network failures in a row (no HTTP answer, all workers
// together); past the threshold the tenant is unreachable, and every Call
// from now on ends with the error it returns.
func (p *Pacer) reachLocked(now float64, resp management.Response, err error) error {
	switch {
	case p.unreachErr != nil:
		return p.unreachErr
	case resp.StatusCode != 0 || err == nil:
		p.netFails = 0 // an answer, whatever it says: the tenant is there
		return nil
	case !isNetworkFailure(err):
		return nil
	}
	if p.netFails == 0 {
		p.netFailAt = now
	}
	p.netFails++
	if p.netFails >= unreachableAfter && now-p.netFailAt >= unreachableSpan.Seconds() {
		p.unreachErr = &UnreachableError{Failures: p.netFails, Span: time.Duration((now - p.netFailAt) * 1e9), Last: err}
		p.wakeAllLocked()
		return p.unreachErr
	}
	return nil
}

// blindSuccessLocked grows the blind rate by blindGrowth a second of
// successes (each success adds its share), and keeps the recent successes'
// times to start the rate from when the first 429 comes.
func (p *Pacer) blindSuccessLocked(now float64) {
	if p.b.known() {
		return
	}
	p.okTimes = append(p.okTimes, now)
	if drop := len(p.okTimes) - 256; drop > 0 {
		p.okTimes = p.okTimes[drop:]
	}
	if p.blind {
		p.blindRate = math.Min(p.blindRate*(1+blindGrowth/p.blindRate), p.blindCeiling(now))
	}
}

// blindCeiling bounds the blind rate: never far above what succeeded lately.
func (p *Pacer) blindCeiling(now float64) float64 {
	return math.Max(blindMinRate*blindMaxBoost, blindMaxBoost*p.okRate(now))
}

// okRate is the rate of successes over the last two seconds.
func (p *Pacer) okRate(now float64) float64 {
	const window = 2.0
	i := sort.SearchFloat64s(p.okTimes, now-window)
	return float64(len(p.okTimes)-i) / window
}

// blindBackoffLocked halves the blind rate at a 429 without rate-limit
// headers: once per congestion event, so that the 429s of requests that
// were already on their way do not halve it again. The first one starts
// it at half the rate that succeeded just before.
func (p *Pacer) blindBackoffLocked(now float64, seq int64) {
	if !p.blind {
		p.blind = true
		p.blindRate = math.Max(blindMinRate, p.okRate(now)/2)
		p.blindSeq = p.b.seq
		return
	}
	if seq > p.blindSeq {
		p.blindRate = math.Max(blindMinRate, p.blindRate/2)
		p.blindSeq = p.b.seq
	}
}

// localReset is an x-ratelimit-reset read on our clock: moved by the
// tenant's clock offset when the Date headers show one of more than a
// second (below that, the Date header's one-second resolution is the
// larger error).
func (p *Pacer) localReset(reset, now time.Time) time.Time {
	if reset.IsZero() {
		return reset
	}
	if off, ok := p.tenantClock.offset(); ok && math.Abs(off) > 1 {
		return reset.Add(-time.Duration(off * 1e9))
	}
	return reset
}

// trustReset says a reset (on our clock) is near enough to now to mean the
// next refill.
func (p *Pacer) trustReset(reset, now time.Time) bool {
	d := reset.Sub(now).Seconds()
	return d <= distrustReset && d >= -distrustReset
}

// pauseLocked holds every worker after a 429: until the reset when it is in
// the future (and believable); else for MinWait plus jitter; and at least
// for Retry-After.
func (p *Pacer) pauseLocked(now time.Time, resp management.Response, reset time.Time) {
	var until time.Time
	if rl := resp.RateLimit; rl.Present && reset.After(now) && p.trustReset(reset, now) {
		until = reset
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
