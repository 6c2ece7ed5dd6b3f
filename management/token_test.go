package management

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func issuedToken(n int) string { return fmt.Sprintf("issued-%d-DO-NOT-LEAK", n) }

// fakeTenant serves /oauth/token and the API from one httptest server.
type fakeTenant struct {
	*fakeServer
	mu         sync.Mutex
	tokenForms []url.Values
	apiTokens  []string // the bearer token of each API request

	// issue answers the n-th token request (from 1). Default: a token
	// valid for 86400 s.
	issue func(n int, w http.ResponseWriter, r *http.Request)
	// api answers an API request. Default: 200 with an empty roles page.
	api func(w http.ResponseWriter, r *http.Request, token string)
}

func newFakeTenant(t *testing.T) *fakeTenant {
	t.Helper()
	ft := &fakeTenant{}
	ft.fakeServer = newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Path == "/oauth/token" {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				t.Errorf("token request body %q: %v", body, err)
			}
			ft.mu.Lock()
			ft.tokenForms = append(ft.tokenForms, form)
			n := len(ft.tokenForms)
			issue := ft.issue
			ft.mu.Unlock()
			if issue == nil {
				respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":86400,"token_type":"Bearer"}`, issuedToken(n)))
				return
			}
			issue(n, w, r)
			return
		}
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		ft.mu.Lock()
		ft.apiTokens = append(ft.apiTokens, token)
		api := ft.api
		ft.mu.Unlock()
		if api == nil {
			respond(w, 200, `{"roles":[],"start":0,"limit":50,"total":0}`)
			return
		}
		api(w, r, token)
	})
	return ft
}

func (ft *fakeTenant) tokenRequests() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.tokenForms)
}

func (ft *fakeTenant) usedTokens() []string {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]string(nil), ft.apiTokens...)
}

func newCredentialsClient(t *testing.T, ft *fakeTenant, renewBefore time.Duration, clock *fakeClock) *Client {
	t.Helper()
	c, err := New(Config{Domain: ft.URL, ClientID: testClientID, ClientSecret: testSecret, UserAgent: testUserAgent, RenewBefore: renewBefore})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if clock != nil {
		c.now = clock.Now
	}
	fastTokenRetries(c)
	return c
}

func listRoles(c *Client) error {
	_, _, err := c.UserRoles(context.Background(), "auth0|x", 0, 50)
	return err
}

func TestTokenRequestForm(t *testing.T) {
	ft := newFakeTenant(t)
	c := newCredentialsClient(t, ft, 0, nil)
	if err := listRoles(c); err != nil {
		t.Fatal(err)
	}
	seen := ft.seen()
	if len(seen) != 2 {
		t.Fatalf("server saw %d requests, want token + API", len(seen))
	}
	tok := seen[0]
	if tok.Method != http.MethodPost || tok.RequestURI != "/oauth/token" {
		t.Errorf("token request = %s %s", tok.Method, tok.RequestURI)
	}
	if ct := tok.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("token Content-Type = %q", ct)
	}
	if auth := tok.Header.Get("Authorization"); auth != "" {
		t.Errorf("credentials sent in the Authorization header too: %q", auth)
	}
	if ua := tok.Header.Get("User-Agent"); ua != testUserAgent {
		t.Errorf("token User-Agent = %q", ua)
	}
	wantForm := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {testClientID},
		"client_secret": {testSecret},
		"audience":      {ft.URL + "/api/v2/"},
	}
	if !reflect.DeepEqual(ft.tokenForms[0], wantForm) {
		t.Errorf("token form = %v, want %v", ft.tokenForms[0], wantForm)
	}
	if got := seen[1].Header.Get("Authorization"); got != "Bearer "+issuedToken(1) {
		t.Errorf("API Authorization = %q", got)
	}
	if renewalCount(c) != 1 {
		t.Errorf("Renewals = %d, want 1", renewalCount(c))
	}
}

