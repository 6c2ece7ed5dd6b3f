package sandbox

import "maps"

// Stats counts what the sandbox answered since it started.
type Stats struct {
	// Total counts every request except those to /__sandbox/.
	Total int `json:"total"`
	// Requests counts answers by "METHOD route" (e.g. "DELETE
	// /api/v2/users/{id}/roles", "POST /oauth/token", "GET (no route)") and
	// status; status 0 means the connection was dropped without an answer.
	Requests map[string]map[int]int `json:"requests"`
	// RateLimited counts 429 answers of the bucket (not forced ones).
	RateLimited int `json:"rate_limited"`
	// MaxInFlight is the most requests the tenant was handling at once.
	MaxInFlight int `json:"max_in_flight"`
	// Faults counts injected faults.
	Faults FaultStats `json:"faults"`
	// TokensIssued counts successful /oauth/token answers.
	TokensIssued int `json:"tokens_issued"`
	// RolesRemoved counts role assignments that DELETEs actually removed
	// (user roles and organization member roles).
	RolesRemoved int `json:"roles_removed"`
	// RolesAssigned counts role assignments that POSTs actually added (user
	// roles and organization member roles); re-assigning a held role adds
	// nothing.
	RolesAssigned int `json:"roles_assigned"`
}

// FaultStats counts injected faults by kind.
type FaultStats struct {
	Failed            int `json:"failed"`              // FailRate: 5xx, nothing applied
	Dropped           int `json:"dropped"`             // DropRate: connection closed, nothing applied
	AppliedThenFailed int `json:"applied_then_failed"` // ApplyThenFailRate: applied, then 503
	Forced            int `json:"forced"`              // SetFailNext answers
	InvalidJSON       int `json:"invalid_json"`        // ReadFaultInvalidJSON answers
	TokenFailed       int `json:"token_failed"`        // TokenStatus answers
}

func newStats() Stats {
	return Stats{Requests: map[string]map[int]int{}}
}

// Stats returns a copy of the counters.
func (t *Tenant) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Requests = make(map[string]map[int]int, len(t.stats.Requests))
	for k, v := range t.stats.Requests {
		s.Requests[k] = maps.Clone(v)
	}
	return s
}

func (t *Tenant) countLocked(routeKey string, status int) {
	t.stats.Total++
	m := t.stats.Requests[routeKey]
	if m == nil {
		m = map[int]int{}
		t.stats.Requests[routeKey] = m
	}
	m[status]++
}

// enter and leave track requests in flight for MaxInFlight.
func (t *Tenant) enter() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inFlight++
	t.stats.MaxInFlight = max(t.stats.MaxInFlight, t.inFlight)
}

func (t *Tenant) leave() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inFlight--
}
