package sandbox

import (
	"fmt"
	"net/http"
	"time"
)

// Deterministic faults of the tenant as a whole, for hardening tests: a
// token endpoint that fails or is slow, and reads whose answers cannot be
// trusted. Unlike FailRate and friends they are not drawn at random: they
// hold for every request until changed with SetReadFault or SetTokenFault.

// Values of Options.ReadFault.
const (
	// ReadFaultEndless makes every list (GET /users/{id}/roles, GET /roles,
	// GET /roles/{id}/users, GET /organizations/{id}/members/{user}/roles)
	// answer a full page of made-up items, different on every page, with
	// total 1,000,000,000; checkpoint pages of role users always carry a
	// next. A client that pages "until a short page" never stops.
	ReadFaultEndless = "endless"
	// ReadFaultLowTotal reports total 0 in every include_totals answer,
	// while the pages hold the real items. A client that stops at total
	// reads page 0 only.
	ReadFaultLowTotal = "low-total"
	// ReadFaultInvalidJSON cuts the body of every 200 answer to an /api/v2
	// GET in half (at least one byte is dropped), so it is not valid JSON.
	// The status and headers stay those of a success.
	ReadFaultInvalidJSON = "invalid-json"
)

// ReadFaults lists the values Options.ReadFault accepts besides "".
func ReadFaults() []string {
	return []string{ReadFaultEndless, ReadFaultLowTotal, ReadFaultInvalidJSON}
}

// endlessTotal is the total an endless list claims.
const endlessTotal = 1_000_000_000

const (
	endlessUserPrefix = "auth0|endless"
	endlessRolePrefix = "rol_Endless"
)

func endlessRoles(offset, n int) []roleObject {
	out := make([]roleObject, n)
	for i := range out {
		out[i] = roleObject{ID: fmt.Sprintf("%s%012d", endlessRolePrefix, offset+i), Name: fmt.Sprintf("Endless %d", offset+i)}
	}
	return out
}

func endlessUsers(offset, n int) []userObject {
	out := make([]userObject, n)
	for i := range out {
		email := fmt.Sprintf("endless%d@example.com", offset+i)
		out[i] = userObject{UserID: fmt.Sprintf("%s%012d", endlessUserPrefix, offset+i), Email: email, Picture: pictureFor(email), Name: email}
	}
	return out
}

// reportedTotal is what an include_totals answer says the total is.
func (t *Tenant) reportedTotal(n int) int {
	if t.opts.ReadFault == ReadFaultLowTotal {
		return 0
	}
	return n
}

// corruptReadLocked applies ReadFaultInvalidJSON to a finished answer.
func (t *Tenant) corruptReadLocked(method string, rep *reply) {
	if t.opts.ReadFault != ReadFaultInvalidJSON || method != http.MethodGet || rep.status != http.StatusOK || len(rep.body) == 0 {
		return
	}
	t.stats.Faults.InvalidJSON++
	rep.body = rep.body[:len(rep.body)/2]
}

// SetReadFault switches the read fault (one of ReadFaults, or "" for none)
// of a running tenant, e.g. to break reads half-way through a run.
func (t *Tenant) SetReadFault(kind string) {
	if err := validateReadFault(kind); err != nil {
		panic(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opts.ReadFault = kind
}

// SetTokenFault switches the token endpoint's faults of a running tenant:
// status (0 for none, else 4xx or 5xx) and latency, as Options.TokenStatus
// and Options.TokenLatency.
func (t *Tenant) SetTokenFault(status int, latency time.Duration) {
	if err := validateTokenFault(status, latency); err != nil {
		panic(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opts.TokenStatus, t.opts.TokenLatency = status, latency
}

func validateReadFault(kind string) error {
	switch kind {
	case "", ReadFaultEndless, ReadFaultLowTotal, ReadFaultInvalidJSON:
		return nil
	}
	return fmt.Errorf("sandbox: read fault must be %q, %q or %q (got %q)", ReadFaultEndless, ReadFaultLowTotal, ReadFaultInvalidJSON, kind)
}

func validateTokenFault(status int, latency time.Duration) error {
	if status != 0 && (status < 400 || status > 599) {
		return fmt.Errorf("sandbox: token status must be 0 or a 4xx or 5xx code (got %d)", status)
	}
	if latency < 0 {
		return fmt.Errorf("sandbox: token latency must not be negative (got %s)", latency)
	}
	return nil
}

// tokenFaultReply is the answer of a failing token endpoint: the
// Authentication API's error shape (its real 5xx texts are UNVERIFIED).
func tokenFaultReply(status int) reply {
	switch status {
	case http.StatusTooManyRequests:
		return oauthError(status, "too_many_requests", "Rate limit exceeded. Please retry after some time.")
	case http.StatusUnauthorized:
		return oauthError(status, "invalid_client", "Client authentication failed")
	case http.StatusForbidden:
		return oauthError(status, "access_denied", "Access denied")
	}
	if status >= 500 {
		return oauthError(status, "server_error", "An internal server error occurred")
	}
	return oauthError(status, "invalid_request", http.StatusText(status))
}
