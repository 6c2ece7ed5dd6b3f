package management

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBaseURLAccepts(t *testing.T) {
	tests := []struct {
		domain, want, host string
	}{
		{"acme.eu.auth0.com", "https://acme.eu.auth0.com", "acme.eu.auth0.com"},
		{"acme.eu.auth0.com:8443", "https://acme.eu.auth0.com:8443", "acme.eu.auth0.com:8443"},
		{"https://x", "https://x", "x"},
		{"https://acme.eu.auth0.com/", "https://acme.eu.auth0.com", "acme.eu.auth0.com"},
		{"HTTPS://Acme.EU.auth0.com", "https://acme.eu.auth0.com", "acme.eu.auth0.com"},
		{"  acme.eu.auth0.com\n", "https://acme.eu.auth0.com", "acme.eu.auth0.com"},
		{"http://127.0.0.1:9", "http://127.0.0.1:9", "127.0.0.1:9"},
		{"http://127.8.9.10:9", "http://127.8.9.10:9", "127.8.9.10:9"},
		{"http://localhost:9", "http://localhost:9", "localhost:9"},
		{"http://LOCALHOST:9", "http://localhost:9", "localhost:9"},
		{"http://[::1]:9", "http://[::1]:9", "[::1]:9"},
		{"http://127.0.0.1", "http://127.0.0.1", "127.0.0.1"},
		{"127.0.0.1:8443", "https://127.0.0.1:8443", "127.0.0.1:8443"},
		{"[::1]:8443", "https://[::1]:8443", "[::1]:8443"},
		{"https://10.0.0.1", "https://10.0.0.1", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			u, err := baseURL(tt.domain)
			if err != nil {
				t.Fatalf("baseURL(%q): %v", tt.domain, err)
			}
			if u.String() != tt.want {
				t.Errorf("baseURL(%q) = %s, want %s", tt.domain, u, tt.want)
			}
			if u.Host != tt.host {
				t.Errorf("host = %q, want %q", u.Host, tt.host)
			}
			c, err := New(Config{Domain: tt.domain, APIToken: testToken})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.Domain() != tt.host || c.base.String() != tt.want {
				t.Errorf("client domain %q base %s, want %q %s", c.Domain(), c.base, tt.host, tt.want)
			}
		})
	}
}

func TestBaseURLRefuses(t *testing.T) {
	tests := []struct {
		domain   string
		contains string // part of the message
	}{
		{"", "is required"},
		{"   ", "is required"},
		{"http://acme.eu.auth0.com", "http:// is only allowed for loopback hosts"},
		{"http://10.0.0.1", "http:// is only allowed for loopback hosts"},
		{"http://128.0.0.1", "http:// is only allowed for loopback hosts"},
		{"http://localhost.evil.com", "http:// is only allowed for loopback hosts"},
		{"http://[::2]:9", "http:// is only allowed for loopback hosts"},
		{"ftp://x", `scheme "ftp" is not supported`},
		{"https://x/path", `must not contain a path ("/path")`},
		{"https://acme.eu.auth0.com/api/v2", "/api/v2 is added automatically"},
		{"acme.eu.auth0.com/api/v2/", "must not contain a path"},
		{"https://user:pw-DO-NOT-LEAK@x", "must not contain user information"},
		{"user:pw-DO-NOT-LEAK@x", "must not contain user information"},
		{"https://x?token=abc", "must not contain a query or a fragment"},
		{"https://x?", "must not contain a query or a fragment"},
		{"https://x#frag", "must not contain a query or a fragment"},
		{"https://", "has no host name"},
		{"https:x", "is neither a host name nor a URL"},
		{"https:///x", "has no host name"},
		{"acme.eu.auth0.com:99999", "is not a number between 1 and 65535"},
		{"acme.eu.auth0.com:0", "is not a number between 1 and 65535"},
		{"acme.eu.auth0.com:", "has an empty port"},
		{"acme eu.auth0.com", "must not contain spaces"},
		{"acme!.auth0.com", "contains characters a DNS name cannot have"},
		{"://x", "is neither a host name nor a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			u, err := baseURL(tt.domain)
			if err == nil {
				t.Fatalf("baseURL(%q) = %s, want an error", tt.domain, u)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if ce.Field != "domain" || !strings.HasPrefix(err.Error(), "domain: ") {
				t.Errorf("error %q does not name domain", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), "DO-NOT-LEAK") || strings.Contains(err.Error(), "token=abc") {
				t.Errorf("error %q echoes a credential", err)
			}
			if _, err := New(Config{Domain: tt.domain, APIToken: testToken}); !errors.As(err, &ce) {
				t.Errorf("New accepted domain %q (err %v)", tt.domain, err)
			}
		})
	}
}

