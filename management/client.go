package management

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// maxBodyBytes bounds how much of any response body is read.
const maxBodyBytes = 1 << 20

// maxDrainBytes is how much of an unread body remainder is discarded so the
// connection can be reused; past that, closing is cheaper than reading.
const maxDrainBytes = 64 << 10

const defaultUserAgent = "rolesweep"

// Client calls the Auth0 Management API v2. It is safe for concurrent use.
// Each method makes exactly one API request, plus, with client credentials,
// a wait on the one shared token fetch (itself at most DefaultTokenTries
// token requests, whoever waits on it) and one repeat of the request after a
// 401.
type Client struct {
	base      *url.URL
	http      *http.Client
	userAgent string
	redact    redactor

	staticToken string                    // Config.APIToken
	credentials *clientcredentials.Config // nil with a static token
	tokenHTTP   *http.Client              // http plus our User-Agent, for /oauth/token
	renewBefore time.Duration

	// now is the clock for token expiry and Retry-After dates; tests swap it.
	now func() time.Time
	// onJoinRenewal, when set, runs each time a caller waits for a token
	// fetch another caller started; tests use it to know callers piled up.
	onJoinRenewal func()

	mu       sync.Mutex
	current  *cachedToken
	inflight *renewal
	// retryAt holds off another early renewal after one failed while the
	// cached token was still valid, so a struggling token endpoint is not
	// asked again on every call.
	retryAt  time.Time
	renewals int

	// The shared token fetch's own budget: tries, each bounded by
	// tokenTryTimeout, with capped exponential backoff and jitter between
	// them. After a fetch ran out of tries, unavailable is returned to every
	// caller until unavailableUntil, without asking the endpoint again.
	tokenTries       int
	tokenTryTimeout  time.Duration
	tokenBackoff     time.Duration
	tokenBackoffMax  time.Duration
	tokenFailureHold time.Duration
	tokenFetchBudget time.Duration
	unavailable      error
	unavailableUntil time.Time
}

