package management

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// methodCall is one client method, called with fixed arguments, and the
// request it must produce.
type methodCall struct {
	name       string
	call       func(ctx context.Context, c *Client) (any, Response, error)
	method     string
	requestURI string
	body       string // JSON; "" for none
}

func methodCalls() []methodCall {
	return []methodCall{
		{
			name: "RemoveUserRoles",
			call: func(ctx context.Context, c *Client) (any, Response, error) {
				resp, err := c.RemoveUserRoles(ctx, "auth0|5f7c8ec7c33c6c004bbafe82", []string{"rol_AbCdEfGhIjKlMnOp", "rol_0123456789abcdef"})
				return nil, resp, err
			},
			method:     http.MethodDelete,
			requestURI: "/api/v2/users/auth0%7C5f7c8ec7c33c6c004bbafe82/roles",
			body:       `{"roles":["rol_AbCdEfGhIjKlMnOp","rol_0123456789abcdef"]}`,
		},
		{
			name: "RemoveOrganizationMemberRoles",
			call: func(ctx context.Context, c *Client) (any, Response, error) {
				resp, err := c.RemoveOrganizationMemberRoles(ctx, "org_AbCdEfGhIjKlMnOp", "google-oauth2|1234", []string{"rol_AbCdEfGhIjKlMnOp"})
				return nil, resp, err
			},
			method:     http.MethodDelete,
			requestURI: "/api/v2/organizations/org_AbCdEfGhIjKlMnOp/members/google-oauth2%7C1234/roles",
			body:       `{"roles":["rol_AbCdEfGhIjKlMnOp"]}`,
		},
		{
			name: "UserRoles",
			call: func(ctx context.Context, c *Client) (any, Response, error) {
				return c.UserRoles(ctx, "auth0|5f7c8ec7c33c6c004bbafe82", 2, 100)
			},
			method:     http.MethodGet,
			requestURI: "/api/v2/users/auth0%7C5f7c8ec7c33c6c004bbafe82/roles?include_totals=true&page=2&per_page=100",
		},
		{
			name: "OrganizationMemberRoles",
			call: func(ctx context.Context, c *Client) (any, Response, error) {
				return c.OrganizationMemberRoles(ctx, "org_AbCdEfGhIjKlMnOp", "auth0|abc", 0, 50)
			},
			method:     http.MethodGet,
			requestURI: "/api/v2/organizations/org_AbCdEfGhIjKlMnOp/members/auth0%7Cabc/roles?include_totals=true&page=0&per_page=50",
		},
		{
			name: "Roles",
			call: func(ctx context.Context, c *Client) (any, Response, error) {
				return c.Roles(ctx, "Billing Admin & Co", 1, 100)
			},
			method:     http.MethodGet,
			requestURI: "/api/v2/roles?include_totals=true&name_filter=Billing+Admin+%26+Co&page=1&per_page=100",
		},
		{
			name: "UsersByEmail",
			call: func(ctx context.Context, c *Client) (any, Response, error) {
				return c.UsersByEmail(ctx, "jane+ops@example.com")
			},
			method:     http.MethodGet,
			requestURI: "/api/v2/users-by-email?email=jane%2Bops%40example.com",
		},
	}
}

// successBody is a realistic 2xx answer for each method, with fields the
// client does not know about.
var successBody = map[string]struct {
	status int
	body   string
	want   any
}{
	"RemoveUserRoles":               {204, "", nil},
	"RemoveOrganizationMemberRoles": {204, "", nil},
	"UserRoles": {200,
		`{"roles":[{"id":"rol_NHBmr6NkzbRcHob1","name":"test-role436","description":"Test Role","type":"tenant"}],"start":200,"limit":100,"total":201}`,
		RolesPage{Roles: []Role{{ID: "rol_NHBmr6NkzbRcHob1", Name: "test-role436", Description: "Test Role"}}, Start: 200, Limit: 100, Total: 201, TotalKnown: true}},
	"OrganizationMemberRoles": {200,
		`{"roles":[{"id":"rol_lEh5V8omwZrnZd9o","name":"test-role403","description":"Test Role","type":"organization","owner_id":"org_x"}],"start":0,"limit":50,"total":1}`,
		RolesPage{Roles: []Role{{ID: "rol_lEh5V8omwZrnZd9o", Name: "test-role403", Description: "Test Role"}}, Start: 0, Limit: 50, Total: 1, TotalKnown: true}},
	"Roles": {200,
		`{"roles":[],"start":100,"limit":100,"total":7}`,
		RolesPage{Roles: []Role{}, Start: 100, Limit: 100, Total: 7, TotalKnown: true}},
	"UsersByEmail": {200,
		`[{"email":"jane+ops@example.com","user_id":"auth0|63d17c4f62d6dbc216a6e8ed","identities":[{"provider":"auth0"}],"blocked":false}]`,
		[]User{{UserID: "auth0|63d17c4f62d6dbc216a6e8ed", Email: "jane+ops@example.com"}}},
}