func TestTokenIsCached(t *testing.T) {
	ft := newFakeTenant(t)
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	for range 25 {
		if err := listRoles(c); err != nil {
			t.Fatal(err)
		}
	}
	if ft.tokenRequests() != 1 || renewalCount(c) != 1 {
		t.Errorf("25 calls made %d token requests (%d renewals), want 1", ft.tokenRequests(), renewalCount(c))
	}
	for _, tok := range ft.usedTokens() {
		if tok != issuedToken(1) {
			t.Fatalf("API saw token %q", tok)
		}
	}
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	tests := []struct {
		name        string
		expiresIn   string // JSON value
		renewBefore time.Duration
		stillCached time.Duration // after the fetch, no renewal yet
		renewed     time.Duration // after the fetch, renewed
	}{
		// RenewBefore 1.5 s is capped at half the 2 s lifetime: renew at 1 s.
		{"capped at half the lifetime", "2", 1500 * time.Millisecond, 999 * time.Millisecond, time.Second},
		{"default five minutes", "86400", 0, 86400*time.Second - 5*time.Minute - time.Millisecond, 86400*time.Second - 5*time.Minute},
		{"short RenewBefore", "2", 500 * time.Millisecond, 1499 * time.Millisecond, 1500 * time.Millisecond},
		{"expires_in as a string", `"600"`, time.Hour, 299 * time.Second, 300 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := newFakeTenant(t)
			ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
				respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":%s,"token_type":"Bearer"}`, issuedToken(n), tt.expiresIn))
			}
			clock := newFakeClock()
			c := newCredentialsClient(t, ft, tt.renewBefore, clock)
			start := clock.Now()
			if err := listRoles(c); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.stillCached)
			if err := listRoles(c); err != nil {
				t.Fatal(err)
			}
			if ft.tokenRequests() != 1 {
				t.Fatalf("renewed after %s, too early", clock.Now().Sub(start))
			}
			clock.Advance(tt.renewed - tt.stillCached)
			if err := listRoles(c); err != nil {
				t.Fatal(err)
			}
			if ft.tokenRequests() != 2 || renewalCount(c) != 2 {
				t.Fatalf("not renewed after %s (%d token requests)", clock.Now().Sub(start), ft.tokenRequests())
			}
			used := ft.usedTokens()
			if want := []string{issuedToken(1), issuedToken(1), issuedToken(2)}; !reflect.DeepEqual(used, want) {
				t.Errorf("API saw tokens %v, want %v", used, want)
			}
		})
	}
}

func TestTokenWithUnknownExpiryLastsUntil401(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer"}`, issuedToken(n)))
	}
	ft.api = func(w http.ResponseWriter, r *http.Request, token string) {
		if token == issuedToken(1) && r.URL.Query().Get("page") == "9" {
			respond(w, 401, `{"statusCode":401,"error":"Unauthorized","message":"Expired token received for JSON Web Token validation","attributes":{"error":"Expired token received for JSON Web Token validation"}}`)
			return
		}
		respond(w, 200, `{"roles":[],"start":0,"limit":50,"total":0}`)
	}
	clock := newFakeClock()
	c := newCredentialsClient(t, ft, 0, clock)
	for range 3 {
		if err := listRoles(c); err != nil {
			t.Fatal(err)
		}
		clock.Advance(365 * 24 * time.Hour)
	}
	if ft.tokenRequests() != 1 {
		t.Fatalf("token without expires_in renewed %d times", ft.tokenRequests()-1)
	}
	if _, _, err := c.UserRoles(context.Background(), "auth0|x", 9, 50); err != nil {
		t.Fatalf("401 then renewal: %v", err)
	}
	if ft.tokenRequests() != 2 {
		t.Errorf("token requests = %d, want 2", ft.tokenRequests())
	}
}

func TestRenewOn401ThenSuccess(t *testing.T) {
	ft := newFakeTenant(t)
	ft.api = func(w http.ResponseWriter, r *http.Request, token string) {
		if token != issuedToken(2) {
			respond(w, 401, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token"}`)
			return
		}
		respond(w, 204, "")
	}
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	resp, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1", "rol_2"})
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("resp %+v err %v, want 204", resp, err)
	}
	if ft.tokenRequests() != 2 || renewalCount(c) != 2 {
		t.Errorf("token requests %d renewals %d, want 2", ft.tokenRequests(), renewalCount(c))
	}
	var deletes []seenRequest
	for _, s := range ft.seen() {
		if s.Method == http.MethodDelete {
			deletes = append(deletes, s)
		}
	}
	if len(deletes) != 2 {
		t.Fatalf("DELETE sent %d times, want 2 (one repeat)", len(deletes))
	}
	for _, d := range deletes {
		assertJSONEqual(t, d.Body, []byte(`{"roles":["rol_1","rol_2"]}`))
	}
	if got := ft.usedTokens(); !reflect.DeepEqual(got, []string{issuedToken(1), issuedToken(2)}) {
		t.Errorf("tokens used %v", got)
	}
	// The renewed token is cached.
	if _, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"}); err != nil || ft.tokenRequests() != 2 {
		t.Errorf("after renewal: err %v, token requests %d", err, ft.tokenRequests())
	}
}

