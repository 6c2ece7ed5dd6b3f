package pacer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rolesweep/rolesweep/management"
)

// Class is what an error means for the run: whether the attempt is retried,
// whether every worker pauses, whether the whole run stops.
type Class int

const (
	Success     Class = iota
	Retryable         // 5xx, 408, timeouts, network errors, token-endpoint 5xx/429/network
	RateLimited       // 429: retryable after a shared pause
	Auth              // 401, 403, token endpoint 4xx (bad credentials): fatal for the whole run
	Permanent         // other 4xx: not retried; the item fails
	Canceled          // the caller's ctx ended
	// Unreachable: network failures in a row from every worker (no HTTP
	// answer at all) say the tenant is gone; fatal for the whole run, like
	// Auth. Every later Call of the Pacer ends with it, Unsent.
	Unreachable
)

func (c Class) String() string {
	switch c {
	case Success:
		return "success"
	case Retryable:
		return "retryable"
	case RateLimited:
		return "rate_limited"
	case Auth:
		return "auth"
	case Permanent:
		return "permanent"
	case Canceled:
		return "canceled"
	case Unreachable:
		return "unreachable"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// errAttemptTimeout is the cause Call gives the per-attempt context, so that
// an attempt cut off by Config.AttemptTimeout is told apart from the caller
// giving up.
var errAttemptTimeout = errors.New("pacer: attempt timed out")

// attemptTimeoutError wraps the error of an attempt that Config.AttemptTimeout
// cut off. It is a timeout, so it is retried.
type attemptTimeoutError struct{ err error }

func (e *attemptTimeoutError) Error() string {
	if e.err == nil {
		return errAttemptTimeout.Error()
	}
	return errAttemptTimeout.Error() + ": " + e.err.Error()
}
func (e *attemptTimeoutError) Unwrap() []error { return []error{errAttemptTimeout, e.err} }
func (e *attemptTimeoutError) Timeout() bool   { return true }
func (e *attemptTimeoutError) Temporary() bool { return true }

// errStopped is what a Call returns after Stop. It wraps context.Canceled so
// that Classify agrees with the Outcome's class.
var errStopped = stoppedError{}

type stoppedError struct{}

func (stoppedError) Error() string { return "pacer: stopped: the run is aborting" }
func (stoppedError) Is(target error) bool {
	return target == context.Canceled
}

// retryableErrnos are socket errors after which the same request may well
// succeed: the peer or a middlebox dropped the connection, or a route flapped.
var retryableErrnos = []error{
	syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE,
	syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
}

// Classify maps an error from the management client to its behaviour. It is
// the one place that knows which errors are retried. It looks at what an
// error is (errors.As/Is through any wrapping), never at its text, except for
// net/http's redirect-limit error, which has no type.
//
// A deadline is treated as a timeout (Retryable): Classify cannot know whose
// deadline it was. Call reports Canceled whenever the caller's ctx has ended,
// whatever the attempt returned.
func Classify(err error) Class {
	if err == nil {
		return Success
	}
	var timeout *attemptTimeoutError
	if errors.As(err, &timeout) {
		return Retryable
	}
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		return Unreachable
	}
	if errors.Is(err, management.ErrTokenUnavailable) {
		// The shared token fetch kept failing for a bounded number of
		// tries: retrying asks the failing endpoint again. Fatal, like 401.
		return Auth
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	var apiErr *management.APIError
	if errors.As(err, &apiErr) {
		return classifyStatus(apiErr.StatusCode)
	}
	var tokenErr *management.TokenError
	if errors.As(err, &tokenErr) {
		return classifyTokenStatus(tokenErr.StatusCode)
	}
	if errors.Is(err, management.ErrInvalidArgument) {
		return Permanent
	}
	if management.IsCertificateError(err) {
		// A certificate that does not verify will not verify on the next try;
		// retrying only delays the message the user needs.
		return Permanent
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return Retryable
	}
	for _, errno := range retryableErrnos {
		if errors.Is(err, errno) {
			return Retryable
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return Permanent // the domain does not exist: a configuration mistake
		}
		return Retryable
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return Retryable
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return Retryable
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// Whatever else the transport reports (a connection closed mid-way, an
		// HTTP/2 GOAWAY) is about this connection, not this request, except a
		// redirect loop, which repeats.
		if strings.Contains(urlErr.Err.Error(), "stopped after") && strings.Contains(urlErr.Err.Error(), "redirects") {
			return Permanent
		}
		return Retryable
	}
	return Permanent
}

// classifyStatus is the behaviour of a Management API answer's status.
func classifyStatus(code int) Class {
	switch {
	case code == http.StatusTooManyRequests:
		return RateLimited
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Auth
	case code == http.StatusRequestTimeout || code >= 500:
		return Retryable
	}
	return Permanent
}

// classifyTokenStatus is the behaviour of an /oauth/token failure. Its 429 is
// the token endpoint's own bucket, not the Management API's, so it does not
// pause the workers: it is retried with backoff like a 5xx. Anything else
// (a 4xx for wrong credentials, a 2xx without a usable token) will not get
// better by retrying and would hit every other request too: the run stops.
func classifyTokenStatus(code int) Class {
	switch {
	case code == 0, code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code >= 500:
		return Retryable
	}
	return Auth
}

// UnreachableError is what every Call ends with once the tenant is gone:
// Failures network failures in a row over Span, the last one Last.
type UnreachableError struct {
	Failures int
	Span     time.Duration
	Last     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("pacer: the tenant is unreachable: %d requests in a row got no answer over %s (last: %v)",
		e.Failures, e.Span.Round(time.Millisecond), e.Last)
}
func (e *UnreachableError) Unwrap() error { return e.Last }

// isNetworkFailure says err came with no HTTP answer at all: the connection
// was refused or reset, the name did not resolve, TLS failed, or the attempt
// timed out. A token endpoint that could not be reached counts too.
func isNetworkFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *management.APIError
	if errors.As(err, &apiErr) {
		return false
	}
	if management.IsNetwork(err) {
		return true
	}
	var tokenErr *management.TokenError
	if errors.As(err, &tokenErr) {
		return tokenErr.StatusCode == 0
	}
	var timeout *attemptTimeoutError
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var urlErr *url.Error
	return errors.As(err, &timeout) || errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &dnsErr) ||
		errors.As(err, &urlErr) || management.IsCertificateError(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// notApplied says an attempt certainly did not change the tenant: it was
// answered 429, or it never left (no token, connection refused, a name
// that does not resolve, an argument refused before sending).
func notApplied(resp management.Response, err error) bool {
	if resp.StatusCode == http.StatusTooManyRequests {
		return true
	}
	if err == nil {
		return false
	}
	var apiErr *management.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == http.StatusTooManyRequests
	}
	var netErr *management.NetworkError
	if errors.As(err, &netErr) && (netErr.Op == "dns" || netErr.Op == "connect" || netErr.Op == "tls") {
		return true // the request never reached the tenant
	}
	var tokenErr *management.TokenError
	var dnsErr *net.DNSError
	return errors.As(err, &tokenErr) || errors.Is(err, management.ErrTokenUnavailable) || errors.As(err, &dnsErr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, management.ErrInvalidArgument)
}
