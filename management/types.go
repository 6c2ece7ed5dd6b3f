// Package management is a small client for the parts of the Auth0 Management
// API v2 that rolesweep uses. It knows nothing of plans, pacing or reports:
// each method makes exactly one API request (plus at most one token renewal,
// shared by every caller, and one repeat on a 401) and reports the tenant's
// answer, rate-limit headers included. Failures are typed: *APIError,
// *TokenError, *NetworkError, *DecodeError, ErrTokenUnavailable,
// ErrInvalidArgument, *ConfigError.
package management

import (
	"fmt"
	"time"
)

// RateLimit is what the tenant's x-ratelimit-* headers said about its bucket.
type RateLimit struct {
	Present   bool      // all three headers were present and parsed
	Limit     int       // x-ratelimit-limit: bucket size
	Remaining int       // x-ratelimit-remaining
	Reset     time.Time // x-ratelimit-reset (Unix seconds): next refill
}

// Response describes one HTTP answer from the tenant. It is filled whenever
// an HTTP answer arrived, including for errors; it is zero for network errors.
type Response struct {
	StatusCode int
	RateLimit  RateLimit
	RetryAfter time.Duration // Retry-After header, when present
	Date       time.Time     // Date header (the tenant's clock), when present
}

// APIError is a non-2xx answer from the Management API, in Auth0's JSON shape
// {"statusCode","error","message","errorCode"}. It never contains a token.
type APIError struct {
	StatusCode int    `json:"statusCode"`
	ErrorText  string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode"`

	Response Response `json:"-"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s", e.StatusCode, e.ErrorText)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.ErrorCode != "" {
		s += " (" + e.ErrorCode + ")"
	}
	return s
}

// Role is a role object as the tenant returns it; unknown fields are ignored.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// RolesPage is one page of a roles listing.
type RolesPage struct {
	Roles []Role `json:"roles"`
	Start int    `json:"start"`
	Limit int    `json:"limit"`
	Total int    `json:"total"`

	// TotalKnown is false when the tenant answered without totals (a bare
	// array); Total is then synthesised: Start+len(Roles), plus one after a
	// full page, since more may follow.
	TotalKnown bool `json:"-"`
}

// User is the part of a user object rolesweep reads.
type User struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// UsersPage is one page of a page-based users listing (a role's holders).
type UsersPage struct {
	Users []User `json:"users"`
	Start int    `json:"start"`
	Limit int    `json:"limit"`
	Total int    `json:"total"`

	// TotalKnown is false when the tenant answered without totals (a bare
	// array); Total is then synthesised as for RolesPage.
	TotalKnown bool `json:"-"`
}

// CheckpointPage is one page of a checkpoint-paged users listing. Next is
// the "from" of the following page; it is empty on the last page.
type CheckpointPage struct {
	Users []User `json:"users"`
	Next  string `json:"next"`
}