func TestSecond401IsReturned(t *testing.T) {
	ft := newFakeTenant(t)
	ft.api = func(w http.ResponseWriter, r *http.Request, token string) {
		respond(w, 401, `{"statusCode":401,"error":"Unauthorized","message":"Client is not global."}`)
	}
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	resp, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || resp.StatusCode != 401 || apiErr.Message != "Client is not global." {
		t.Fatalf("err %v resp %+v, want the second 401", err, resp)
	}
	if n := len(ft.usedTokens()); n != 2 {
		t.Errorf("API requests = %d, want 2 (no more than one repeat)", n)
	}
	if ft.tokenRequests() != 2 {
		t.Errorf("token requests = %d, want 2 (no more than one renewal)", ft.tokenRequests())
	}
}

func TestStaticToken401IsNotRetried(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		respond(w, 401, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token"}`)
	})
	c := newTokenClient(t, srv)
	_, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("err %v", err)
	}
	if n := len(srv.seen()); n != 1 || renewalCount(c) != 0 {
		t.Errorf("requests %d renewals %d, want 1 and 0", n, renewalCount(c))
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	const callers = 20
	ft := newFakeTenant(t)
	release := make(chan struct{})
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		<-release
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":86400,"token_type":"Bearer"}`, issuedToken(n)))
	}
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	var joined atomic.Int32
	allJoined := make(chan struct{})
	c.onJoinRenewal = func() {
		if joined.Add(1) == callers-1 {
			close(allJoined)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() { errs <- listRoles(c) })
	}
	<-allJoined // every caller but the fetching one waits for its fetch
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if ft.tokenRequests() != 1 || renewalCount(c) != 1 {
		t.Errorf("%d callers made %d token requests, want 1", callers, ft.tokenRequests())
	}
	for _, tok := range ft.usedTokens() {
		if tok != issuedToken(1) {
			t.Errorf("API saw %q", tok)
		}
	}
}

// Many workers hit 401 with the same token: one renewal, not one each.
func TestConcurrent401sRenewOnce(t *testing.T) {
	const callers = 10
	ft := newFakeTenant(t)
	release := make(chan struct{})
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-release
		}
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":86400,"token_type":"Bearer"}`, issuedToken(n)))
	}
	ft.api = func(w http.ResponseWriter, r *http.Request, token string) {
		if token == issuedToken(1) {
			respond(w, 401, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token"}`)
			return
		}
		respond(w, 200, `{"roles":[],"start":0,"limit":50,"total":0}`)
	}
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	var joined atomic.Int32
	allJoined := make(chan struct{})
	c.onJoinRenewal = func() {
		if joined.Add(1) == callers-1 {
			close(allJoined)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() { errs <- listRoles(c) })
	}
	<-allJoined // all callers will get issued-1 first
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if ft.tokenRequests() != 2 || renewalCount(c) != 2 {
		t.Errorf("token requests = %d, want 2 (first fetch + one shared renewal)", ft.tokenRequests())
	}
	if n := len(ft.usedTokens()); n != 2*callers {
		t.Errorf("API requests = %d, want %d", n, 2*callers)
	}
}

func TestTokenEndpointRefusesCredentials(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		respond(w, 401, `{"error":"invalid_client","error_description":"Client authentication failed"}`)
	}
	c := newCredentialsClient(t, ft, 0, nil)
	_, resp, err := c.UserRoles(context.Background(), "auth0|x", 0, 50)
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("err %T %v, want *TokenError", err, err)
	}
	if te.StatusCode != 401 || te.ErrorCode != "invalid_client" || te.Description != "Client authentication failed" {
		t.Errorf("TokenError = %+v", te)
	}
	if resp.StatusCode != 401 || te.Response != resp {
		t.Errorf("Response = %+v, TokenError.Response = %+v; want the token endpoint's 401", resp, te.Response)
	}
	if want := "management: token request failed: 401 Unauthorized: invalid_client: Client authentication failed"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("a token error is not an APIError")
	}
	assertNoSecret(t, err)
	if n := len(ft.usedTokens()); n != 0 {
		t.Errorf("API called %d times without a token", n)
	}
	if renewalCount(c) != 0 {
		t.Errorf("Renewals = %d after a failure", renewalCount(c))
	}
	// The oauth2 package must not have probed with a second style.
	if ft.tokenRequests() != 1 {
		t.Errorf("token requests = %d, want 1", ft.tokenRequests())
	}
}

