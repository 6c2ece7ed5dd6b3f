package management

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// leakMarkers are substrings of every credential the tests use: the static
// token, the client secret (raw and form-encoded), issued tokens, and the
// password in a --domain.
var leakMarkers = []string{"DO-NOT-LEAK", testToken, testSecret, url.QueryEscape(testSecret)}

func assertNoLeak(t *testing.T, what, s string) {
	t.Helper()
	for _, m := range leakMarkers {
		if strings.Contains(s, m) {
			t.Errorf("%s leaks a credential (%q): %s", what, m, s)
			return
		}
	}
}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		assertNoLeak(t, "error "+verb, fmt.Sprintf(verb, err))
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		assertNoLeak(t, "wrapped error", e.Error())
	}
}

func TestConfigFormattingRedactsSecrets(t *testing.T) {
	cfg := Config{Domain: "acme.eu.auth0.com", APIToken: testToken, ClientID: testClientID, ClientSecret: testSecret,
		UserAgent: testUserAgent, HTTPClient: &http.Client{}}
	nested := struct {
		Name string
		Cfg  Config
		Ptr  *Config
	}{"x", cfg, &cfg}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		for _, v := range []any{cfg, &cfg, nested, &nested, []Config{cfg}, map[string]Config{"k": cfg}} {
			out := fmt.Sprintf(verb, v)
			assertNoLeak(t, fmt.Sprintf("fmt %s of %T", verb, v), out)
		}
	}
	assertNoLeak(t, "GoString", cfg.GoString())
	assertNoLeak(t, "String", cfg.String())
	if s := fmt.Sprintf("%+v", cfg); !strings.Contains(s, "acme.eu.auth0.com") || !strings.Contains(s, testClientID) || !strings.Contains(s, redacted) {
		t.Errorf("redacted Config lost the useful parts: %s", s)
	}
	js, err := json.Marshal(nested)
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "json", string(js))

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "cfg", cfg, "ptr", &cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg)
	assertNoLeak(t, "slog", logs.String())
	if !strings.Contains(logs.String(), "acme.eu.auth0.com") {
		t.Errorf("slog output lost the domain: %s", logs.String())
	}
}

func TestClientFormattingRedactsSecrets(t *testing.T) {
	ft := newFakeTenant(t)
	for _, cfg := range []Config{
		{Domain: ft.URL, APIToken: testToken},
		{Domain: ft.URL, ClientID: testClientID, ClientSecret: testSecret},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := listRoles(c); err != nil { // caches a token in the client
			t.Fatal(err)
		}
		assertNoLeak(t, "GoString", c.GoString())
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			assertNoLeak(t, "fmt "+verb+" of *Client", fmt.Sprintf(verb, c))
			assertNoLeak(t, "fmt "+verb+" of struct with *Client", fmt.Sprintf(verb, struct{ C *Client }{c}))
		}
	}
}

// Every failure path, run with distinctive credentials, and a tenant that
// echoes credentials back wherever it can.
func TestNoFailurePathLeaksCredentials(t *testing.T) {
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Errorf("expected a failure")
			return
		}
		errs = append(errs, err)
	}

	// Configuration.
	for _, cfg := range []Config{
		{Domain: "https://admin:pw-DO-NOT-LEAK@acme.eu.auth0.com", APIToken: testToken},
		{Domain: "admin:pw-DO-NOT-LEAK@acme.eu.auth0.com", APIToken: testToken},
		{Domain: "https://acme.eu.auth0.com/?key=DO-NOT-LEAK", APIToken: testToken},
		{Domain: "https://acme.eu.auth0.com/DO-NOT-LEAK?", APIToken: testToken},
		{Domain: "http://acme.eu.auth0.com", ClientID: testClientID, ClientSecret: testSecret},
		{Domain: "acme.eu.auth0.com", APIToken: testToken, ClientSecret: testSecret},
		{Domain: "acme.eu.auth0.com", ClientSecret: testSecret},
		{Domain: "acme.eu.auth0.com", APIToken: "tok DO-NOT-LEAK"},
		{Domain: "", APIToken: testToken},
	} {
		_, err := New(cfg)
		collect(err)
	}

	// API answers that echo the Authorization header or the token.
	echo := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		auth := r.Header.Get("Authorization")
		switch r.URL.Query().Get("page") {
		case "1":
			respond(w, 502, "<html><pre>Authorization: "+auth+"</pre></html>", "Content-Type", "text/html")
		case "2":
			respond(w, 400, fmt.Sprintf(`{"statusCode":400,"error":"Bad Request %s","message":"bad token %s","errorCode":"x%s"}`, auth, auth, auth))
		case "3":
			respond(w, 200, `{"roles":"`+auth+`"}`)
		default:
			respond(w, 401, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token `+auth+`"}`)
		}
	})
	c := newTokenClient(t, echo)
	for page := range 4 {
		_, _, err := c.UserRoles(context.Background(), "auth0|x", page, 50)
		collect(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.RemoveUserRoles(ctx, "auth0|x", []string{"rol_1"})
	collect(err)
	_, err = c.RemoveUserRoles(context.Background(), "..", []string{"rol_1"})
	collect(err)

	// The same with client credentials: tokens issued by the tenant.
	ft := newFakeTenant(t)
	ft.api = func(w http.ResponseWriter, r *http.Request, token string) {
		respond(w, 401, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token `+token+`"}`)
	}
	cc := newCredentialsClient(t, ft, 0, nil)
	collect(listRoles(cc))

	// Token endpoint failures that echo the form body.
	for _, issue := range []func(n int, w http.ResponseWriter, r *http.Request){
		func(n int, w http.ResponseWriter, r *http.Request) {
			respond(w, 401, `{"error":"invalid_client","error_description":"Client authentication failed for `+testSecret+`"}`)
		},
		func(n int, w http.ResponseWriter, r *http.Request) {
			respond(w, 403, `{"error":"access_denied `+url.QueryEscape(testSecret)+`","error_description":"Access denied"}`)
		},
		func(n int, w http.ResponseWriter, r *http.Request) {
			respond(w, 500, "client_id="+testClientID+"&client_secret="+url.QueryEscape(testSecret), "Content-Type", "text/plain")
		},
		func(n int, w http.ResponseWriter, r *http.Request) {
			respond(w, 502, `{"access_token":"`+issuedToken(n)+`"}`)
		},
		func(n int, w http.ResponseWriter, r *http.Request) {
			respond(w, 200, `{"access_token":`)
		},
	} {
		ft := newFakeTenant(t)
		ft.issue = issue
		collect(listRoles(newCredentialsClient(t, ft, 0, nil)))
	}
	down := newFakeTenant(t)
	dc := newCredentialsClient(t, down, 0, nil)
	down.Close()
	collect(listRoles(dc))

	if len(errs) < 20 {
		t.Fatalf("only %d failure paths ran", len(errs))
	}
	for _, err := range errs {
		assertNoSecret(t, err)
	}
}