// New checks cfg and returns a client. A *ConfigError says what is wrong:
// the domain is required, and exactly one way to authenticate (APIToken, or
// both ClientID and ClientSecret).
func New(cfg Config) (*Client, error) {
	base, err := baseURL(cfg.Domain)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(cfg.APIToken)
	id := strings.TrimSpace(cfg.ClientID)
	secret := strings.TrimSpace(cfg.ClientSecret)
	switch {
	case token != "" && (id != "" || secret != ""):
		return nil, &ConfigError{Field: "api_token", Message: "cannot be combined with client_id/client_secret; give one way to authenticate"}
	case token == "" && id == "" && secret == "":
		return nil, &ConfigError{Field: "api_token", Message: "credentials are required: api_token, or client_id and client_secret"}
	case token == "" && id == "":
		return nil, &ConfigError{Field: "client_id", Message: "is required with client_secret"}
	case token == "" && secret == "":
		return nil, &ConfigError{Field: "client_secret", Message: "is required with client_id"}
	}
	if token != "" && hasSpaceOrControl(token) {
		return nil, &ConfigError{Field: "api_token", Message: "contains spaces or control characters; is it a Management API access token?"}
	}
	if hasControl(id) {
		return nil, &ConfigError{Field: "client_id", Message: "contains control characters"}
	}
	if cfg.RenewBefore < 0 {
		return nil, &ConfigError{Field: "renew_before", Message: "must not be negative"}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	ua := strings.TrimSpace(cfg.UserAgent)
	if ua == "" || hasControl(ua) {
		ua = defaultUserAgent
	}
	renewBefore := cfg.RenewBefore
	if renewBefore == 0 {
		renewBefore = DefaultRenewBefore
	}
	c := &Client{
		base:        base,
		http:        hc,
		userAgent:   ua,
		redact:      newRedactor(token, secret),
		staticToken: token,
		renewBefore: renewBefore,
		now:         time.Now,

		tokenTries:       DefaultTokenTries,
		tokenTryTimeout:  DefaultTokenTryTimeout,
		tokenBackoff:     500 * time.Millisecond,
		tokenBackoffMax:  8 * time.Second,
		tokenFailureHold: 30 * time.Second,
		tokenFetchBudget: DefaultTokenFetchBudget,
	}
	if token == "" {
		c.credentials = &clientcredentials.Config{
			ClientID:     id,
			ClientSecret: secret,
			TokenURL:     base.String() + "/oauth/token",
			// The trailing slash is part of the Management API's identifier.
			EndpointParams: url.Values{"audience": {base.String() + "/api/v2/"}},
			// Auth0's documentation sends the credentials in the form body;
			// naming the style also stops oauth2 from probing with a second
			// request after a failure.
			AuthStyle: oauth2.AuthStyleInParams,
		}
		c.tokenHTTP = &http.Client{
			Transport:     headerTransport{base: transportOf(hc), userAgent: ua},
			CheckRedirect: hc.CheckRedirect,
			Jar:           hc.Jar,
			Timeout:       hc.Timeout,
		}
	}
	return c, nil
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

func hasSpaceOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}

// defaultHTTPClient has per-phase timeouts but no overall Timeout: callers
// bound each call with their context. TLS uses the system trust store (so
// SSL_CERT_FILE works) and is never skipped. Redirects are not followed: the
// Management API does not redirect, and following one would re-send a
// DELETE with its body to wherever the redirect points.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			ExpectContinueTimeout: time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConns:          100,
			// Workers share one host; the default of 2 idle connections
			// would make most of them dial anew for every request.
			MaxIdleConnsPerHost: 64,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// headerTransport gives token requests, which the oauth2 package builds, the
// same User-Agent and Accept headers as API requests.
type headerTransport struct {
	base      http.RoundTripper
	userAgent string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", t.userAgent)
	r.Header.Set("Accept", "application/json")
	return t.base.RoundTrip(r)
}

// Domain is the tenant's host[:port] as shown in reports; it is what
// CanonicalDomain returns for the configured domain.
func (c *Client) Domain() string { return c.base.Host }

// String describes the client without its credentials.
func (c *Client) String() string {
	auth := "api token"
	if c.credentials != nil {
		auth = "client credentials"
	}
	return fmt.Sprintf("management.Client{domain:%q, auth:%s}", c.base.Host, auth)
}

// GoString is String: %#v of a Client must not print its secrets.
func (c *Client) GoString() string { return c.String() }

// Format makes every fmt verb print String, never the unexported fields that
// hold the token and the secret.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// RemoveUserRoles removes roles from a user:
// DELETE /api/v2/users/{id}/roles {"roles":[…]}; success is 204.
func (c *Client) RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) (Response, error) {
	return c.userRoles(ctx, http.MethodDelete, "", userID, roleIDs)
}

// RemoveOrganizationMemberRoles removes roles from a member of an organization:
// DELETE /api/v2/organizations/{org}/members/{user}/roles {"roles":[…]}.
func (c *Client) RemoveOrganizationMemberRoles(ctx context.Context, orgID, userID string, roleIDs []string) (Response, error) {
	return c.userRoles(ctx, http.MethodDelete, orgID, userID, roleIDs)
}

// UserRoles reads one page of a user's roles:
// GET /api/v2/users/{id}/roles?include_totals=true&page=&per_page=.
// page counts from 0; perPage ≤ 0 leaves the page size to the tenant.
func (c *Client) UserRoles(ctx context.Context, userID string, page, perPage int) (RolesPage, Response, error) {
	if err := checkID("user id", userID); err != nil {
		return RolesPage{}, Response{}, err
	}
	q, err := pageQuery(page, perPage)
	if err != nil {
		return RolesPage{}, Response{}, err
	}
	return c.rolesPage(ctx, c.endpoint(q, "users", userID, "roles"), page, perPage)
}