func derefResult(v any) any {
	switch r := v.(type) {
	case RolesPage:
		return r
	case []User:
		return r
	}
	return nil
}

func TestMethodsHappyPath(t *testing.T) {
	for _, mc := range methodCalls() {
		t.Run(mc.name, func(t *testing.T) {
			answer := successBody[mc.name]
			reset := time.Now().Add(30 * time.Second).Unix()
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				respond(w, answer.status, answer.body,
					"X-RateLimit-Limit", "50", "X-RateLimit-Remaining", "49", "X-RateLimit-Reset", strconv.FormatInt(reset, 10))
			})
			c := newTokenClient(t, srv)
			got, resp, err := mc.call(context.Background(), c)
			if err != nil {
				t.Fatalf("%s: %v", mc.name, err)
			}
			wantResp := Response{StatusCode: answer.status, RateLimit: RateLimit{Present: true, Limit: 50, Remaining: 49, Reset: time.Unix(reset, 0)}}
			if resp.Date.IsZero() {
				t.Errorf("%s: the server's Date header was not read", mc.name)
			}
			resp.Date = time.Time{} // stamped by net/http
			if resp != wantResp {
				t.Errorf("response = %+v, want %+v", resp, wantResp)
			}
			if !reflect.DeepEqual(derefResult(got), answer.want) {
				t.Errorf("result = %#v, want %#v", got, answer.want)
			}

			seen := srv.seen()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			req := seen[0]
			if req.Method != mc.method || req.RequestURI != mc.requestURI {
				t.Errorf("request = %s %s, want %s %s", req.Method, req.RequestURI, mc.method, mc.requestURI)
			}
			wantHeaders := map[string]string{
				"Authorization": "Bearer " + testToken,
				"User-Agent":    testUserAgent,
				"Accept":        "application/json",
			}
			if mc.body != "" {
				wantHeaders["Content-Type"] = "application/json"
				wantHeaders["Content-Length"] = strconv.Itoa(len(req.Body))
			}
			for k, v := range wantHeaders {
				if got := req.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if mc.body == "" {
				if len(req.Body) != 0 || req.Header.Get("Content-Type") != "" {
					t.Errorf("GET sent body %q with Content-Type %q", req.Body, req.Header.Get("Content-Type"))
				}
			} else {
				assertJSONEqual(t, req.Body, []byte(mc.body))
			}
		})
	}
}

