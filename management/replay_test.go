package management

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// cassette is the part of a go-vcr (v2 format) recording the replay uses.
// The recorders kept only Content-Type and User-Agent headers and dropped
// 429 answers, so these fixtures say nothing about rate limits.
type cassette struct {
	Version      int           `yaml:"version"`
	Interactions []interaction `yaml:"interactions"`
}

type interaction struct {
	ID      int `yaml:"id"`
	Request struct {
		Body    string              `yaml:"body"`
		Headers map[string][]string `yaml:"headers"`
		URL     string              `yaml:"url"`
		Method  string              `yaml:"method"`
	} `yaml:"request"`
	Response struct {
		Body    string              `yaml:"body"`
		Headers map[string][]string `yaml:"headers"`
		Code    int                 `yaml:"code"`
	} `yaml:"response"`
}

func loadCassette(t *testing.T, name string) cassette {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "recordings", name))
	if err != nil {
		t.Fatal(err)
	}
	var c cassette
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if c.Version != 2 || len(c.Interactions) == 0 {
		t.Fatalf("%s: version %d with %d interactions", name, c.Version, len(c.Interactions))
	}
	return c
}

// replayKey identifies a request by method, escaped path and the query
// parameters that matter. go-auth0 omits page (the API's default is 0)
// where rolesweep always sends it, so page=0 is dropped on both sides.
func replayKey(method, escapedPath string, query url.Values) string {
	q := url.Values{}
	for k, v := range query {
		q[k] = append([]string(nil), v...)
	}
	if q.Get("page") == "0" {
		q.Del("page")
	}
	return method + " " + escapedPath + "?" + q.Encode()
}

// replayServer answers each request with the recorded interaction its key
// names, in recorded order, and checks that the body is the recorded one.
type replayServer struct {
	t      *testing.T
	mu     sync.Mutex
	queues map[string][]interaction
	served []int // interaction ids, in the order they were served
}

func (rs *replayServer) serve(w http.ResponseWriter, r *http.Request, requestBody []byte) {
	body := string(requestBody)
	key := replayKey(r.Method, r.URL.EscapedPath(), r.URL.Query())
	rs.mu.Lock()
	queue := rs.queues[key]
	if len(queue) == 0 {
		rs.mu.Unlock()
		rs.t.Errorf("unrecorded request %s %s (key %s)", r.Method, r.RequestURI, key)
		http.Error(w, "unrecorded", http.StatusTeapot)
		return
	}
	rec := queue[0]
	rs.queues[key] = queue[1:]
	rs.served = append(rs.served, rec.ID)
	rs.mu.Unlock()

	if want := mustParseURL(rs.t, rec.Request.URL).EscapedPath(); !strings.HasPrefix(r.RequestURI, want+"?") && r.RequestURI != want {
		rs.t.Errorf("interaction %d: RequestURI %q, recorded path %q", rec.ID, r.RequestURI, want)
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken || r.Header.Get("Accept") != "application/json" {
		rs.t.Errorf("interaction %d: headers %v", rec.ID, r.Header)
	}
	recorded := strings.TrimSpace(rec.Request.Body)
	switch {
	case r.Method == http.MethodGet:
		// go-auth0 sent a JSON "null" body with its GETs; rolesweep sends none.
		if body != "" || r.Header.Get("Content-Type") != "" {
			rs.t.Errorf("interaction %d: GET with body %q", rec.ID, body)
		}
	default:
		if r.Header.Get("Content-Type") != "application/json" {
			rs.t.Errorf("interaction %d: Content-Type %q", rec.ID, r.Header.Get("Content-Type"))
		}
		if !jsonEqual(body, recorded) {
			rs.t.Errorf("interaction %d: body %s, recorded %s", rec.ID, body, recorded)
		}
	}
	for k, v := range rec.Response.Headers {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Response.Code)
	_, _ = w.Write([]byte(rec.Response.Body))
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("recorded URL %q: %v", s, err)
	}
	return u
}