// OrganizationMemberRoles reads one page of an organization member's roles:
// GET /api/v2/organizations/{org}/members/{user}/roles?include_totals=true&page=&per_page=.
func (c *Client) OrganizationMemberRoles(ctx context.Context, orgID, userID string, page, perPage int) (RolesPage, Response, error) {
	if err := checkID("organization id", orgID); err != nil {
		return RolesPage{}, Response{}, err
	}
	if err := checkID("user id", userID); err != nil {
		return RolesPage{}, Response{}, err
	}
	q, err := pageQuery(page, perPage)
	if err != nil {
		return RolesPage{}, Response{}, err
	}
	return c.rolesPage(ctx, c.endpoint(q, "organizations", orgID, "members", userID, "roles"), page, perPage)
}

// Roles reads one page of the tenant's roles, optionally filtered by name:
// GET /api/v2/roles?include_totals=true&name_filter=&page=&per_page=. Auth0
// documents the filter only as case-insensitive, so callers should still
// match names themselves.
func (c *Client) Roles(ctx context.Context, nameFilter string, page, perPage int) (RolesPage, Response, error) {
	q, err := pageQuery(page, perPage)
	if err != nil {
		return RolesPage{}, Response{}, err
	}
	if nameFilter != "" {
		q.Set("name_filter", nameFilter)
	}
	return c.rolesPage(ctx, c.endpoint(q, "roles"), page, perPage)
}

// UsersByEmail lists the users with an email address (Auth0 matches it
// case-sensitively): GET /api/v2/users-by-email?email=.
func (c *Client) UsersByEmail(ctx context.Context, email string) ([]User, Response, error) {
	if strings.TrimSpace(email) == "" {
		return nil, Response{}, invalidArgument("empty email")
	}
	var users []User
	resp, err := c.do(ctx, http.MethodGet, c.endpoint(url.Values{"email": {email}}, "users-by-email"), nil, func(data []byte) error {
		var err error
		users, err = decodeUsers(data)
		return err
	})
	if err != nil {
		return nil, resp, err
	}
	return users, resp, nil
}

func (c *Client) rolesPage(ctx context.Context, u *url.URL, page, perPage int) (RolesPage, Response, error) {
	var rp RolesPage
	resp, err := c.do(ctx, http.MethodGet, u, nil, func(data []byte) error {
		var err error
		rp, err = decodeRolesPage(data, page, perPage)
		return err
	})
	if err != nil {
		return RolesPage{}, resp, err
	}
	return rp, resp, nil
}

func checkID(what, id string) error {
	switch id {
	case "":
		return invalidArgument("empty %s", what)
	case ".", "..":
		// Escaping leaves dots alone, and servers and proxies treat a "."
		// or ".." segment as a relative path step to another endpoint.
		return invalidArgument("%s %q is a relative path step", what, id)
	}
	return nil
}

func rolesBody(roleIDs []string) ([]byte, error) {
	if len(roleIDs) == 0 {
		return nil, invalidArgument("no role ids")
	}
	for i, id := range roleIDs {
		if id == "" {
			return nil, invalidArgument("role id %d is empty", i+1)
		}
	}
	return json.Marshal(struct {
		Roles []string `json:"roles"`
	}{roleIDs})
}

func pageQuery(page, perPage int) (url.Values, error) {
	if page < 0 {
		return nil, invalidArgument("page %d is negative", page)
	}
	q := url.Values{"include_totals": {"true"}, "page": {strconv.Itoa(page)}}
	if perPage > 0 {
		q.Set("per_page", strconv.Itoa(perPage))
	}
	return q, nil
}

// escapeSegment escapes one path segment so that it stays one segment: Go's
// url.PathEscape already escapes "/", and the extra replacement keeps that
// true whatever a future Go does (go-auth0 does the same).
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "/", "%2F")
}

