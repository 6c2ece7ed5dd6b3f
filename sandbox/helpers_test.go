package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is a whole second, so that reset arithmetic in the tests is exact.
var t0 = time.Unix(1_700_000_000, 0)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(at time.Time) *fakeClock { return &fakeClock{now: at} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newServer starts a sandbox under httptest; the tenant holds a fake clock
// unless opts sets one.
func newServer(t *testing.T, opts Options) (*Tenant, *httptest.Server) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = newFakeClock(t0)
	}
	tn := New(opts)
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return tn, srv
}

type answer struct {
	status int
	header http.Header
	body   string
}

// request sends one request; path is appended to the server URL as is, so
// it carries the escaping under test. body "" sends no body; contentType
// "" with a body means application/json.
func request(t *testing.T, srv *httptest.Server, method, path, token, body string, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (a answer) expect(t *testing.T, status int, body string) {
	t.Helper()
	if a.status != status || a.body != body {
		t.Fatalf("got %d %s\nwant %d %s", a.status, a.body, status, body)
	}
	if ct := a.header.Get("Content-Type"); ct != jsonContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, jsonContentType)
	}
}

func (a answer) expectStatus(t *testing.T, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("got %d %s, want status %d", a.status, a.body, status)
	}
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatalf("decoding %q: %v", a.body, err)
	}
	return v
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