func TestMethodsAuth0Errors(t *testing.T) {
	reset := time.Now().Add(5 * time.Second).Unix()
	tests := []struct {
		name      string
		status    int
		body      string
		headers   []string
		want      APIError // Response is checked separately
		errString string
		rateLimit bool
		retry     time.Duration
	}{
		{
			name:   "404 inexistent_user",
			status: 404, body: `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`,
			want:      APIError{StatusCode: 404, ErrorText: "Not Found", Message: "The user does not exist.", ErrorCode: "inexistent_user"},
			errString: "404 Not Found: The user does not exist. (inexistent_user)",
		},
		{
			name:   "404 without errorCode",
			status: 404, body: `{"statusCode":404,"error":"Not Found","message":"The role does not exist."}`,
			want:      APIError{StatusCode: 404, ErrorText: "Not Found", Message: "The role does not exist."},
			errString: "404 Not Found: The role does not exist.",
		},
		{
			name:   "403 insufficient_scope",
			status: 403, body: `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: update:users","errorCode":"insufficient_scope"}`,
			want:      APIError{StatusCode: 403, ErrorText: "Forbidden", Message: "Insufficient scope, expected any of: update:users", ErrorCode: "insufficient_scope"},
			errString: "403 Forbidden: Insufficient scope, expected any of: update:users (insufficient_scope)",
		},
		{
			name:   "401 invalid token with static token",
			status: 401, body: `{"statusCode":401,"error":"Unauthorized","message":"Invalid token","attributes":{"error":"Invalid token"}}`,
			headers:   []string{"WWW-Authenticate", `Token error="Invalid token"`},
			want:      APIError{StatusCode: 401, ErrorText: "Unauthorized", Message: "Invalid token"},
			errString: "401 Unauthorized: Invalid token",
		},
		{
			name:   "429 too_many_requests with rate-limit headers",
			status: 429, body: `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`,
			headers: []string{"X-RateLimit-Limit", "10", "X-RateLimit-Remaining", "0",
				"X-RateLimit-Reset", strconv.FormatInt(reset, 10), "Retry-After", "3"},
			want:      APIError{StatusCode: 429, ErrorText: "Too Many Requests", Message: "Global limit has been reached", ErrorCode: "too_many_requests"},
			errString: "429 Too Many Requests: Global limit has been reached (too_many_requests)",
			rateLimit: true, retry: 3 * time.Second,
		},
		{
			name:   "429 old shape without message",
			status: 429, body: `{"statusCode":429,"error":"Too Many Requests"}`,
			want:      APIError{StatusCode: 429, ErrorText: "Too Many Requests"},
			errString: "429 Too Many Requests",
		},
		{
			name:   "429 authentication API shape",
			status: 429, body: `{"error":"too_many_requests","error_description":"Rate limit exceeded."}`,
			want:      APIError{StatusCode: 429, ErrorText: "too_many_requests", Message: "Rate limit exceeded."},
			errString: "429 too_many_requests: Rate limit exceeded.",
		},
		{
			name:   "400 invalid_body",
			status: 400, body: `{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Array items are not unique (indexes 0 and 1)' on property roles.","errorCode":"invalid_body"}`,
			want:      APIError{StatusCode: 400, ErrorText: "Bad Request", Message: "Payload validation error: 'Array items are not unique (indexes 0 and 1)' on property roles.", ErrorCode: "invalid_body"},
			errString: "400 Bad Request: Payload validation error",
		},
		{
			name:   "502 HTML from a proxy",
			status: 502, body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\x1b[31m<center><h1>502 Bad Gateway</h1></center>\x00</body>\r\n</html>\r\n",
			headers:   []string{"Content-Type", "text/html"},
			want:      APIError{StatusCode: 502, ErrorText: "Bad Gateway", Message: "<html> <head><title>502 Bad Gateway</title></head> <body>[31m<center><h1>502 Bad Gateway</h1></center></body> </html>"},
			errString: "502 Bad Gateway: <html>",
		},
		{
			name:   "503 empty body",
			status: 503, body: "",
			want:      APIError{StatusCode: 503, ErrorText: "Service Unavailable"},
			errString: "503 Service Unavailable",
		},
		{
			name:   "524 unknown status, plain text",
			status: 524, body: "error code: 524", headers: []string{"Content-Type", "text/plain"},
			want:      APIError{StatusCode: 524, ErrorText: "HTTP Error", Message: "error code: 524"},
			errString: "524 HTTP Error: error code: 524",
		},
		{
			name:   "JSON that is not Auth0's shape",
			status: 500, body: `{"unexpected":true}`,
			want:      APIError{StatusCode: 500, ErrorText: "Internal Server Error", Message: `{"unexpected":true}`},
			errString: `500 Internal Server Error: {"unexpected":true}`,
		},
	}
	for _, mc := range methodCalls() {
		for _, tt := range tests {
			t.Run(mc.name+"/"+tt.name, func(t *testing.T) {
				srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
					respond(w, tt.status, tt.body, tt.headers...)
				})
				c := newTokenClient(t, srv)
				got, resp, err := mc.call(context.Background(), c)
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %T %v, want *APIError", err, err)
				}
				if r := derefResult(got); r != nil && !reflect.ValueOf(r).IsZero() {
					t.Errorf("result %#v returned with an error", got)
				}
				want := tt.want
				want.Response = resp
				if *apiErr != want {
					t.Errorf("APIError = %#v\nwant       %#v", *apiErr, want)
				}
				if !strings.Contains(err.Error(), tt.errString) {
					t.Errorf("Error() = %q, want it to contain %q", err, tt.errString)
				}
				if resp.StatusCode != tt.status {
					t.Errorf("Response.StatusCode = %d, want %d", resp.StatusCode, tt.status)
				}
				if resp.RateLimit.Present != tt.rateLimit {
					t.Errorf("RateLimit.Present = %v, want %v", resp.RateLimit.Present, tt.rateLimit)
				}
				if tt.rateLimit && (resp.RateLimit.Limit != 10 || resp.RateLimit.Remaining != 0 || resp.RateLimit.Reset.Unix() != reset) {
					t.Errorf("RateLimit = %+v", resp.RateLimit)
				}
				if resp.RetryAfter != tt.retry {
					t.Errorf("RetryAfter = %s, want %s", resp.RetryAfter, tt.retry)
				}
				if n := len(srv.seen()); n != 1 {
					t.Errorf("server saw %d requests, want exactly 1", n)
				}
			})
		}
	}
}

