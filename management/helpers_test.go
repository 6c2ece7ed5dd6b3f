package management

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"
)

// Distinctive credentials: no failure path may ever print them.
const (
	testToken     = "tok-DO-NOT-LEAK-6e1f0a9c"
	testClientID  = "cid-visible-1234"
	testSecret    = "sec-DO-NOT-LEAK-b7/4+q=z"
	testUserAgent = "rolesweep/test"
)

// seenRequest is what a fake server saw of one request.
type seenRequest struct {
	Method     string
	RequestURI string
	Path       string // decoded by the server
	Header     http.Header
	Body       []byte
}

// fakeServer is an httptest server that records every request and answers
// with the handler the test gives it.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []seenRequest
}

func newFakeServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeServer {
	t.Helper()
	fs := &fakeServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		fs.mu.Lock()
		fs.requests = append(fs.requests, seenRequest{
			Method: r.Method, RequestURI: r.RequestURI, Path: r.URL.Path,
			Header: r.Header.Clone(), Body: body,
		})
		fs.mu.Unlock()
		handler(w, r, body)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeServer) seen() []seenRequest {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]seenRequest(nil), fs.requests...)
}

// newTokenClient is a client with a static API token against srv.
func newTokenClient(t *testing.T, srv *fakeServer) *Client {
	t.Helper()
	c, err := New(Config{Domain: srv.URL, APIToken: testToken, UserAgent: testUserAgent})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func respond(w http.ResponseWriter, status int, body string, headers ...string) {
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	if w.Header().Get("Content-Type") == "" && body != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// assertJSONEqual compares two JSON documents semantically.
func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(want), &w); err != nil {
		t.Fatalf("expected body %q is not JSON: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}

// fakeClock is a settable clock for token expiry and Retry-After dates.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// renewalCount is how many access tokens c fetched with client credentials.
func renewalCount(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.renewals
}

// fastTokenRetries keeps the token fetch's backoff in milliseconds.
func fastTokenRetries(c *Client) {
	c.tokenBackoff = time.Millisecond
	c.tokenBackoffMax = 4 * time.Millisecond
}