func TestNewValidatesCredentials(t *testing.T) {
	const domain = "acme.eu.auth0.com"
	tests := []struct {
		name  string
		cfg   Config
		field string
		says  string
	}{
		{"no credentials", Config{Domain: domain}, "api_token", "credentials are required"},
		{"token and client id", Config{Domain: domain, APIToken: testToken, ClientID: testClientID}, "api_token", "cannot be combined"},
		{"token and secret", Config{Domain: domain, APIToken: testToken, ClientSecret: testSecret}, "api_token", "cannot be combined"},
		{"all three", Config{Domain: domain, APIToken: testToken, ClientID: testClientID, ClientSecret: testSecret}, "api_token", "cannot be combined"},
		{"id without secret", Config{Domain: domain, ClientID: testClientID}, "client_secret", "is required with client_id"},
		{"secret without id", Config{Domain: domain, ClientSecret: testSecret}, "client_id", "is required with client_secret"},
		{"blank secret", Config{Domain: domain, ClientID: testClientID, ClientSecret: "  "}, "client_secret", "is required"},
		{"token with inner space", Config{Domain: domain, APIToken: "tok DO-NOT-LEAK"}, "api_token", "spaces or control characters"},
		{"token with newline", Config{Domain: domain, APIToken: "tok\nDO-NOT-LEAK"}, "api_token", "spaces or control characters"},
		{"negative RenewBefore", Config{Domain: domain, ClientID: testClientID, ClientSecret: testSecret, RenewBefore: -time.Second}, "renew_before", "negative"},
		{"no domain", Config{APIToken: testToken}, "domain", "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %v: %v", tt.cfg, c)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if ce.Field != tt.field || !strings.Contains(ce.Message, tt.says) {
				t.Errorf("error = %q, want field %s saying %q", err, tt.field, tt.says)
			}
			assertNoSecret(t, err)
		})
	}
}

func TestNewAcceptsEachAuthMethod(t *testing.T) {
	c, err := New(Config{Domain: "acme.eu.auth0.com", APIToken: " " + testToken + "\n"})
	if err != nil {
		t.Fatalf("api token: %v", err)
	}
	if c.staticToken != testToken || c.credentials != nil {
		t.Errorf("static token not trimmed or credentials set")
	}
	if c.userAgent != defaultUserAgent {
		t.Errorf("default user agent = %q", c.userAgent)
	}
	if c.http == nil || c.http.Timeout != 0 {
		t.Errorf("default HTTP client must exist and have no overall Timeout")
	}
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil || tr.TLSClientConfig.InsecureSkipVerify || tr.TLSClientConfig.RootCAs != nil {
		t.Errorf("default transport must verify TLS with the system trust store")
	}

	c, err = New(Config{Domain: "acme.eu.auth0.com", ClientID: testClientID, ClientSecret: testSecret})
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	if c.credentials == nil || c.credentials.TokenURL != "https://acme.eu.auth0.com/oauth/token" ||
		c.credentials.EndpointParams.Get("audience") != "https://acme.eu.auth0.com/api/v2/" {
		t.Errorf("client credentials config wrong: token URL %q audience %q", c.credentials.TokenURL, c.credentials.EndpointParams.Get("audience"))
	}
	if c.renewBefore != DefaultRenewBefore {
		t.Errorf("renewBefore = %s, want %s", c.renewBefore, DefaultRenewBefore)
	}
}
