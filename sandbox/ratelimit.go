package sandbox

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// tokenEpsilon absorbs float rounding (0.1+0.2 style) so that a bucket that
// holds "2.9999999999" tokens counts as 3.
const tokenEpsilon = 1e-9

// Rate-limit header modes (Options.RateHeaders).
const (
	// HeadersFull sends x-ratelimit-limit, -remaining and -reset on every
	// rate-limited answer, as Auth0 does (the default).
	HeadersFull = "full"
	// HeadersNone sends no rate-limit headers at all; a 429 is the only sign
	// of the bucket.
	HeadersNone = "none"
	// HeadersRetryAfter sends no x-ratelimit-* headers; a 429 carries
	// Retry-After (whole seconds until the next token) and nothing else.
	HeadersRetryAfter = "retry-after"
)

// bucket is Auth0's rate limiter as documented: a token bucket whose size is
// the burst limit and whose refill rate is the sustained limit. Every
// /api/v2 request takes one token; a request that finds less than one token
// is answered 429 and takes nothing.
//
// In step mode the refill comes all at once every period, at the multiples
// of the period since the Unix epoch: with a period of 1.5 s half the steps
// fall between whole seconds, and x-ratelimit-reset (whole seconds) names
// the second the next step falls in, up to half a second early, as a
// per-interval counter off the clock's grid looks to a client.
type bucket struct {
	limit    int
	capacity float64
	refill   float64 // tokens per second
	step     bool
	period   time.Duration // step mode: time between steps
	truncate bool          // continuous mode: report the next refill's second, not the one after
	headers  string        // one of the Headers* modes
	skew     time.Duration // the tenant's clock minus the real one (Date and reset)
	tokens   float64
	last     time.Time // continuous mode: when tokens was last brought up to date
	lastStep int64     // step mode: the index of the step tokens was last refilled for
}

// rateDecision is what one request learns from the bucket; the header values
// describe the bucket after the request.
type rateDecision struct {
	allowed    bool
	limit      int
	remaining  int
	reset      int64 // Unix seconds, on the tenant's (skewed) clock
	retryAfter int64 // seconds until the next token, for HeadersRetryAfter
	headers    string
	date       time.Time // the tenant's clock, for the Date header when skewed
	skewed     bool
}

// bucketConfig gathers the options newBucket needs.
type bucketConfig struct {
	limit    int
	refill   float64
	step     bool
	period   time.Duration
	truncate bool
	headers  string
	skew     time.Duration
}

func newBucket(c bucketConfig, now time.Time) *bucket {
	if c.period <= 0 {
		c.period = time.Second
	}
	if c.headers == "" {
		c.headers = HeadersFull
	}
	b := &bucket{
		truncate: c.truncate,
		limit:    c.limit,
		capacity: float64(c.limit),
		refill:   c.refill,
		step:     c.step,
		period:   c.period,
		headers:  c.headers,
		skew:     c.skew,
		tokens:   float64(c.limit),
		last:     now,
	}
	b.lastStep = b.stepIndex(now)
	return b
}

// stepIndex is the number of whole periods since the Unix epoch at now.
func (b *bucket) stepIndex(now time.Time) int64 {
	return floorDiv(now.UnixNano(), int64(b.period))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (b *bucket) take(now time.Time) rateDecision {
	b.advance(now)
	allowed := b.tokens >= 1-tokenEpsilon
	if allowed {
		b.tokens = math.Max(0, b.tokens-1)
	}
	return rateDecision{
		allowed:    allowed,
		limit:      b.limit,
		remaining:  int(math.Floor(b.tokens + tokenEpsilon)),
		reset:      b.resetAt(now).Add(b.skew).Unix(),
		retryAfter: b.retryAfter(now),
		headers:    b.headers,
		date:       now.Add(b.skew),
		skewed:     b.skew != 0,
	}
}

// stepRefill is what one step adds: the per-second refill times the period.
func (b *bucket) stepRefill() float64 { return b.refill * b.period.Seconds() }

func (b *bucket) advance(now time.Time) {
	if b.step {
		if i := b.stepIndex(now); i > b.lastStep {
			b.tokens = math.Min(b.capacity, b.tokens+b.stepRefill()*float64(i-b.lastStep))
			b.lastStep = i
		}
		return
	}
	// A clock that goes backwards (a fake one in a test) refills nothing.
	if now.After(b.last) {
		b.tokens = math.Min(b.capacity, b.tokens+b.refill*now.Sub(b.last).Seconds())
		b.last = now
	}
}

// resetAt is x-ratelimit-reset (before the skew, truncated to the second by
// the caller): when tokens will next be added. A full bucket gains nothing,
// so it reports the current second, as Auth0 was seen to do (facts §3,
// go-auth0#501). Continuous mode reports when the next whole token will
// have arrived, rounded up to the second (truncated with TruncateReset);
// step mode the second of the next step (truncated: with a whole-second
// period that is the next second).
func (b *bucket) resetAt(now time.Time) time.Time {
	sec := time.Unix(now.Unix(), 0)
	if b.tokens >= b.capacity-tokenEpsilon {
		return sec
	}
	next := b.nextTokenAt(now)
	if b.step || b.truncate {
		return time.Unix(next.Unix(), 0)
	}
	return time.Unix(ceilUnix(next), 0)
}

// nextTokenAt is when the bucket next holds one more whole token.
func (b *bucket) nextTokenAt(now time.Time) time.Time {
	if b.step {
		return time.Unix(0, (b.stepIndex(now)+1)*int64(b.period))
	}
	nextWhole := math.Floor(b.tokens+tokenEpsilon) + 1
	return now.Add(time.Duration(math.Ceil((nextWhole - b.tokens) / b.refill * float64(time.Second))))
}

// retryAfter is whole seconds, rounded up, until the next whole token.
func (b *bucket) retryAfter(now time.Time) int64 {
	if b.tokens >= 1-tokenEpsilon {
		return 0
	}
	if b.step {
		// Enough tokens may take more than one step at a fractional refill.
		steps := math.Ceil((1 - b.tokens - tokenEpsilon) / b.stepRefill())
		at := time.Unix(0, (b.stepIndex(now)+int64(steps))*int64(b.period))
		return ceilSeconds(at.Sub(now))
	}
	return ceilSeconds(time.Duration(math.Ceil((1 - b.tokens) / b.refill * float64(time.Second))))
}

func ceilSeconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

func (d rateDecision) apply(rep *reply) {
	if d.skewed {
		// net/http stamps Date with the real clock unless it is set.
		rep.setHeader("Date", d.date.UTC().Format(http.TimeFormat))
	}
	switch d.headers {
	case HeadersNone:
		return
	case HeadersRetryAfter:
		if !d.allowed {
			rep.setHeader("Retry-After", strconv.FormatInt(max(1, d.retryAfter), 10))
		}
		return
	}
	rep.setRawHeader("x-ratelimit-limit", strconv.Itoa(d.limit))
	rep.setRawHeader("x-ratelimit-remaining", strconv.Itoa(d.remaining))
	rep.setRawHeader("x-ratelimit-reset", strconv.FormatInt(d.reset, 10))
}

func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() == 0 {
		return t.Unix()
	}
	return t.Unix() + 1
}
