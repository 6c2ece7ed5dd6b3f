package management

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Config says which tenant to talk to and how to authenticate. Its String,
// GoString, Format, LogValue and MarshalJSON methods redact the token and the
// client secret, so a Config can be printed or logged without leaking them.
type Config struct {
	Domain       string        // "acme.eu.auth0.com", "host:port" (both https), or a full URL
	APIToken     string        // pre-issued Management API token, used as is
	ClientID     string        // client credentials (used when APIToken is empty)
	ClientSecret string        //
	UserAgent    string        // e.g. "rolesweep/v0.1.0"
	HTTPClient   *http.Client  // optional; used for API and token requests
	RenewBefore  time.Duration // renew a client-credentials token this long before it expires; default 5 minutes, capped at half the token lifetime
}

// DefaultRenewBefore is how long before its expiry a client-credentials token
// is renewed when Config.RenewBefore is zero.
const DefaultRenewBefore = 5 * time.Minute

const redacted = "[REDACTED]"

func redactIfSet(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// String shows the configuration with the token and the client secret redacted.
func (c Config) String() string {
	client := "<default>"
	if c.HTTPClient != nil {
		client = "<custom>"
	}
	return fmt.Sprintf("management.Config{Domain:%q, APIToken:%s, ClientID:%q, ClientSecret:%s, UserAgent:%q, HTTPClient:%s, RenewBefore:%s}",
		c.Domain, redactIfSet(c.APIToken), c.ClientID, redactIfSet(c.ClientSecret), c.UserAgent, client, c.RenewBefore)
}

// GoString is String: %#v must not print the secrets either.
func (c Config) GoString() string { return c.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x…) print the redacted
// form; without it, %x or %q of a Config would print the raw fields.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue keeps log/slog from printing the secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON writes the redacted configuration.
func (c Config) MarshalJSON() ([]byte, error) {
	type shown struct {
		Domain       string `json:"domain"`
		APIToken     string `json:"api_token,omitempty"`
		ClientID     string `json:"client_id,omitempty"`
		ClientSecret string `json:"client_secret,omitempty"`
		UserAgent    string `json:"user_agent,omitempty"`
		RenewBefore  string `json:"renew_before,omitempty"`
	}
	s := shown{Domain: c.Domain, ClientID: c.ClientID, UserAgent: c.UserAgent}
	if c.APIToken != "" {
		s.APIToken = redacted
	}
	if c.ClientSecret != "" {
		s.ClientSecret = redacted
	}
	if c.RenewBefore != 0 {
		s.RenewBefore = c.RenewBefore.String()
	}
	return json.Marshal(s)
}

// ConfigError is an unusable configuration value. Field names the Config
// field in snake case ("domain", "api_token", "client_id", "client_secret",
// "renew_before"), not a flag: the CLI maps fields to its flags. The message
// never contains a secret.
type ConfigError struct {
	Field   string
	Message string
}

func (e *ConfigError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func domainError(format string, args ...any) *ConfigError {
	return &ConfigError{Field: "domain", Message: fmt.Sprintf(format, args...)}
}

// CanonicalDomain is the tenant's host[:port], lower case, as Client.Domain
// reports it for a Config.Domain of s: "ACME.eu.auth0.com",
// "https://acme.eu.auth0.com/" and "acme.eu.auth0.com" all give
// "acme.eu.auth0.com". Journals and plans compare tenants with it. A refused
// domain is a *ConfigError with Field "domain".
func CanonicalDomain(s string) (string, error) {
	u, err := baseURL(s)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}

// baseURL applies the contract's domain rules: bare host or host:port →
// https; a full URL keeps its scheme; http:// only for loopback hosts
// (127.0.0.0/8, ::1, localhost), anything else refused; no path other than ""
// or "/"; no userinfo, query or fragment. It returns a *ConfigError on
// refusal. The messages quote the host at most, never the whole input, which
// might carry a password or a token.
func baseURL(domain string) (*url.URL, error) {
	s := strings.TrimSpace(domain)
	if s == "" {
		return nil, domainError("is required: the tenant's domain, e.g. acme.eu.auth0.com")
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return nil, domainError("must not contain spaces or control characters")
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "https://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's message repeats the input, which may hold a password.
		return nil, domainError("is neither a host name nor a URL; expected e.g. acme.eu.auth0.com or https://acme.eu.auth0.com")
	}
	if u.User != nil {
		return nil, domainError("must not contain user information (user:password@); credentials go in client_id/client_secret or api_token")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, domainError("scheme %q is not supported; use https:// (http:// only for loopback hosts)", truncate(u.Scheme, 20))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return nil, domainError("must not contain a query or a fragment; give the tenant's domain only, e.g. acme.eu.auth0.com")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, domainError("has no host name; expected e.g. acme.eu.auth0.com or https://acme.eu.auth0.com")
	}
	if u.Path != "" && u.Path != "/" {
		hint := ""
		if strings.HasPrefix(u.Path, "/api/v2") {
			hint = " (/api/v2 is added automatically)"
		}
		return nil, domainError("must not contain a path (%q)%s; give the tenant's domain only, e.g. %s://%s", truncate(u.EscapedPath(), 60), hint, u.Scheme, u.Host)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, domainError("has no host name; expected e.g. acme.eu.auth0.com")
	}
	if strings.HasSuffix(u.Host, ":") {
		return nil, domainError("has an empty port after %q", host)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, domainError("port %q is not a number between 1 and 65535", truncate(port, 10))
		}
	}
	if net.ParseIP(host) == nil && !validHostName(host) {
		return nil, domainError("host name %q contains characters a DNS name cannot have", truncate(host, 100))
	}
	if u.Scheme == "http" && !isLoopbackHost(host) {
		return nil, domainError("http:// is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost); use https://%s", u.Host)
	}
	return &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)}, nil
}

func validHostName(h string) bool {
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return !strings.HasPrefix(h, ".") && !strings.Contains(h, "..")
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
