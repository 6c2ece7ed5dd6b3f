package sandbox

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	TokenType   string `json:"token_type"`
}

func formToken(t *testing.T, srv *httptest.Server, form url.Values) answer {
	t.Helper()
	return request(t, srv, "POST", "/oauth/token", "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

func clientForm(srv *httptest.Server, id, secret string) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {id},
		"client_secret": {secret},
		"audience":      {srv.URL + "/api/v2/"},
	}
}

func TestTokenEndpoint(t *testing.T) {
	tn, srv := newServer(t, Options{ClientID: "cid", ClientSecret: "csecret", TokenTTL: time.Hour, Bucket: 1})
	tn.AddRole(rolA, "A")
	tn.AddUser(jane, "jane@example.com", rolA)

	a := formToken(t, srv, clientForm(srv, "cid", "csecret"))
	a.expectStatus(t, 200)
	tok := decode[tokenAnswer](t, a)
	if tok.AccessToken == "" || tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" || tok.Scope != strings.Join(KnownScopes(), " ") {
		t.Fatalf("token answer = %s", a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("X-Ratelimit-Limit") != "" {
		t.Fatalf("token headers = %v", a.header)
	}
	// The token works; tokens are opaque, not JWTs.
	request(t, srv, "GET", "/api/v2/users/"+janeEscaped+"/roles", tok.AccessToken, "").expectStatus(t, 200)
	if strings.Count(tok.AccessToken, ".") == 2 {
		t.Errorf("token looks like a JWT: %s", tok.AccessToken)
	}

	// JSON bodies and HTTP Basic client authentication work too; /oauth/token
	// is not limited by the (now empty) Management API bucket.
	j := request(t, srv, "POST", "/oauth/token", "", `{"grant_type":"client_credentials","client_id":"cid","client_secret":"csecret","audience":"`+srv.URL+`/api/v2/"}`)
	j.expectStatus(t, 200)
	form := clientForm(srv, "", "")
	form.Del("client_id")
	form.Del("client_secret")
	req, _ := http.NewRequest("POST", srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cid", "csecret")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("basic auth token: %d", resp.StatusCode)
	}
	if s := tn.Stats(); s.TokensIssued != 3 || s.Requests["POST /oauth/token"][200] != 3 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	tn, srv := newServer(t, Options{ClientID: "cid", ClientSecret: "csecret"})
	tn.AddClient("nogrant", "s3")
	invalidClient := `{"error":"invalid_client","error_description":"Client authentication failed"}`
	cases := []struct {
		name   string
		edit   func(url.Values)
		status int
		want   string
	}{
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "nope") }, 401, invalidClient},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nobody") }, 401, invalidClient},
		{"missing client", func(v url.Values) { v.Del("client_id") }, 400, `{"error":"invalid_request","error_description":"Missing required parameter: client_id"}`},
		{"password grant", func(v url.Values) { v.Set("grant_type", "password") }, 400, `{"error":"unsupported_grant_type","error_description":"Unsupported grant type: password"}`},
		{"no grant type", func(v url.Values) { v.Del("grant_type") }, 400, `{"error":"invalid_request","error_description":"Missing required parameter: grant_type"}`},
		{"wrong audience", func(v url.Values) { v.Set("audience", "https://acme.eu.auth0.com/api/v2/") }, 403, `{"error":"access_denied","error_description":"Service not enabled within domain: https://acme.eu.auth0.com/api/v2/"}`},
		{"audience without slash", func(v url.Values) { v.Set("audience", srv.URL+"/api/v2") }, 403, `{"error":"access_denied","error_description":"Service not enabled within domain: ` + srv.URL + `/api/v2"}`},
		{"no audience", func(v url.Values) { v.Del("audience") }, 403, `{"error":"access_denied","error_description":"No audience parameter was provided, and no default audience has been configured"}`},
		{"client without grant", func(v url.Values) { v.Set("client_id", "nogrant"); v.Set("client_secret", "s3") }, 403,
			`{"error":"access_denied","error_description":"Client is not authorized to access \"` + srv.URL + `/api/v2/\". You need to create a \"client-grant\" associated to this API."}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := clientForm(srv, "cid", "csecret")
			c.edit(v)
			a := formToken(t, srv, v)
			if a.status != c.status || a.body != c.want {
				t.Fatalf("got %d %s\nwant %d %s", a.status, a.body, c.status, c.want)
			}
			if strings.Contains(a.body, "csecret") {
				t.Fatal("the answer echoes the secret")
			}
		})
	}
	request(t, srv, "GET", "/oauth/token", "", "").expect(t, 404, bodyNoRoute)
	request(t, srv, "POST", "/oauth/token", "", "grant_type=client_credentials", "Content-Type", "text/plain").expectStatus(t, 400)
	if s := tn.Stats(); s.TokensIssued != 0 {
		t.Fatalf("tokens issued on errors: %+v", s)
	}
}

func TestPublicURLAudience(t *testing.T) {
	_, srv := newServer(t, Options{ClientID: "cid", ClientSecret: "csecret", PublicURL: "https://sandbox.example/"})
	v := clientForm(srv, "cid", "csecret")
	v.Set("audience", "https://sandbox.example/api/v2/")
	formToken(t, srv, v).expectStatus(t, 200)
}

func TestTokenScopesAndForbidden(t *testing.T) {
	tn, srv := newServer(t, Options{})
	tn.AddRole(rolA, "A")
	tn.AddUser(jane, "jane@example.com", rolA)
	tn.AddMember("org_1", jane, rolA)
	token := func(id string, scopes ...string) string {
		tn.AddClient(id, "secret-"+id, scopes...)
		a := formToken(t, srv, clientForm(srv, id, "secret-"+id))
		a.expectStatus(t, 200)
		tok := decode[tokenAnswer](t, a)
		if tok.Scope != strings.Join(sortedUnique(scopes), " ") {
			t.Fatalf("scope = %q", tok.Scope)
		}
		return tok.AccessToken
	}
	forbidden := func(msg string) string {
		return `{"statusCode":403,"error":"Forbidden","message":"` + msg + `","errorCode":"insufficient_scope"}`
	}
	userRoles := "/api/v2/users/" + janeEscaped + "/roles"
	memberRoles := "/api/v2/organizations/org_1/members/" + janeEscaped + "/roles"
	body := `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`

	readUsers := token("read-users", "read:users")
	request(t, srv, "DELETE", userRoles, readUsers, body).expect(t, 403, forbidden("Insufficient scope, expected any of: update:users"))
	request(t, srv, "GET", userRoles, readUsers, "").expect(t, 403, forbidden("Insufficient scope, expected all of: read:users,read:roles"))
	request(t, srv, "GET", "/api/v2/roles", readUsers, "").expect(t, 403, forbidden("Insufficient scope, expected any of: read:roles"))
	request(t, srv, "GET", "/api/v2/roles/"+rolA+"/users", readUsers, "").expect(t, 403, forbidden("Insufficient scope, expected all of: read:users,read:roles"))
	request(t, srv, "GET", memberRoles, readUsers, "").expect(t, 403, forbidden("Insufficient scope, expected any of: read:organization_member_roles"))
	request(t, srv, "DELETE", memberRoles, readUsers, body).expect(t, 403, forbidden("Insufficient scope, expected any of: delete:organization_member_roles"))
	request(t, srv, "GET", "/api/v2/users-by-email?email=jane@example.com", readUsers, "").expectStatus(t, 200)
	// Scopes are checked before the body: a bad body without the scope is 403.
	request(t, srv, "DELETE", userRoles, readUsers, `{}`).expectStatus(t, 403)
	if got := tn.Roles(jane); len(got) != 1 {
		t.Fatalf("a 403 changed roles: %v", got)
	}

	readBoth := token("reader", "read:users", "read:roles")
	request(t, srv, "GET", userRoles, readBoth, "").expectStatus(t, 200)
	request(t, srv, "GET", "/api/v2/roles/"+rolA+"/users", token("members", "read:role_members"), "").expectStatus(t, 200)
	request(t, srv, "DELETE", userRoles, token("deleter", "delete:role_members"), body).expect(t, 204, "")
	request(t, srv, "DELETE", memberRoles, token("org", "delete:organization_member_roles"), body).expect(t, 204, "")

	// A scope parameter narrows the token to what was asked and granted.
	tn.AddClient("wide", "w", "read:users", "read:roles", "update:users")
	v := clientForm(srv, "wide", "w")
	v.Set("scope", "read:users delete:clients")
	if tok := decode[tokenAnswer](t, formToken(t, srv, v)); tok.Scope != "read:users" {
		t.Fatalf("narrowed scope = %q", tok.Scope)
	}
}

func TestUnauthorized(t *testing.T) {
	tn, srv := newServer(t, Options{})
	tn.AddUser(jane, "jane@example.com")
	path := "/api/v2/users/" + janeEscaped + "/roles"
	invalid := `{"statusCode":401,"error":"Unauthorized","message":"Invalid token","attributes":{"error":"Invalid token"}}`

	a := request(t, srv, "GET", path, "", "")
	a.expect(t, 401, `{"statusCode":401,"error":"Unauthorized","message":"Missing authentication"}`)
	if got := a.header.Get("WWW-Authenticate"); got != "Token" {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	a = request(t, srv, "GET", path, "not-a-token", "")
	a.expect(t, 401, invalid)
	if got := a.header.Get("WWW-Authenticate"); got != `Token error="Invalid token"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	request(t, srv, "GET", path, "", "", "Authorization", "Basic "+tn.Token()).expectStatus(t, 401)
	request(t, srv, "GET", path, "", "", "Authorization", "bearer "+tn.Token()).expectStatus(t, 200)
	// 401 comes before the 404 of an unknown user and the 400 of a bad body.
	request(t, srv, "DELETE", "/api/v2/users/auth0%7Cnobody/roles", "nope", `{}`).expect(t, 401, invalid)

	tn.RevokeTokens()
	request(t, srv, "GET", path, tn.Token(), "").expect(t, 401, invalid)
}

