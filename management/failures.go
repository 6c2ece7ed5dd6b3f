package management

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// NetworkError is a request that got no HTTP answer from the tenant: the
// host name did not resolve, the connection was refused or reset, TLS failed,
// or the answer never came. Err is the transport's error (a *url.Error,
// usually), so errors.Is/As still see *net.DNSError, syscall errnos and
// certificate errors through it. It names the host, never a credential.
type NetworkError struct {
	Op   string // "dns", "connect", "tls" or "request": where it failed
	Host string // the tenant's host[:port]
	Err  error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("management: cannot reach %s (%s): %v", e.Host, e.Op, e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

func networkError(host string, err error) *NetworkError {
	op := "request"
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		op = "dns"
	case IsCertificateError(err):
		op = "tls"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		op = "connect"
	}
	return &NetworkError{Op: op, Host: host, Err: err}
}

// IsCertificateError reports whether err is TLS refusing the tenant's
// certificate: no retry can fix it, and nothing was sent.
func IsCertificateError(err error) bool {
	var (
		verifyErr    *tls.CertificateVerificationError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidErr   x509.CertificateInvalidError
		recordHdrErr tls.RecordHeaderError
	)
	return errors.As(err, &verifyErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostnameErr) ||
		errors.As(err, &invalidErr) || errors.As(err, &recordHdrErr)
}

// IsNetwork reports whether err means the tenant could not be reached (a
// *NetworkError, also when the token endpoint was unreachable on every try),
// as opposed to an answer that refused the request.
func IsNetwork(err error) bool {
	var ne *NetworkError
	if errors.As(err, &ne) {
		return true
	}
	var tu *tokenUnavailableError
	return errors.As(err, &tu) && tu.network()
}

// CredentialsRejected reports whether err means the tenant refused the
// credentials: a 401 from the API, or a 400, 401 or 403 from /oauth/token
// (invalid_client, access_denied, …). A 403 from the API is not a rejection:
// the token was accepted but lacks a scope.
func CredentialsRejected(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == http.StatusUnauthorized
	}
	var te *TokenError
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			return true
		}
	}
	return false
}

// ErrTokenUnavailable marks a call that failed because the token endpoint
// kept failing (5xx, timeouts, network errors) for a bounded number of tries.
// Every caller waiting on that fetch gets it, and so do callers for a short
// while after, without new token requests. It is as fatal for a run as a
// 401: retrying the call only asks the failing endpoint again. The error
// deliberately does not unwrap to the last *TokenError or network error, so
// that a classifier cannot mistake it for a retryable one; its message says
// what the last failure was.
var ErrTokenUnavailable = errors.New("management: the token endpoint is unavailable")

type tokenUnavailableError struct {
	endpoint string
	tries    int
	last     error
}

func (e *tokenUnavailableError) Error() string {
	return fmt.Sprintf("%v: no token from %s after %d tries; last: %v", ErrTokenUnavailable, e.endpoint, e.tries, e.last)
}

func (e *tokenUnavailableError) Is(target error) bool { return target == ErrTokenUnavailable }

func (e *tokenUnavailableError) network() bool {
	var ne *NetworkError
	return errors.As(e.last, &ne)
}

// maxDecodePrefix is how much of an undecodable body a *DecodeError quotes.
const maxDecodePrefix = 64

// DecodeError is a 2xx answer whose body could not be read as the endpoint's
// JSON (a proxy's HTML page, a truncated or oversized body, a wrong shape).
// Retrying will not fix it. Prefix quotes at most the first 64 bytes of the
// body, sanitised and with credentials redacted.
type DecodeError struct {
	Method     string
	Endpoint   string // the request path, e.g. /api/v2/roles
	StatusCode int
	Prefix     string
	Err        error
}

func (e *DecodeError) Error() string {
	s := fmt.Sprintf("management: %s %s: unreadable %d response", e.Method, e.Endpoint, e.StatusCode)
	if e.Prefix != "" {
		s += fmt.Sprintf(" (starts %q)", e.Prefix)
	}
	return s + ": " + e.Err.Error()
}

func (e *DecodeError) Unwrap() error { return e.Err }
