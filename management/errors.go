package management

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidArgument marks a call refused before anything was sent: an empty
// or dot-segment id, an empty role list, a negative page. Retrying it is
// pointless.
var ErrInvalidArgument = errors.New("management: invalid argument")

func invalidArgument(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// TokenError is an error answer from the tenant's /oauth/token endpoint,
// e.g. 401 invalid_client. It never contains the client secret or a token.
// Response describes the token endpoint's answer (status, rate-limit
// headers, Retry-After); the API method that needed the token returns the
// same Response, so callers can treat a 429 or a 401 from the token endpoint
// as they treat one from the API.
type TokenError struct {
	StatusCode  int
	ErrorCode   string // "error" field, e.g. "invalid_client"
	Description string // "error_description" field, or a sanitised excerpt of a non-OAuth body

	Response Response
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("management: token request failed: %d", e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		s += " " + t
	}
	if e.ErrorCode != "" {
		s += ": " + e.ErrorCode
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// maxErrorExcerpt is how much of a non-JSON error body goes into a message.
const maxErrorExcerpt = 200

// excerpt turns an arbitrary body (a proxy's HTML page, a load balancer's
// text) into a short one-line message: at most maxErrorExcerpt bytes, valid
// UTF-8, control characters dropped, runs of white space folded.
func excerpt(body []byte) string {
	if len(body) > maxErrorExcerpt {
		body = body[:maxErrorExcerpt]
		// Do not leave half a rune at the cut.
		for len(body) > 0 && !utf8.Valid(body) {
			body = body[:len(body)-1]
		}
	}
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(string(body), "") {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r), r == utf8.RuneError, unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// redactor removes secrets a misbehaving server or proxy might echo back
// (an Authorization header in a debug page, a form body in an error page)
// from any text that ends up in an error.
type redactor []string

func newRedactor(secrets ...string) redactor {
	var r redactor
	for _, s := range secrets {
		if len(s) < 4 { // too short to be a credential; replacing it would mangle text
			continue
		}
		r = append(r, s)
		if q := url.QueryEscape(s); q != s {
			r = append(r, q)
		}
		if p := url.PathEscape(s); p != s {
			r = append(r, p)
		}
	}
	return r
}

func (r redactor) clean(s string) string {
	for _, secret := range r {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}
