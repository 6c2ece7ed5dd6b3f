package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// statusSequence sends n GETs and returns the statuses.
func statusSequence(t *testing.T, opts Options, n int, interleave bool) []int {
	t.Helper()
	tn, srv := newServer(t, opts)
	tn.AddRole(rolA, "A")
	tn.AddUser(jane, "jane@example.com", rolA)
	var out []int
	for range n {
		out = append(out, request(t, srv, "GET", "/api/v2/users/"+janeEscaped+"/roles", tn.Token(), "").status)
		if interleave {
			request(t, srv, "GET", "/api/v2/roles", tn.Token(), "")
		}
	}
	return out
}

func TestFaultsAreDeterministic(t *testing.T) {
	opts := Options{FailRate: 0.3, ApplyThenFailRate: 0.2, FaultSeed: 42}
	first := statusSequence(t, opts, 60, false)
	second := statusSequence(t, opts, 60, false)
	if !slices.Equal(first, second) {
		t.Fatalf("same seed, different statuses:\n%v\n%v", first, second)
	}
	// Faults on one route do not depend on traffic to another.
	if interleaved := statusSequence(t, opts, 60, true); !slices.Equal(first, interleaved) {
		t.Fatalf("other routes shifted the sequence:\n%v\n%v", first, interleaved)
	}
	counts := map[int]int{}
	for _, s := range first {
		counts[s]++
	}
	if counts[200] == 0 || counts[503] == 0 || counts[500]+counts[502] == 0 || len(counts) < 3 {
		t.Fatalf("expected a mix of 200 and 5xx, got %v", counts)
	}
	for s := range counts {
		if s != 200 && s != 500 && s != 502 && s != 503 {
			t.Fatalf("unexpected status %d", s)
		}
	}
	opts.FaultSeed = 43
	if other := statusSequence(t, opts, 60, false); slices.Equal(first, other) {
		t.Fatalf("seeds 42 and 43 gave the same sequence")
	}
}