func TestTokenEndpointRateLimited(t *testing.T) {
	reset := time.Now().Add(10 * time.Second).Unix()
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		respond(w, 429, `{"error":"too_many_requests","error_description":"Rate limit exceeded. Please retry after some time."}`,
			"X-RateLimit-Limit", "30", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", fmt.Sprint(reset), "Retry-After", "2")
	}
	c := newCredentialsClient(t, ft, 0, nil)
	resp, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	var te *TokenError
	if !errors.As(err, &te) || te.StatusCode != 429 || te.ErrorCode != "too_many_requests" {
		t.Fatalf("err %v", err)
	}
	want := Response{StatusCode: 429, RateLimit: RateLimit{Present: true, Limit: 30, Remaining: 0, Reset: time.Unix(reset, 0)}, RetryAfter: 2 * time.Second}
	resp.Date = time.Time{} // stamped by net/http
	if resp != want {
		t.Errorf("Response = %+v, want %+v", resp, want)
	}
}

func TestTokenEndpointHTMLErrorIsSanitised(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		// A debugging proxy that echoes the request body.
		body := "<html><body>\n<h1>500</h1><pre>client_secret=" + url.QueryEscape(testSecret) + " raw=" + testSecret + "</pre></body></html>"
		respond(w, 500, body, "Content-Type", "text/html")
	}
	c := newCredentialsClient(t, ft, 0, nil)
	err := listRoles(c)
	if !errors.Is(err, ErrTokenUnavailable) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), "<h1>500</h1>") || !strings.Contains(err.Error(), redacted) {
		t.Errorf("err = %q", err)
	}
	assertNoSecret(t, err)
}

func TestTokenEndpointAnswerWithoutToken(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		respond(w, 200, `{"token_type":"Bearer","expires_in":86400}`)
	}
	c := newCredentialsClient(t, ft, 0, nil)
	_, resp, err := c.UserRoles(context.Background(), "auth0|x", 0, 50)
	var te *TokenError
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "access_token") || resp != (Response{}) {
		t.Errorf("err %v resp %+v", err, resp)
	}
}

func TestTokenEndpointUnreachable(t *testing.T) {
	ft := newFakeTenant(t)
	c := newCredentialsClient(t, ft, 0, nil)
	ft.Close()
	resp, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	var te *TokenError
	if !errors.Is(err, ErrTokenUnavailable) || !IsNetwork(err) || errors.As(err, &te) || resp != (Response{}) {
		t.Fatalf("err %T %v resp %+v, want ErrTokenUnavailable over a network error", err, err, resp)
	}
	if ft.tokenRequests() != 0 {
		t.Errorf("a closed server saw %d token requests", ft.tokenRequests())
	}
	if !strings.Contains(err.Error(), "/oauth/token") {
		t.Errorf("err %q does not say which endpoint", err)
	}
	assertNoSecret(t, err)
}

// A failed early renewal keeps the still-valid token working, and waits
// before asking the token endpoint again; once the token has expired, the
// failure is returned.
func TestFailedEarlyRenewalKeepsValidToken(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":600,"token_type":"Bearer"}`, issuedToken(n)))
			return
		}
		respond(w, 503, `{"error":"temporarily_unavailable","error_description":"try later"}`)
	}
	clock := newFakeClock()
	c := newCredentialsClient(t, ft, time.Minute, clock)
	c.tokenTries = 1
	if err := listRoles(c); err != nil {
		t.Fatal(err)
	}
	clock.Advance(9*time.Minute + time.Second) // renewal due at 9 min
	if err := listRoles(c); err != nil {
		t.Fatalf("early renewal failure leaked to the caller: %v", err)
	}
	if ft.tokenRequests() != 2 {
		t.Fatalf("token requests = %d, want 2", ft.tokenRequests())
	}
	clock.Advance(earlyRenewalRetryGap - time.Second)
	if err := listRoles(c); err != nil || ft.tokenRequests() != 2 {
		t.Fatalf("asked the token endpoint again too soon (err %v, %d requests)", err, ft.tokenRequests())
	}
	clock.Advance(time.Second)
	if err := listRoles(c); err != nil || ft.tokenRequests() != 3 {
		t.Fatalf("did not retry the renewal after the gap (err %v, %d requests)", err, ft.tokenRequests())
	}
	for _, tok := range ft.usedTokens() {
		if tok != issuedToken(1) {
			t.Errorf("API saw %q", tok)
		}
	}
	clock.Advance(time.Minute) // past expiry
	_, resp, err := c.UserRoles(context.Background(), "auth0|x", 0, 50)
	if !errors.Is(err, ErrTokenUnavailable) || !strings.Contains(err.Error(), "503") || resp.StatusCode != 503 {
		t.Fatalf("expired token and failing endpoint: err %v resp %+v", err, resp)
	}
}