// replayCall maps a recorded request to the client method that makes it,
// with arguments taken from the recording (path segments decoded), and
// checks the client's decoding of the recorded answer. ok is false for
// requests rolesweep never makes (creating users, roles, organizations).
func replayCall(t *testing.T, c *Client, rec interaction) (ok bool) {
	t.Helper()
	u := mustParseURL(t, rec.Request.URL)
	var segs []string
	for _, s := range strings.Split(strings.TrimPrefix(u.EscapedPath(), "/api/v2/"), "/") {
		d, err := url.PathUnescape(s)
		if err != nil {
			t.Fatalf("interaction %d: segment %q: %v", rec.ID, s, err)
		}
		segs = append(segs, d)
	}
	q := u.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	ctx := context.Background()
	method := rec.Request.Method
	roleIDs := func() []string {
		var body struct {
			Roles []string `json:"roles"`
		}
		if err := json.Unmarshal([]byte(rec.Request.Body), &body); err != nil {
			t.Fatalf("interaction %d: body: %v", rec.ID, err)
		}
		return body.Roles
	}
	var (
		resp      Response
		err       error
		rolesPage RolesPage
		users     []User
		kind      string
	)
	switch {
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "roles" && method == http.MethodDelete:
		resp, err = c.RemoveUserRoles(ctx, segs[1], roleIDs())
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "roles" && method == http.MethodGet:
		rolesPage, resp, err = c.UserRoles(ctx, segs[1], page, perPage)
		kind = "roles"
	case len(segs) == 5 && segs[0] == "organizations" && segs[2] == "members" && segs[4] == "roles" && method == http.MethodDelete:
		resp, err = c.RemoveOrganizationMemberRoles(ctx, segs[1], segs[3], roleIDs())
	case len(segs) == 5 && segs[0] == "organizations" && segs[2] == "members" && segs[4] == "roles" && method == http.MethodGet:
		rolesPage, resp, err = c.OrganizationMemberRoles(ctx, segs[1], segs[3], page, perPage)
		kind = "roles"
	case len(segs) == 1 && segs[0] == "roles" && method == http.MethodGet:
		rolesPage, resp, err = c.Roles(ctx, q.Get("name_filter"), page, perPage)
		kind = "roles"
	case len(segs) == 1 && segs[0] == "users-by-email" && method == http.MethodGet:
		users, resp, err = c.UsersByEmail(ctx, q.Get("email"))
		kind = "users"
	default:
		return false
	}
	if err != nil {
		t.Errorf("interaction %d (%s %s): %v", rec.ID, method, rec.Request.URL, err)
		return true
	}
	if resp.StatusCode != rec.Response.Code {
		t.Errorf("interaction %d: status %d, recorded %d", rec.ID, resp.StatusCode, rec.Response.Code)
	}
	switch kind {
	case "roles":
		var want RolesPage
		if err := json.Unmarshal([]byte(rec.Response.Body), &want); err != nil {
			t.Fatalf("interaction %d: recorded body: %v", rec.ID, err)
		}
		want.TotalKnown = true
		if want.Roles == nil {
			want.Roles = []Role{}
		}
		if !reflect.DeepEqual(rolesPage, want) {
			t.Errorf("interaction %d: decoded %+v, recorded %+v", rec.ID, rolesPage, want)
		}
	case "users":
		var want []User
		if err := json.Unmarshal([]byte(rec.Response.Body), &want); err != nil {
			t.Fatalf("interaction %d: recorded body: %v", rec.ID, err)
		}
		if !reflect.DeepEqual(users, want) || len(users) == 0 || users[0].UserID == "" {
			t.Errorf("interaction %d: decoded %+v, recorded %+v", rec.ID, users, want)
		}
	}
	return true
}

func TestReplayRecordings(t *testing.T) {
	tests := []struct {
		file string
		// The requests rolesweep makes, by recorded method and path shape.
		want map[string]int
	}{
		{"TestUserManager_Roles.yaml", map[string]int{"GET users/*/roles": 2, "DELETE users/*/roles": 1}},
		{"TestOrganizationManager_MemberRoles.yaml", map[string]int{"GET organizations/*/members/*/roles": 2, "DELETE organizations/*/members/*/roles": 1}},
		{"TestRoleManager_List.yaml", map[string]int{"GET roles": 1}},
		{"TestUserManager_ListByEmail.yaml", map[string]int{"GET users-by-email": 1}},
		// Terraform's run: repeated DELETEs of roles already removed, each 204.
		{"TestAccUserRoles.yaml", map[string]int{"GET users/*/roles": 44, "DELETE users/*/roles": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cas := loadCassette(t, tt.file)
			rs := &replayServer{t: t, queues: map[string][]interaction{}}
			for _, rec := range cas.Interactions {
				u := mustParseURL(t, rec.Request.URL)
				key := replayKey(rec.Request.Method, u.EscapedPath(), u.Query())
				rs.queues[key] = append(rs.queues[key], rec)
			}
			srv := newFakeServer(t, rs.serve)
			c := newTokenClient(t, srv)

			got := map[string]int{}
			var replayed []int
			for _, rec := range cas.Interactions {
				if replayCall(t, c, rec) {
					replayed = append(replayed, rec.ID)
					got[rec.Request.Method+" "+pathShape(mustParseURL(t, rec.Request.URL))]++
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("replayed %v, want %v", got, tt.want)
			}
			rs.mu.Lock()
			defer rs.mu.Unlock()
			if !reflect.DeepEqual(rs.served, replayed) {
				t.Errorf("served interactions %v, want %v in that order", rs.served, replayed)
			}
		})
	}
}

func pathShape(u *url.URL) string {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/api/v2/"), "/")
	for i := range segs {
		if i%2 == 1 {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}