func TestTokenExpiry(t *testing.T) {
	clock := newFakeClock(t0)
	tn, srv := newServer(t, Options{Clock: clock, ClientID: "cid", ClientSecret: "cs", TokenTTL: time.Hour})
	tn.AddUser(jane, "jane@example.com")
	tok := decode[tokenAnswer](t, formToken(t, srv, clientForm(srv, "cid", "cs")))
	path := "/api/v2/users/" + janeEscaped + "/roles"

	clock.Advance(time.Hour - time.Nanosecond)
	request(t, srv, "GET", path, tok.AccessToken, "").expectStatus(t, 200)
	clock.Advance(time.Nanosecond)
	expired := "Expired token received for JSON Web Token validation"
	a := request(t, srv, "GET", path, tok.AccessToken, "")
	a.expect(t, 401, `{"statusCode":401,"error":"Unauthorized","message":"`+expired+`","attributes":{"error":"`+expired+`"}}`)
	// The pre-issued token does not expire; a fresh client token works.
	clock.Advance(1000 * time.Hour)
	request(t, srv, "GET", path, tn.Token(), "").expectStatus(t, 200)
	fresh := decode[tokenAnswer](t, formToken(t, srv, clientForm(srv, "cid", "cs")))
	request(t, srv, "GET", path, fresh.AccessToken, "").expectStatus(t, 200)
	// RevokeTokens invalidates client tokens too; new ones still work.
	tn.RevokeTokens()
	request(t, srv, "GET", path, fresh.AccessToken, "").expectStatus(t, 401)
	again := decode[tokenAnswer](t, formToken(t, srv, clientForm(srv, "cid", "cs")))
	request(t, srv, "GET", path, again.AccessToken, "").expectStatus(t, 200)
}
