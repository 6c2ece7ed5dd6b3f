package sandbox

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A step every 1.5 s: the refill comes at the multiples of 1.5 s since the
// epoch, half of them between whole seconds, and the reset header names the
// second the next step falls in.
func TestBucketOffGridSteps(t *testing.T) {
	start := time.Unix(1_700_000_002, 0) // steps at 1_700_000_002.5 (+0.5 s) and 1_700_000_004 (+2 s)
	b := newBucket(bucketConfig{limit: 4, refill: 2, step: true, period: 1500 * time.Millisecond}, start)
	for i := range 4 {
		require.True(t, b.take(start).allowed, "token %d of the first burst", i)
	}
	d := b.take(start.Add(400 * time.Millisecond))
	assert.False(t, d.allowed, "no step before +0.5s")
	assert.Equal(t, start.Unix(), d.reset, "the next step falls in the current second (+0.5 s)")
	d = b.take(start.Add(600 * time.Millisecond))
	require.True(t, d.allowed, "the step at +0.5s brought 3 tokens")
	assert.Equal(t, 2, d.remaining)
	assert.Equal(t, start.Unix()+2, d.reset, "the step after is at +2.0 s")
	b.take(start.Add(700 * time.Millisecond))
	b.take(start.Add(800 * time.Millisecond))
	d = b.take(start.Add(1900 * time.Millisecond))
	assert.False(t, d.allowed, "nothing between +0.5 s and +2.0 s")
	assert.Equal(t, int64(1), d.retryAfter)
}

// 150 per minute refilled by the second: 2.5 tokens a step, so steps
// alternate between adding 2 and 3 whole tokens.
func TestBucketPerMinute(t *testing.T) {
	b := newBucket(bucketConfig{limit: 10, refill: 150.0 / 60, step: true}, t0)
	for range 10 {
		require.True(t, b.take(t0).allowed)
	}
	got := 0
	for s := 1; s <= 4; s++ {
		at := t0.Add(time.Duration(s)*time.Second + 10*time.Millisecond)
		for b.take(at).allowed {
			got++
		}
	}
	assert.Equal(t, 10, got, "four steps of 2.5 tokens")
}

func TestRateHeaderModes(t *testing.T) {
	for _, mode := range []string{HeadersNone, HeadersRetryAfter} {
		t.Run(mode, func(t *testing.T) {
			tn, srv := newServer(t, Options{Bucket: 1, Refill: 0.5, RateHeaders: mode})
			first := request(t, srv, "GET", "/api/v2/roles", tn.Token(), "")
			require.Equal(t, 200, first.status)
			assert.Empty(t, first.header.Get("X-Ratelimit-Limit"))
			second := request(t, srv, "GET", "/api/v2/roles", tn.Token(), "")
			require.Equal(t, 429, second.status)
			assert.Empty(t, second.header.Get("X-Ratelimit-Remaining"))
			assert.Empty(t, second.header.Get("X-Ratelimit-Reset"))
			if mode == HeadersRetryAfter {
				assert.Equal(t, "2", second.header.Get("Retry-After"), "one token at 0.5/s")
			} else {
				assert.Empty(t, second.header.Get("Retry-After"))
			}
		})
	}
}

func TestClockSkewMovesDateAndReset(t *testing.T) {
	tn, srv := newServer(t, Options{Bucket: 5, Refill: 5, RefillMode: RefillStep, ClockSkew: 120 * time.Second})
	a := request(t, srv, "GET", "/api/v2/roles", tn.Token(), "")
	require.Equal(t, 200, a.status)
	date, err := http.ParseTime(a.header.Get("Date"))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(120*time.Second).Unix(), date.Unix())
	reset, err := strconv.ParseInt(a.header.Get("X-Ratelimit-Reset"), 10, 64)
	require.NoError(t, err)
	assert.Equal(t, t0.Unix()+121, reset)
}

func TestValidateRateOptions(t *testing.T) {
	assert.Error(t, Options{RateHeaders: "some"}.Validate())
	assert.Error(t, Options{StepPeriod: -time.Second}.Validate())
	assert.NoError(t, Options{Bucket: 24, Refill: 16, RefillMode: RefillStep, StepPeriod: 1500 * time.Millisecond, RateHeaders: HeadersRetryAfter}.Validate())
}