// When the caller that started the token fetch gives up, the fetch goes on:
// a waiting caller gets its token, and nothing is fetched twice.
func TestFetchOutlivesTheCallerThatStartedIt(t *testing.T) {
	ft := newFakeTenant(t)
	firstArrived := make(chan struct{})
	release := make(chan struct{})
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			close(firstArrived)
			<-release
		}
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":86400,"token_type":"Bearer"}`, issuedToken(n)))
	}
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	waiting := make(chan struct{})
	c.onJoinRenewal = func() { close(waiting) }

	ctx, cancel := context.WithCancel(context.Background())
	fetcherErr := make(chan error, 1)
	go func() {
		_, _, err := c.UserRoles(ctx, "auth0|x", 0, 50)
		fetcherErr <- err
	}()
	<-firstArrived
	waiterErr := make(chan error, 1)
	go func() { waiterErr <- listRoles(c) }()
	<-waiting
	cancel()
	require.ErrorIs(t, <-fetcherErr, context.Canceled)
	close(release)
	require.NoError(t, <-waiterErr)
	assert.Equal(t, 1, ft.tokenRequests())
	assert.Equal(t, 1, renewalCount(c))
	assert.Equal(t, []string{issuedToken(1)}, ft.usedTokens())
}

// A token endpoint slower than the callers' attempt timeout still delivers:
// the attempts time out, the fetch does not, and the next attempt uses its
// token.
func TestSlowTokenEndpointOutlastsAttemptTimeouts(t *testing.T) {
	ft := newFakeTenant(t)
	release := make(chan struct{})
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		<-release
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":86400,"token_type":"Bearer"}`, issuedToken(n)))
	}
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		_, _, err := c.UserRoles(ctx, "auth0|x", 0, 50)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	close(release)
	require.NoError(t, listRoles(c))
	assert.Equal(t, 1, ft.tokenRequests(), "one fetch served every attempt")
	assert.Equal(t, []string{issuedToken(1)}, ft.usedTokens())
}

// A token endpoint that always fails is asked a bounded number of times,
// however many callers need a token, and each gets ErrTokenUnavailable.
func TestFailingTokenEndpointIsNotHammered(t *testing.T) {
	for _, tt := range []struct {
		name  string
		issue func(n int, w http.ResponseWriter, r *http.Request)
	}{
		{"500", func(n int, w http.ResponseWriter, r *http.Request) {
			respond(w, 500, `{"error":"server_error","error_description":"oops"}`)
		}},
		{"503 with Retry-After", func(n int, w http.ResponseWriter, r *http.Request) {
			respond(w, 503, "<html>down</html>", "Retry-After", "3600", "Content-Type", "text/html")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ft := newFakeTenant(t)
			ft.issue = tt.issue
			c := newCredentialsClient(t, ft, 0, newFakeClock())
			var wg sync.WaitGroup
			errs := make([]error, 64)
			for i := range errs {
				wg.Go(func() { errs[i] = listRoles(c) })
			}
			wg.Wait()
			for range 100 {
				errs = append(errs, listRoles(c))
			}
			for _, err := range errs {
				require.ErrorIs(t, err, ErrTokenUnavailable)
				assert.False(t, CredentialsRejected(err))
				assertNoSecret(t, err)
			}
			assert.LessOrEqual(t, ft.tokenRequests(), DefaultTokenTries, "164 callers, one bounded fetch")
			assert.Empty(t, ft.usedTokens(), "no API request without a token")
		})
	}
}

// The hold on a failed fetch ends: a later caller fetches again.
func TestTokenUnavailableIsHeldForAWhile(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= DefaultTokenTries {
			respond(w, 502, "bad gateway", "Content-Type", "text/plain")
			return
		}
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":86400}`, issuedToken(n)))
	}
	clock := newFakeClock()
	c := newCredentialsClient(t, ft, 0, clock)
	require.ErrorIs(t, listRoles(c), ErrTokenUnavailable)
	clock.Advance(c.tokenFailureHold - time.Second)
	require.ErrorIs(t, listRoles(c), ErrTokenUnavailable)
	assert.Equal(t, DefaultTokenTries, ft.tokenRequests())
	clock.Advance(time.Second)
	require.NoError(t, listRoles(c))
	assert.Equal(t, DefaultTokenTries+1, ft.tokenRequests())
}

