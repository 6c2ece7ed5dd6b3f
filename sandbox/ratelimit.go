package sandbox

import (
	"math"
	"strconv"
	"time"
)

// tokenEpsilon absorbs float rounding (0.1+0.2 style) so that a bucket that
// holds "2.9999999999" tokens counts as 3.
const tokenEpsilon = 1e-9

// bucket is Auth0's rate limiter as documented: a token bucket whose size is
// the burst limit and whose refill rate is the sustained limit. Every
// /api/v2 request takes one token; a request that finds less than one token
// is answered 429 and takes nothing.
type bucket struct {
	limit      int
	capacity   float64
	refill     float64 // tokens per second
	step       bool
	truncate   bool // continuous mode: report the next refill's second, not the one after
	tokens     float64
	last       time.Time // continuous mode: when tokens was last brought up to date
	lastSecond int64     // step mode: the whole second tokens was last refilled for
}

// rateDecision is what one request learns from the bucket; the header values
// describe the bucket after the request.
type rateDecision struct {
	allowed   bool
	limit     int
	remaining int
	reset     int64 // Unix seconds
}

func newBucket(limit int, refill float64, step, truncate bool, now time.Time) *bucket {
	return &bucket{
		truncate:   truncate,
		limit:      limit,
		capacity:   float64(limit),
		refill:     refill,
		step:       step,
		tokens:     float64(limit),
		last:       now,
		lastSecond: floorUnix(now),
	}
}

func (b *bucket) take(now time.Time) rateDecision {
	b.advance(now)
	allowed := b.tokens >= 1-tokenEpsilon
	if allowed {
		b.tokens = math.Max(0, b.tokens-1)
	}
	return rateDecision{
		allowed:   allowed,
		limit:     b.limit,
		remaining: int(math.Floor(b.tokens + tokenEpsilon)),
		reset:     b.resetAt(now),
	}
}

func (b *bucket) advance(now time.Time) {
	if b.step {
		if sec := floorUnix(now); sec > b.lastSecond {
			b.tokens = math.Min(b.capacity, b.tokens+b.refill*float64(sec-b.lastSecond))
			b.lastSecond = sec
		}
		return
	}
	// A clock that goes backwards (a fake one in a test) refills nothing.
	if now.After(b.last) {
		b.tokens = math.Min(b.capacity, b.tokens+b.refill*now.Sub(b.last).Seconds())
		b.last = now
	}
}

// resetAt is x-ratelimit-reset: when tokens will next be added. A full bucket
// gains nothing, so it reports the current second, as Auth0 was seen to do
// (facts §3, go-auth0#501). Continuous mode reports when the next whole token
// will have arrived, rounded up to the second (truncated with TruncateReset);
// step mode the next second.
func (b *bucket) resetAt(now time.Time) int64 {
	sec := floorUnix(now)
	if b.tokens >= b.capacity-tokenEpsilon {
		return sec
	}
	if b.step {
		return sec + 1
	}
	nextWhole := math.Floor(b.tokens+tokenEpsilon) + 1
	wait := time.Duration(math.Ceil((nextWhole - b.tokens) / b.refill * float64(time.Second)))
	if b.truncate {
		return floorUnix(now.Add(wait))
	}
	return ceilUnix(now.Add(wait))
}

func (d rateDecision) apply(rep *reply) {
	rep.setRawHeader("x-ratelimit-limit", strconv.Itoa(d.limit))
	rep.setRawHeader("x-ratelimit-remaining", strconv.Itoa(d.remaining))
	rep.setRawHeader("x-ratelimit-reset", strconv.FormatInt(d.reset, 10))
}

func floorUnix(t time.Time) int64 { return t.Unix() }

func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() == 0 {
		return t.Unix()
	}
	return t.Unix() + 1
}
