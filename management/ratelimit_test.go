package management

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want RateLimit
	}{
		{"all three", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "49", "x-ratelimit-reset", "1675452600"),
			RateLimit{Present: true, Limit: 50, Remaining: 49, Reset: time.Unix(1675452600, 0)}},
		{"canonical case, spaces", header("X-RateLimit-Limit", " 30 ", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1643756409"),
			RateLimit{Present: true, Limit: 30, Remaining: 0, Reset: time.Unix(1643756409, 0)}},
		{"reset missing", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "49"), RateLimit{}},
		{"limit missing", header("x-ratelimit-remaining", "49", "x-ratelimit-reset", "1675452600"), RateLimit{}},
		{"remaining not a number", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "many", "x-ratelimit-reset", "1675452600"), RateLimit{}},
		{"reset as a date", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "1", "x-ratelimit-reset", "Wed, 21 Oct 2026 07:28:00 GMT"), RateLimit{}},
		{"reset in milliseconds is still a number", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "1", "x-ratelimit-reset", "1675452600000"),
			RateLimit{Present: true, Limit: 50, Remaining: 1, Reset: time.Unix(1675452600000, 0)}},
		{"negative remaining", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "-1", "x-ratelimit-reset", "1675452600"), RateLimit{}},
		{"zero reset", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "1", "x-ratelimit-reset", "0"), RateLimit{}},
		{"fractional", header("x-ratelimit-limit", "50", "x-ratelimit-remaining", "1.5", "x-ratelimit-reset", "1675452600"), RateLimit{}},
		{"none", http.Header{}, RateLimit{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRateLimit(tt.h); got != tt.want {
				t.Errorf("ParseRateLimit = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"1.5", 0},
		{"Fri, 27 Nov 2026 10:00:30 GMT", 30 * time.Second},                  // IMF-fixdate
		{"Friday, 27-Nov-26 10:01:00 GMT", time.Minute},                      // RFC 850
		{"Fri Nov 27 10:00:05 2026", 5 * time.Second},                        // asctime
		{"Fri, 27 Nov 2026 09:59:00 GMT", 0},                                 // past
		{"99999999999999999999", 0},                                          // not an int64
		{"9999999999999", time.Duration(maxRetryAfterSeconds) * time.Second}, // clamped, no overflow
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			if got := ParseRetryAfter(header("Retry-After", tt.value), now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %s, want %s", tt.value, got, tt.want)
			}
		})
	}
}

// The client reads Retry-After in both forms on real answers, the date one
// against its own clock.
func TestResponseRetryAfterBothForms(t *testing.T) {
	clock := newFakeClock()
	for _, tt := range []struct {
		value string
		want  time.Duration
	}{
		{"4", 4 * time.Second},
		{clock.Now().Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
	} {
		srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			respond(w, 429, `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`,
				"Retry-After", tt.value)
		})
		c := newTokenClient(t, srv)
		c.now = clock.Now
		_, resp, err := c.Roles(context.Background(), "x", 0, 50)
		if err == nil || resp.StatusCode != 429 || resp.RetryAfter != tt.want {
			t.Errorf("Retry-After %q: resp %+v err %v, want RetryAfter %s", tt.value, resp, err, tt.want)
		}
	}
}