// endpoint builds {base}/api/v2/{segments…}?{query}. Path carries the
// decoded segments and RawPath the escaped ones, so that what goes on the
// wire is exactly the escaped form ("auth0%7Cx", "a%2Fb").
func (c *Client) endpoint(query url.Values, segments ...string) *url.URL {
	var decoded, escaped strings.Builder
	decoded.WriteString("/api/v2")
	escaped.WriteString("/api/v2")
	for _, s := range segments {
		decoded.WriteString("/" + s)
		escaped.WriteString("/" + escapeSegment(s))
	}
	u := &url.URL{
		Scheme:  c.base.Scheme,
		Host:    c.base.Host,
		Path:    decoded.String(),
		RawPath: escaped.String(),
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	if u.EscapedPath() != escaped.String() {
		// Cannot happen with PathEscape's output; if it ever did, Opaque
		// still puts the escaped path on the wire verbatim.
		u.Opaque = "//" + c.base.Host + escaped.String()
	}
	return u
}

// do sends one API request, renewing the token and repeating the request
// once if a client-credentials token gets a 401. decode, if set, reads a 2xx
// body.
func (c *Client) do(ctx context.Context, method string, u *url.URL, body []byte, decode func([]byte) error) (Response, error) {
	token, resp, err := c.accessToken(ctx, "")
	if err != nil {
		return resp, err
	}
	resp, data, readErr, err := c.send(ctx, method, u, body, token)
	if err != nil {
		return Response{}, err
	}
	if resp.StatusCode == http.StatusUnauthorized && c.credentials != nil {
		renewed, tokenResp, err := c.accessToken(ctx, token)
		if err != nil {
			return tokenResp, err
		}
		token = renewed
		resp, data, readErr, err = c.send(ctx, method, u, body, token)
		if err != nil {
			return Response{}, err
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, c.apiError(resp, data, token)
	}
	if decode == nil {
		// A removal succeeded with its status; a broken body does not undo it.
		return resp, nil
	}
	if readErr == nil {
		readErr = decode(data)
	}
	if readErr != nil {
		return resp, c.decodeError(method, u, resp, data, token, readErr)
	}
	return resp, nil
}

// send makes one HTTP request. err is a failure to get any answer; readErr
// a failure to read the answer's body (or a body over maxBodyBytes).
func (c *Client) send(ctx context.Context, method string, u *url.URL, body []byte, token string) (resp Response, data []byte, readErr, err error) {
	var reader io.Reader
	if body != nil {
		// A bytes.Reader makes NewRequest set ContentLength and GetBody, so
		// the transport can re-send the body on a retried connection.
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return Response{}, nil, nil, fmt.Errorf("management: building %s %s: %w", method, u.Path, err)
	}
	target := *u
	req.URL = &target
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up; that is not the tenant's fault.
			return Response{}, nil, nil, err
		}
		return Response{}, nil, nil, networkError(c.base.Host, err)
	}
	defer closeBody(res.Body)
	resp = responseOf(res, c.now())
	data, readErr = io.ReadAll(io.LimitReader(res.Body, maxBodyBytes+1))
	if readErr == nil && len(data) > maxBodyBytes {
		data = data[:maxBodyBytes]
		readErr = fmt.Errorf("body larger than %d bytes", maxBodyBytes)
	}
	return resp, data, readErr, nil
}

func closeBody(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(b, maxDrainBytes))
	_ = b.Close()
}

// decodeError quotes a short, redacted prefix of a 2xx body that could not
// be read. Redacting before cutting keeps half a token out of the prefix.
func (c *Client) decodeError(method string, u *url.URL, resp Response, data []byte, token string, err error) *DecodeError {
	clean := append(newRedactor(token), c.redact...)
	prefix := []byte(clean.clean(string(data)))
	if len(prefix) > maxDecodePrefix {
		prefix = prefix[:maxDecodePrefix]
	}
	return &DecodeError{Method: method, Endpoint: u.Path, StatusCode: resp.StatusCode, Prefix: excerpt(prefix), Err: err}
}