func TestErrorMessageIsShortAndClean(t *testing.T) {
	long := strings.Repeat("é", 150) + "\x07tail" // 300 bytes of 2-byte runes, then a bell
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		respond(w, 500, long, "Content-Type", "text/plain")
	})
	c := newTokenClient(t, srv)
	_, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_x"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want *APIError", err)
	}
	if len(apiErr.Message) > maxErrorExcerpt || apiErr.Message != strings.Repeat("é", 100) {
		t.Errorf("message %q (%d bytes) is not the first %d bytes", apiErr.Message, len(apiErr.Message), maxErrorExcerpt)
	}
}

func TestListingShapes(t *testing.T) {
	tests := []struct {
		name          string
		body          string
		page, perPage int
		want          RolesPage
		wantErr       string
	}{
		{
			name: "bare array, short page", body: `[{"id":"rol_1","name":"a"},{"id":"rol_2","name":"b","type":"tenant"}]`,
			page: 1, perPage: 3,
			want: RolesPage{Roles: []Role{{ID: "rol_1", Name: "a"}, {ID: "rol_2", Name: "b"}}, Start: 3, Limit: 3, Total: 5},
		},
		{
			name: "bare array, full page", body: `[{"id":"rol_1"},{"id":"rol_2"}]`,
			page: 0, perPage: 2,
			want: RolesPage{Roles: []Role{{ID: "rol_1"}, {ID: "rol_2"}}, Start: 0, Limit: 2, Total: 3},
		},
		{
			name: "empty bare array", body: ` [] `, page: 4, perPage: 100,
			want: RolesPage{Roles: []Role{}, Start: 400, Limit: 100, Total: 400},
		},
		{
			name: "object without totals", body: `{"roles":[{"id":"rol_1"}]}`, page: 0, perPage: 1,
			want: RolesPage{Roles: []Role{{ID: "rol_1"}}, Start: 0, Limit: 1, Total: 2},
		},
		{
			name: "page past the end keeps the total", body: `{"roles":[],"start":50,"limit":50,"total":1}`, page: 1, perPage: 50,
			want: RolesPage{Roles: []Role{}, Start: 50, Limit: 50, Total: 1, TotalKnown: true},
		},
		{name: "object without roles", body: `{"start":0,"limit":50,"total":0}`, page: 0, perPage: 50, wantErr: `no "roles" list`},
		{name: "empty object", body: `{}`, page: 0, perPage: 50, wantErr: `no "roles" list`},
		{name: "null", body: `null`, page: 0, perPage: 50, wantErr: `no "roles" list`},
		{name: "empty body", body: ``, page: 0, perPage: 50, wantErr: "decoding roles"},
		{name: "truncated", body: `{"roles":[{"id":"rol_1"`, page: 0, perPage: 50, wantErr: "decoding roles"},
		{name: "wrong type", body: `{"roles":"rol_1"}`, page: 0, perPage: 50, wantErr: "decoding roles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				respond(w, 200, tt.body)
			})
			c := newTokenClient(t, srv)
			for _, call := range []func() (RolesPage, Response, error){
				func() (RolesPage, Response, error) {
					return c.UserRoles(context.Background(), "auth0|x", tt.page, tt.perPage)
				},
				func() (RolesPage, Response, error) {
					return c.OrganizationMemberRoles(context.Background(), "org_x", "auth0|x", tt.page, tt.perPage)
				},
				func() (RolesPage, Response, error) { return c.Roles(context.Background(), "a", tt.page, tt.perPage) },
			} {
				got, resp, err := call()
				if resp.StatusCode != 200 {
					t.Errorf("Response.StatusCode = %d, want 200 even when decoding fails", resp.StatusCode)
				}
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("err = %v, want %q", err, tt.wantErr)
					}
					var apiErr *APIError
					if errors.As(err, &apiErr) {
						t.Errorf("a decoding failure is not an APIError")
					}
					continue
				}
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("page = %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

// A paging loop written like the reconcile package's must read every role
// whether or not the tenant sends totals.
func TestPagingLoopReadsEverythingWithoutTotals(t *testing.T) {
	const all, perPage = 7, 3
	for _, withTotals := range []bool{true, false} {
		t.Run(fmt.Sprintf("totals=%v", withTotals), func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				page, _ := strconv.Atoi(r.URL.Query().Get("page"))
				var items []string
				for i := page * perPage; i < min(all, (page+1)*perPage); i++ {
					items = append(items, fmt.Sprintf(`{"id":"rol_%d"}`, i))
				}
				list := "[" + strings.Join(items, ",") + "]"
				if withTotals {
					list = fmt.Sprintf(`{"roles":%s,"start":%d,"limit":%d,"total":%d}`, list, page*perPage, perPage, all)
				}
				respond(w, 200, list)
			})
			c := newTokenClient(t, srv)
			var got []string
			for page := 0; page < 10; page++ {
				rp, _, err := c.UserRoles(context.Background(), "auth0|x", page, perPage)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rp.Roles {
					got = append(got, r.ID)
				}
				if len(rp.Roles) < perPage || (page+1)*perPage >= rp.Total {
					break
				}
			}
			if len(got) != all {
				t.Errorf("read %d roles %v, want %d", len(got), got, all)
			}
		})
	}
}

