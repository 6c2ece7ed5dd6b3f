package sandbox

import (
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"time"
)

type faultKind int

const (
	faultNone faultKind = iota
	faultDrop
	faultFail
	faultApplyThenFail
)

// failStatuses are the answers of FailRate faults: what a gateway or an
// overloaded API sends when it did not process a request.
var failStatuses = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// faultInjector draws faults from one PCG stream per route. Per-route streams
// keep a route's fault sequence independent of how reads and writes
// interleave. It is used only under the tenant's lock.
type faultInjector struct {
	seed                      uint64
	drop, fail, applyThenFail float64
	latency, jitter           time.Duration
	streams                   map[string]*rand.Rand
	jitterRand                *rand.Rand
}

func newFaultInjector(o Options) *faultInjector {
	return &faultInjector{
		seed:          uint64(o.FaultSeed),
		drop:          o.DropRate,
		fail:          o.FailRate,
		applyThenFail: o.ApplyThenFailRate,
		latency:       o.Latency,
		jitter:        o.Jitter,
		streams:       map[string]*rand.Rand{},
		jitterRand:    rand.New(rand.NewPCG(uint64(o.FaultSeed), 0x6a6974746572)), // "jitter"
	}
}

func (f *faultInjector) enabled() bool {
	return f.drop > 0 || f.fail > 0 || f.applyThenFail > 0
}

// draw decides the fault for the next request on routeKey. It always takes
// two numbers from the stream, so that the sequence depends only on the
// number of draws, never on the outcomes.
func (f *faultInjector) draw(routeKey string) (faultKind, int) {
	if !f.enabled() {
		return faultNone, 0
	}
	r := f.streams[routeKey]
	if r == nil {
		h := fnv.New64a()
		_, _ = h.Write([]byte(routeKey))
		r = rand.New(rand.NewPCG(f.seed, h.Sum64()))
		f.streams[routeKey] = r
	}
	u := r.Float64()
	status := failStatuses[r.IntN(len(failStatuses))]
	switch {
	case u < f.drop:
		return faultDrop, 0
	case u < f.drop+f.fail:
		return faultFail, status
	case u < f.drop+f.fail+f.applyThenFail:
		return faultApplyThenFail, http.StatusServiceUnavailable
	}
	return faultNone, 0
}

// delay is the latency of the next answer: Latency plus uniform jitter.
func (f *faultInjector) delay() time.Duration {
	d := f.latency
	if f.jitter > 0 {
		d += time.Duration(f.jitterRand.Int64N(int64(f.jitter)))
	}
	return d
}

// forcedFailures answers the next n /api/v2 requests with a given status.
type forcedFailures struct {
	n      int
	status int
}

// SetFailNext makes the next n /api/v2 requests that pass the rate limiter
// answer status (401, 403, 429, 500, …) with an Auth0-shaped body, without
// applying anything. It replaces any earlier setting; n = 0 cancels it.
// status must be a 4xx or 5xx code.
func (t *Tenant) SetFailNext(n int, status int) {
	if status < 400 || status > 599 {
		panic("sandbox: SetFailNext wants a 4xx or 5xx status")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forced = forcedFailures{n: max(n, 0), status: status}
}

// forcedReply builds the Auth0-like answer for a forced status on route.
func forcedReply(status int, rt *route) reply {
	switch status {
	case http.StatusUnauthorized:
		return unauthorized("Invalid token")
	case http.StatusForbidden:
		msg := "Insufficient scope"
		if rt != nil {
			msg = rt.scopes.message()
		}
		return errorReply(status, msg, "insufficient_scope")
	case http.StatusTooManyRequests:
		return tooManyRequests()
	case http.StatusNotFound:
		return notFoundRoute()
	}
	if status >= 500 {
		return serverError(status)
	}
	return errorReply(status, http.StatusText(status), "")
}