// apiError builds the error for a non-2xx answer: Auth0's JSON shape when
// the body has it, otherwise the status and a sanitised excerpt of the body
// (an HTML page from a proxy, a load balancer's 502).
func (c *Client) apiError(resp Response, data []byte, token string) *APIError {
	clean := append(newRedactor(token), c.redact...)
	e := &APIError{StatusCode: resp.StatusCode, Response: resp}
	var body struct {
		StatusCode       json.RawMessage `json:"statusCode"`
		Error            string          `json:"error"`
		Message          string          `json:"message"`
		ErrorCode        string          `json:"errorCode"`
		ErrorDescription string          `json:"error_description"`
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &body) == nil &&
		(body.Error != "" || body.Message != "" || body.ErrorCode != "" || body.ErrorDescription != "") {
		e.ErrorText = excerpt([]byte(clean.clean(body.Error)))
		e.Message = excerpt([]byte(clean.clean(body.Message)))
		if e.Message == "" {
			// The Authentication API's shape, which custom rate-limit
			// policies also use: {"error":"too_many_requests","error_description":…}.
			e.Message = excerpt([]byte(clean.clean(body.ErrorDescription)))
		}
		e.ErrorCode = excerpt([]byte(clean.clean(body.ErrorCode)))
	} else {
		e.Message = excerpt([]byte(clean.clean(string(data))))
	}
	if e.ErrorText == "" {
		e.ErrorText = http.StatusText(resp.StatusCode)
		if e.ErrorText == "" {
			e.ErrorText = "HTTP Error"
		}
	}
	return e
}

// decodeRolesPage reads a roles listing in either of the shapes the API
// documents: {"roles":[…],"start","limit","total"} (include_totals=true) or a
// bare array. Without totals, Total is synthesised so that the usual paging
// loop ("stop on a short page or when start+len ≥ total") reads on after a
// full page and stops after a short one; TotalKnown is false then.
func decodeRolesPage(data []byte, page, perPage int) (RolesPage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var roles []Role
		if err := json.Unmarshal(trimmed, &roles); err != nil {
			return RolesPage{}, fmt.Errorf("decoding roles: %w", err)
		}
		return pageWithoutTotals(roles, page, perPage), nil
	}
	var obj struct {
		Roles *[]Role  `json:"roles"`
		Start *float64 `json:"start"`
		Limit *float64 `json:"limit"`
		Total *float64 `json:"total"`
	}
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return RolesPage{}, fmt.Errorf("decoding roles: %w", err)
	}
	if obj.Roles == nil {
		// Reading "{}" as "no roles" would turn a broken answer into a
		// claim that the user holds nothing.
		return RolesPage{}, errors.New(`decoding roles: the response has no "roles" list`)
	}
	roles := *obj.Roles
	if obj.Total == nil {
		return pageWithoutTotals(roles, page, perPage), nil
	}
	rp := RolesPage{Roles: nonNil(roles), Total: int(*obj.Total), TotalKnown: true}
	if obj.Start != nil {
		rp.Start = int(*obj.Start)
	}
	if obj.Limit != nil {
		rp.Limit = int(*obj.Limit)
	}
	return rp, nil
}

func pageWithoutTotals(roles []Role, page, perPage int) RolesPage {
	rp := RolesPage{Roles: nonNil(roles), Limit: perPage}
	if perPage > 0 {
		rp.Start = page * perPage
	}
	rp.Total = rp.Start + len(roles)
	if perPage > 0 && len(roles) >= perPage {
		rp.Total++ // a full page: there may be more
	}
	return rp
}

func nonNil(roles []Role) []Role {
	if roles == nil {
		return []Role{}
	}
	return roles
}

// decodeUsers reads users-by-email's bare array; an object with a "users"
// list is accepted too.
func decodeUsers(data []byte) ([]User, error) {
	trimmed := bytes.TrimSpace(data)
	var users []User
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var obj struct {
			Users *[]User `json:"users"`
		}
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, fmt.Errorf("decoding users: %w", err)
		}
		if obj.Users == nil {
			return nil, errors.New(`decoding users: the response has no "users" list`)
		}
		users = *obj.Users
	} else if err := json.Unmarshal(trimmed, &users); err != nil {
		return nil, fmt.Errorf("decoding users: %w", err)
	}
	if users == nil {
		// JSON null: treat like an empty list rather than fail.
		users = []User{}
	}
	return users, nil
}
