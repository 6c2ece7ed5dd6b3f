package management

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRateLimit reads Auth0's x-ratelimit-limit, x-ratelimit-remaining and
// x-ratelimit-reset (Unix seconds) headers. Present is true only when all
// three are there and parse as non-negative integers (reset positive).
func ParseRateLimit(h http.Header) RateLimit {
	limit, okLimit := headerInt(h, "X-Ratelimit-Limit")
	remaining, okRemaining := headerInt(h, "X-Ratelimit-Remaining")
	reset, okReset := headerInt(h, "X-Ratelimit-Reset")
	if !okLimit || !okRemaining || !okReset || reset <= 0 || limit > math.MaxInt32 || remaining > math.MaxInt32 {
		return RateLimit{}
	}
	return RateLimit{Present: true, Limit: int(limit), Remaining: int(remaining), Reset: time.Unix(reset, 0)}
}

func headerInt(h http.Header, key string) (int64, bool) {
	v := strings.TrimSpace(h.Get(key))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// maxRetryAfterSeconds keeps seconds × time.Second from overflowing.
const maxRetryAfterSeconds = math.MaxInt64 / int64(time.Second)

// ParseRetryAfter reads a Retry-After header given as delay-seconds or as an
// HTTP date (RFC 9110 §10.2.3), relative to now. It returns 0 when the header
// is absent, malformed or names a moment already past.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, maxRetryAfterSeconds)) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := at.Sub(now); d > 0 {
		return d
	}
	return 0
}

func responseOf(res *http.Response, now time.Time) Response {
	return Response{
		StatusCode: res.StatusCode,
		RateLimit:  ParseRateLimit(res.Header),
		RetryAfter: ParseRetryAfter(res.Header, now),
		Date:       parseDate(res.Header),
	}
}

// parseDate reads the Date header: the tenant's own clock, which the pacer
// compares with ours before trusting x-ratelimit-reset. Zero when absent.
func parseDate(h http.Header) time.Time {
	t, err := http.ParseTime(strings.TrimSpace(h.Get("Date")))
	if err != nil {
		return time.Time{}
	}
	return t
}