func TestUsersByEmailShapes(t *testing.T) {
	tests := []struct {
		name, body string
		want       []User
		wantErr    string
	}{
		{name: "array", body: `[{"user_id":"auth0|1","email":"a@x"},{"user_id":"samlp|2","email":"a@x"}]`, want: []User{{UserID: "auth0|1", Email: "a@x"}, {UserID: "samlp|2", Email: "a@x"}}},
		{name: "empty array", body: `[]`, want: []User{}},
		{name: "object form", body: `{"users":[{"user_id":"auth0|1","email":"a@x"}],"total":1}`, want: []User{{UserID: "auth0|1", Email: "a@x"}}},
		{name: "object without users", body: `{"total":0}`, wantErr: `no "users" list`},
		{name: "not JSON", body: `<html>`, wantErr: "decoding users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 200, tt.body) })
			got, resp, err := newTokenClient(t, srv).UsersByEmail(context.Background(), "a@x")
			if resp.StatusCode != 200 {
				t.Errorf("StatusCode = %d", resp.StatusCode)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Errorf("got %v, err = %v, want nil and %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

// Every id is one escaped path segment: nothing in it can reach another
// endpoint, add a query or a fragment, or be decoded twice.
func TestPathEscaping(t *testing.T) {
	ids := []struct {
		id, escaped string
	}{
		{"auth0|5f7c8ec7c33c6c004bbafe82", "auth0%7C5f7c8ec7c33c6c004bbafe82"},
		{"a/b", "a%2Fb"},
		{"../../roles", "..%2F..%2Froles"},
		{"x/../../../api/v2/roles", "x%2F..%2F..%2F..%2Fapi%2Fv2%2Froles"},
		{"..%2F..", "..%252F.."},
		{"a%2Fb", "a%252Fb"},
		{"100%", "100%25"},
		{"x?page=99&per_page=1", "x%3Fpage=99&per_page=1"},
		{"x#frag", "x%23frag"},
		{"with space", "with%20space"},
		{"a;b,c", "a%3Bb%2Cc"},
		{"tab\there\nnewline", "tab%09here%0Anewline"},
		{"samlp|corp|jdoe@example.com", "samlp%7Ccorp%7Cjdoe@example.com"},
		{"ü名", "%C3%BC%E5%90%8D"},
		{"\\windows", "%5Cwindows"},
		{"...", "..."},
	}
	for _, tt := range ids {
		t.Run(tt.id, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				if r.Method == http.MethodDelete {
					respond(w, 204, "")
					return
				}
				respond(w, 200, `{"roles":[],"start":0,"limit":50,"total":0}`)
			})
			c := newTokenClient(t, srv)
			ctx := context.Background()
			if _, err := c.RemoveUserRoles(ctx, tt.id, []string{"rol_x"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.UserRoles(ctx, tt.id, 0, 50); err != nil {
				t.Fatal(err)
			}
			if _, err := c.RemoveOrganizationMemberRoles(ctx, tt.id, tt.id, []string{"rol_x"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.OrganizationMemberRoles(ctx, tt.id, tt.id, 0, 50); err != nil {
				t.Fatal(err)
			}
			want := []struct{ uri, path string }{
				{"/api/v2/users/" + tt.escaped + "/roles", "/api/v2/users/" + tt.id + "/roles"},
				{"/api/v2/users/" + tt.escaped + "/roles?include_totals=true&page=0&per_page=50", "/api/v2/users/" + tt.id + "/roles"},
				{"/api/v2/organizations/" + tt.escaped + "/members/" + tt.escaped + "/roles", "/api/v2/organizations/" + tt.id + "/members/" + tt.id + "/roles"},
				{"/api/v2/organizations/" + tt.escaped + "/members/" + tt.escaped + "/roles?include_totals=true&page=0&per_page=50", "/api/v2/organizations/" + tt.id + "/members/" + tt.id + "/roles"},
			}
			seen := srv.seen()
			if len(seen) != len(want) {
				t.Fatalf("server saw %d requests, want %d", len(seen), len(want))
			}
			for i, w := range want {
				if seen[i].RequestURI != w.uri {
					t.Errorf("RequestURI = %q, want %q", seen[i].RequestURI, w.uri)
				}
				// The server decodes back to exactly the id, in the
				// segment it was given.
				if seen[i].Path != w.path {
					t.Errorf("decoded path = %q, want %q", seen[i].Path, w.path)
				}
			}
		})
	}
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		t.Errorf("unexpected request %s %s", r.Method, r.RequestURI)
	})
	c := newTokenClient(t, srv)
	ctx := context.Background()
	calls := map[string]func() error{
		"empty user id": func() error { _, err := c.RemoveUserRoles(ctx, "", []string{"rol_x"}); return err },
		"dot user id":   func() error { _, err := c.RemoveUserRoles(ctx, ".", []string{"rol_x"}); return err },
		"dotdot user id": func() error {
			_, err := c.RemoveUserRoles(ctx, "..", []string{"rol_x"})
			return err
		},
		"no roles":   func() error { _, err := c.RemoveUserRoles(ctx, "auth0|x", nil); return err },
		"empty role": func() error { _, err := c.RemoveUserRoles(ctx, "auth0|x", []string{"rol_x", ""}); return err },
		"dotdot org": func() error {
			_, err := c.RemoveOrganizationMemberRoles(ctx, "..", "auth0|x", []string{"rol_x"})
			return err
		},
		"empty member": func() error {
			_, err := c.RemoveOrganizationMemberRoles(ctx, "org_x", "", []string{"rol_x"})
			return err
		},
		"org no roles": func() error {
			_, err := c.RemoveOrganizationMemberRoles(ctx, "org_x", "auth0|x", []string{})
			return err
		},
		"list dotdot": func() error { _, _, err := c.UserRoles(ctx, "..", 0, 50); return err },
		"negative page": func() error {
			_, _, err := c.UserRoles(ctx, "auth0|x", -1, 50)
			return err
		},
		"org list empty org": func() error { _, _, err := c.OrganizationMemberRoles(ctx, "", "auth0|x", 0, 50); return err },
		"roles negative page": func() error {
			_, _, err := c.Roles(ctx, "x", -2, 50)
			return err
		},
		"blank email": func() error { _, _, err := c.UsersByEmail(ctx, "  "); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestQueryDefaults(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		respond(w, 200, `{"roles":[],"start":0,"limit":50,"total":0}`)
	})
	c := newTokenClient(t, srv)
	if _, _, err := c.Roles(context.Background(), "", 3, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.seen()[0].RequestURI, "/api/v2/roles?include_totals=true&page=3"; got != want {
		t.Errorf("RequestURI = %q, want %q (no name_filter, no per_page)", got, want)
	}
}

// The body is bytes, so the transport (or anyone) can re-send it: GetBody
// must give the same body again.
func TestRequestBodyCanBeResent(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 204, "") })
	var bodies []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.GetBody == nil {
			t.Fatalf("GetBody not set")
		}
		for range 2 {
			b, err := r.GetBody()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(b)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, string(data))
		}
		if r.ContentLength != int64(len(bodies[0])) {
			t.Errorf("ContentLength = %d, want %d", r.ContentLength, len(bodies[0]))
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, err := New(Config{Domain: srv.URL, APIToken: testToken, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"}); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || bodies[0] != `{"roles":["rol_1"]}` {
		t.Errorf("GetBody gave %q", bodies)
	}
	if n := len(srv.seen()); n != 1 {
		t.Errorf("the custom HTTP client was not used for exactly one request (%d)", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedirectsAreNotFollowed(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	c := newTokenClient(t, srv) // default HTTP client
	resp, err := c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 307 || resp.StatusCode != 307 {
		t.Fatalf("err = %v, resp %+v; want a 307 APIError", err, resp)
	}
	if n := len(srv.seen()); n != 1 {
		t.Errorf("server saw %d requests; the redirect was followed", n)
	}
}

func TestOversizedBodies(t *testing.T) {
	huge := `{"roles":[` + strings.Repeat(`{"id":"rol_0123456789abcdef"},`, maxBodyBytes/30+10) + `{"id":"x"}],"total":1}`
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method == http.MethodDelete {
			respond(w, 500, huge)
			return
		}
		respond(w, 200, huge)
	})
	c := newTokenClient(t, srv)
	_, resp, err := c.UserRoles(context.Background(), "auth0|x", 0, 50)
	if err == nil || !strings.Contains(err.Error(), "larger than") || resp.StatusCode != 200 {
		t.Errorf("listing over %d bytes: err = %v, resp %+v", maxBodyBytes, err, resp)
	}
	_, err = c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || len(apiErr.Message) > maxErrorExcerpt {
		t.Errorf("huge error body: %v", err)
	}
}

func TestNetworkErrorsAndCancellation(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 204, "") })
	c := newTokenClient(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp, err := c.RemoveUserRoles(ctx, "auth0|x", []string{"rol_1"})
	if !errors.Is(err, context.Canceled) || resp != (Response{}) {
		t.Errorf("canceled: err = %v, resp = %+v", err, resp)
	}

	srv.Close()
	resp, err = c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	var apiErr *APIError
	var urlErr *url.Error
	if err == nil || errors.As(err, &apiErr) || !errors.As(err, &urlErr) || resp != (Response{}) {
		t.Errorf("closed server: err = %T %v, resp = %+v; want a *url.Error and a zero Response", err, err, resp)
	}
}

// Bodies are drained and closed, so one connection serves every answer,
// errors included.
func TestConnectionsAreReused(t *testing.T) {
	answers := []struct {
		status int
		body   string
	}{
		{204, ""},
		{404, `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`},
		{502, "<html><body>" + strings.Repeat("bad gateway ", 500) + "</body></html>"},
		{429, `{"statusCode":429,"error":"Too Many Requests"}`},
		{200, `{"roles":[]}`},
	}
	var n int
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		a := answers[n%len(answers)]
		n++
		respond(w, a.status, a.body)
	})
	var dials atomic.Int32
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dialer.DialContext(ctx, network, addr)
	}}}
	c, err := New(Config{Domain: srv.URL, APIToken: testToken, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 * len(answers) {
		_, _ = c.RemoveUserRoles(context.Background(), "auth0|x", []string{"rol_1"})
	}
	if d := dials.Load(); d != 1 {
		t.Errorf("%d requests dialed %d connections, want 1", 4*len(answers), d)
	}
}