func TestFailDoesNotApply(t *testing.T) {
	tn, _, do := seededServer(t, Options{FailRate: 1, Bucket: 5})
	a := do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`)
	if a.status < 500 || !strings.Contains(a.body, fmt.Sprintf(`"statusCode":%d`, a.status)) {
		t.Fatalf("fail fault answered %d %s", a.status, a.body)
	}
	if a.header.Get("X-Ratelimit-Remaining") != "4" {
		t.Fatalf("a fault answer lacks rate-limit headers: %v", a.header)
	}
	if got := tn.Roles(jane); len(got) != 3 {
		t.Fatalf("a failed DELETE was applied: %v", got)
	}
	if s := tn.Stats(); s.Faults.Failed != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestApplyThenFail(t *testing.T) {
	tn, _, do := seededServer(t, Options{ApplyThenFailRate: 1})
	do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 503,
		`{"statusCode":503,"error":"Service Unavailable","message":"Service Unavailable"}`)
	if got := tn.Roles(jane); !equalStrings(got, []string{rolB, rolKeep}) {
		t.Fatalf("apply-then-fail did not apply: %v", got)
	}
	// A retry of the same DELETE is then an idempotent no-op (also 503 here).
	do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expectStatus(t, 503)
	if s := tn.Stats(); s.Faults.AppliedThenFailed != 2 || s.RolesRemoved != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestDropClosesConnection(t *testing.T) {
	tn, srv := newServer(t, Options{DropRate: 1})
	tn.AddRole(rolA, "A")
	tn.AddUser(jane, "jane@example.com", rolA)
	req, _ := http.NewRequest("DELETE", srv.URL+"/api/v2/users/"+janeEscaped+"/roles", strings.NewReader(`{"roles":["rol_AAAAAAAAAAAAAAAA"]}`))
	req.Header.Set("Authorization", "Bearer "+tn.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a dropped request got an answer: %d", resp.StatusCode)
	}
	if got := tn.Roles(jane); !equalStrings(got, []string{rolA}) {
		t.Fatalf("a dropped DELETE was applied: %v", got)
	}
	s := tn.Stats()
	if s.Faults.Dropped != 1 || s.Requests["DELETE /api/v2/users/{id}/roles"][0] != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestFaultsSpareTokenEndpointAndInspection(t *testing.T) {
	tn, srv := newServer(t, Options{DropRate: 1, ClientID: "cid", ClientSecret: "cs"})
	formToken(t, srv, clientForm(srv, "cid", "cs")).expectStatus(t, 200)
	request(t, srv, "GET", "/__sandbox/stats", "", "").expectStatus(t, 200)
	if s := tn.Stats(); s.Faults.Dropped != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestSetFailNext(t *testing.T) {
	tn, _, do := seededServer(t, Options{Bucket: 10})
	path := "/api/v2/users/" + janeEscaped + "/roles"
	body := `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`

	tn.SetFailNext(2, 500)
	do("DELETE", path, body).expect(t, 500, `{"statusCode":500,"error":"Internal Server Error","message":"An internal server error occurred"}`)
	a := do("DELETE", path, body)
	a.expectStatus(t, 500)
	if a.header.Get("X-Ratelimit-Remaining") != "8" {
		t.Fatalf("forced answer headers: %v", a.header)
	}
	if got := tn.Roles(jane); len(got) != 3 {
		t.Fatalf("a forced failure applied: %v", got)
	}
	do("DELETE", path, body).expect(t, 204, "")

	tn.SetFailNext(1, 401)
	a = do("GET", path, "")
	a.expect(t, 401, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token","attributes":{"error":"Invalid token"}}`)
	if a.header.Get("WWW-Authenticate") != `Token error="Invalid token"` {
		t.Fatalf("forced 401 headers: %v", a.header)
	}
	tn.SetFailNext(1, 403)
	do("DELETE", path, body).expect(t, 403, `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: update:users","errorCode":"insufficient_scope"}`)
	tn.SetFailNext(1, 429)
	do("GET", path, "").expect(t, 429, `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`)
	tn.SetFailNext(3, 502)
	tn.SetFailNext(0, 502) // cancels
	do("GET", path, "").expectStatus(t, 200)

	if s := tn.Stats(); s.Faults.Forced != 5 || s.RateLimited != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestLatencyUsesInjectedSleep(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
	}
	run := func() []time.Duration {
		mu.Lock()
		slept = nil
		mu.Unlock()
		tn, srv := newServer(t, Options{Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond, FaultSeed: 7, Sleep: sleep})
		for range 20 {
			request(t, srv, "GET", "/api/v2/roles", tn.Token(), "").expectStatus(t, 200)
		}
		formToken(t, srv, clientForm(srv, tn.ClientID(), tn.ClientSecret())).expectStatus(t, 200)
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(slept)
	}
	first := run()
	if len(first) != 20 {
		t.Fatalf("slept %d times, want 20 (the token endpoint has no latency)", len(first))
	}
	distinct := map[time.Duration]bool{}
	for _, d := range first {
		if d < 100*time.Millisecond || d >= 150*time.Millisecond {
			t.Fatalf("latency %s outside [100ms,150ms)", d)
		}
		distinct[d] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("no jitter: %v", first)
	}
	if second := run(); !slices.Equal(first, second) {
		t.Fatalf("jitter differs for the same seed")
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []Options{
		{Bucket: -1},
		{Refill: -1},
		{RefillMode: "burst"},
		{TokenTTL: -time.Second},
		{Latency: -time.Second},
		{FailRate: 1.5},
		{DropRate: -0.1},
		{FailRate: 0.6, DropRate: 0.3, ApplyThenFailRate: 0.2},
	}
	for _, o := range bad {
		if o.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", o)
		}
	}
	if err := (Options{Bucket: 50, Refill: 16, RefillMode: RefillStep, FailRate: 0.5, DropRate: 0.5}).Validate(); err != nil {
		t.Errorf("valid options rejected: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted invalid options")
		}
	}()
	New(Options{RefillMode: "burst"})
}
