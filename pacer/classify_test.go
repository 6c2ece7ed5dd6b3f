package pacer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/rolesweep/rolesweep/management"
)

type fakeNetError struct{ timeout bool }

func (e fakeNetError) Error() string   { return "fake net error" }
func (e fakeNetError) Timeout() bool   { return e.timeout }
func (e fakeNetError) Temporary() bool { return false }

func TestClassify(t *testing.T) {
	api := func(code int) error { return &management.APIError{StatusCode: code, ErrorText: "x"} }
	token := func(code int) error { return &management.TokenError{StatusCode: code, ErrorCode: "x"} }
	wrapped := func(err error) error { return fmt.Errorf("removing roles of auth0|1: %w", err) }
	urlErr := func(err error) error {
		return &url.Error{Op: "Delete", URL: "https://acme.eu.auth0.com/api/v2/users/x/roles", Err: err}
	}
	opErr := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }

	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, Success},

		{"API 429", api(429), RateLimited},
		{"API 429 wrapped", wrapped(api(429)), RateLimited},
		{"API 401", api(401), Auth},
		{"API 403", api(403), Auth},
		{"API 400", api(400), Permanent},
		{"API 404", api(404), Permanent},
		{"API 409", api(409), Permanent},
		{"API 422", api(422), Permanent},
		{"API 408", api(408), Retryable},
		{"API 500", api(500), Retryable},
		{"API 502", api(502), Retryable},
		{"API 503", wrapped(api(503)), Retryable},
		{"API 504", api(504), Retryable},
		{"API 524", api(524), Retryable},
		{"API 3xx", api(302), Permanent},

		{"token 401 invalid_client", token(401), Auth},
		{"token 403 access_denied", token(403), Auth},
		{"token 400 invalid_grant", wrapped(token(400)), Auth},
		{"token 429: its own bucket", token(429), Retryable},
		{"token 408", token(408), Retryable},
		{"token 500", token(500), Retryable},
		{"token 503", wrapped(token(503)), Retryable},
		{"token network error (no status)", token(0), Retryable},
		{"token 200 without a token", token(200), Auth},

		{"invalid argument", fmt.Errorf("%w: empty user id", management.ErrInvalidArgument), Permanent},

		{"caller canceled", context.Canceled, Canceled},
		{"caller canceled inside url.Error", urlErr(context.Canceled), Canceled},
		{"deadline: a timeout", context.DeadlineExceeded, Retryable},
		{"deadline inside url.Error", urlErr(context.DeadlineExceeded), Retryable},
		{"attempt timeout", &attemptTimeoutError{err: urlErr(context.DeadlineExceeded)}, Retryable},
		{"attempt timeout wrapping a cancel", &attemptTimeoutError{err: context.Canceled}, Retryable},
		{"stopped pacer", errStopped, Canceled},

		{"unexpected EOF", io.ErrUnexpectedEOF, Retryable},
		{"EOF from the transport", urlErr(io.EOF), Retryable},
		{"connection reset", urlErr(opErr(os.NewSyscallError("read", syscall.ECONNRESET))), Retryable},
		{"connection refused", urlErr(opErr(os.NewSyscallError("connect", syscall.ECONNREFUSED))), Retryable},
		{"broken pipe", opErr(syscall.EPIPE), Retryable},
		{"network unreachable", opErr(syscall.ENETUNREACH), Retryable},
		{"host unreachable", opErr(syscall.EHOSTUNREACH), Retryable},
		{"dial timeout", urlErr(opErr(fakeNetError{timeout: true})), Retryable},
		{"net.Error timeout", fakeNetError{timeout: true}, Retryable},
		{"net.Error, not a timeout", fakeNetError{}, Permanent},
		{"DNS temporary failure", urlErr(opErr(&net.DNSError{Err: "server misbehaving", Name: "acme.eu.auth0.com", IsTemporary: true})), Retryable},
		{"DNS no such host", urlErr(&net.DNSError{Err: "no such host", Name: "acme.eu.auth0.co", IsNotFound: true}), Permanent},
		{"unknown certificate authority", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), Permanent},
		{"wrong host name in certificate", urlErr(x509.HostnameError{Host: "acme.eu.auth0.com"}), Permanent},
		{"plain HTTP answer to TLS", urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), Permanent},
		{"redirect loop", urlErr(errors.New("stopped after 10 redirects")), Permanent},
		{"other transport error", urlErr(errors.New("http2: server sent GOAWAY and closed the connection")), Retryable},
		{"decoding a body", errors.New("management: decoding roles: invalid character '<'"), Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{
		Success: "success", Retryable: "retryable", RateLimited: "rate_limited",
		Auth: "auth", Permanent: "permanent", Canceled: "canceled", Class(42): "class(42)",
	} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}