// One try that takes longer than tokenTryTimeout is abandoned and tried
// again; all of them slow ends in ErrTokenUnavailable.
func TestTokenTryTimeout(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	c.tokenTryTimeout = 20 * time.Millisecond
	c.tokenTries = 2
	err := listRoles(c)
	require.ErrorIs(t, err, ErrTokenUnavailable)
	assert.Equal(t, 2, ft.tokenRequests())
}

// The fetch's overall budget ends it even when tries remain.
func TestTokenFetchBudget(t *testing.T) {
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	c.tokenTries = 1000
	c.tokenFetchBudget = 30 * time.Millisecond
	err := listRoles(c)
	require.ErrorIs(t, err, ErrTokenUnavailable)
	assert.Less(t, ft.tokenRequests(), 1000)
	assert.GreaterOrEqual(t, ft.tokenRequests(), 1)
}

// A waiting caller whose own context ends stops waiting.
func TestWaiterCancellation(t *testing.T) {
	ft := newFakeTenant(t)
	release := make(chan struct{})
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		<-release
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":86400}`, issuedToken(n)))
	}
	c := newCredentialsClient(t, ft, 0, newFakeClock())
	waiting := make(chan struct{})
	c.onJoinRenewal = func() { close(waiting) }
	fetcherErr := make(chan error, 1)
	go func() { fetcherErr <- listRoles(c) }()
	ctx, cancel := context.WithCancel(context.Background())
	waiterErr := make(chan error, 1)
	go func() {
		_, _, err := c.UserRoles(ctx, "auth0|x", 0, 50)
		waiterErr <- err
	}()
	<-waiting
	cancel()
	if err := <-waiterErr; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter: err %v, want context.Canceled", err)
	}
	close(release)
	if err := <-fetcherErr; err != nil {
		t.Errorf("fetcher: %v", err)
	}
}

// While one caller renews a token that is due but still valid, the others
// carry on with it instead of queueing behind the renewal.
func TestEarlyRenewalDoesNotBlockOthers(t *testing.T) {
	ft := newFakeTenant(t)
	renewing := make(chan struct{})
	release := make(chan struct{})
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 2 {
			close(renewing)
			<-release
		}
		respond(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":600}`, issuedToken(n)))
	}
	clock := newFakeClock()
	c := newCredentialsClient(t, ft, time.Minute, clock)
	c.onJoinRenewal = func() { t.Errorf("a caller waited for an early renewal") }
	if err := listRoles(c); err != nil {
		t.Fatal(err)
	}
	clock.Advance(9 * time.Minute)
	renewerErr := make(chan error, 1)
	go func() { renewerErr <- listRoles(c) }()
	<-renewing
	for range 5 {
		if err := listRoles(c); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := <-renewerErr; err != nil {
		t.Fatal(err)
	}
	used := ft.usedTokens()
	if want := []string{issuedToken(1), issuedToken(1), issuedToken(1), issuedToken(1), issuedToken(1), issuedToken(1), issuedToken(2)}; !reflect.DeepEqual(used, want) {
		t.Errorf("API saw %v, want %v", used, want)
	}
	if err := listRoles(c); err != nil || ft.tokenRequests() != 2 {
		t.Errorf("renewed token not cached: err %v, %d token requests", err, ft.tokenRequests())
	}
}

func TestExpiresInFormats(t *testing.T) {
	for _, tt := range []struct {
		body string
		want time.Duration
	}{
		{`{"access_token":"a","expires_in":86400}`, 86400 * time.Second},
		{`{"access_token":"a","expires_in":"3600"}`, time.Hour},
		{`{"access_token":"a","expires_in":9999999999}`, maxTokenLifetime},
		{`{"access_token":"a","expires_in":-5}`, 0},
		{`{"access_token":"a"}`, 0},
	} {
		ft := newFakeTenant(t)
		ft.issue = func(n int, w http.ResponseWriter, r *http.Request) { respond(w, 200, tt.body) }
		clock := newFakeClock()
		c := newCredentialsClient(t, ft, time.Nanosecond, clock)
		start := clock.Now()
		if err := listRoles(c); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		var got time.Duration
		if !c.current.expiry.IsZero() {
			got = c.current.expiry.Sub(start)
		}
		c.mu.Unlock()
		if got != tt.want {
			t.Errorf("%s: lifetime %s, want %s", tt.body, got, tt.want)
		}
	}
}
