package sandbox

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// route is one Management API operation. pattern holds literal segments and
// "{}" for a path parameter; key names the route in Stats and picks its
// fault stream.
type route struct {
	method  string
	pattern []string
	key     string
	scopes  scopeRule
	handle  func(t *Tenant, c *call) reply
}

// call is one request as a handler sees it: decoded path parameters, the
// query, and the body read before the lock was taken.
type call struct {
	r      *http.Request
	params []string
	query  url.Values
	body   []byte
}

// Scopes follow the OAS excerpt. Where the OAS security list and its 403 text
// disagree, the sandbox takes the 403 text (what the server enforces) and
// lets the extra scope of the security list in as an alternative:
//   - DELETE user roles: update:users or delete:role_members (facts §1; the
//     OAS 403 names only update:users, so the message does too).
//   - GET user roles: read:users and read:roles ("expected all of"; the OAS
//     text also lists read:role_members, UNVERIFIED whether enforced).
//   - GET role users: read:users and read:roles, or read:role_members.
//   - POST user roles: update:users or create:role_members (facts §7).
var routes = []*route{
	{
		method: http.MethodGet, pattern: []string{"users", "{}", "roles"},
		key:    "GET /api/v2/users/{id}/roles",
		scopes: allOf("read:users", "read:roles"),
		handle: (*Tenant).getUserRoles,
	},
	{
		method: http.MethodDelete, pattern: []string{"users", "{}", "roles"},
		key:    "DELETE /api/v2/users/{id}/roles",
		scopes: anyOf("update:users").or("delete:role_members"),
		handle: (*Tenant).deleteUserRoles,
	},
	{
		method: http.MethodPost, pattern: []string{"users", "{}", "roles"},
		key:    "POST /api/v2/users/{id}/roles",
		scopes: anyOf("update:users").or("create:role_members"),
		handle: (*Tenant).postUserRoles,
	},
	{
		method: http.MethodGet, pattern: []string{"roles"},
		key:    "GET /api/v2/roles",
		scopes: anyOf("read:roles"),
		handle: (*Tenant).getRoles,
	},
	{
		method: http.MethodGet, pattern: []string{"roles", "{}", "users"},
		key:    "GET /api/v2/roles/{id}/users",
		scopes: allOf("read:users", "read:roles").or("read:role_members"),
		handle: (*Tenant).getRoleUsers,
	},
	{
		method: http.MethodGet, pattern: []string{"users-by-email"},
		key:    "GET /api/v2/users-by-email",
		scopes: anyOf("read:users"),
		handle: (*Tenant).getUsersByEmail,
	},
	{
		method: http.MethodGet, pattern: []string{"organizations", "{}", "members", "{}", "roles"},
		key:    "GET /api/v2/organizations/{id}/members/{user_id}/roles",
		scopes: anyOf("read:organization_member_roles"),
		handle: (*Tenant).getMemberRoles,
	},
	{
		method: http.MethodDelete, pattern: []string{"organizations", "{}", "members", "{}", "roles"},
		key:    "DELETE /api/v2/organizations/{id}/members/{user_id}/roles",
		scopes: anyOf("delete:organization_member_roles"),
		handle: (*Tenant).deleteMemberRoles,
	},
	{
		method: http.MethodPost, pattern: []string{"organizations", "{}", "members", "{}", "roles"},
		key:    "POST /api/v2/organizations/{id}/members/{user_id}/roles",
		scopes: anyOf("create:organization_member_roles"),
		handle: (*Tenant).postMemberRoles,
	},
}

// matchRoute finds the route for the segments after /api/v2/. A method that
// has no route on an existing path is a 404, as hapi answers (Auth0's 405
// behaviour, if any, is UNVERIFIED). Empty parameters never match, so
// "/users//roles" is a 404 too.
func matchRoute(method string, segs []string) (*route, []string) {
	for _, rt := range routes {
		if rt.method != method || len(rt.pattern) != len(segs) {
			continue
		}
		var params []string
		ok := true
		for i, p := range rt.pattern {
			switch {
			case p == "{}" && segs[i] != "":
				params = append(params, segs[i])
			case p != segs[i]:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

// ServeHTTP routes /oauth/token, /api/v2/… and the unauthenticated
// /__sandbox/ inspection endpoints.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := requestPath(r)
	if strings.HasPrefix(path, "/__sandbox/") {
		t.serveInspect(w, r, path)
		return
	}
	t.enter()
	defer t.leave()
	switch {
	case path == "/oauth/token":
		t.serveToken(w, r)
	case strings.HasPrefix(path, "/api/v2/"):
		t.serveAPI(w, r, strings.TrimPrefix(path, "/api/v2/"))
	default:
		t.finish(w, r.Method+" (no route)", notFoundRoute())
	}
}

// requestPath is the path exactly as the client escaped it. RequestURI is
// preferred to URL.EscapedPath because EscapedPath re-escapes the decoded
// path when the raw one holds a character Go would have escaped (a raw '|'),
// which turns "%2F" inside an id back into a separator.
func requestPath(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// finish counts and writes an answer that needs nothing else from the lock.
func (t *Tenant) finish(w http.ResponseWriter, routeKey string, rep reply) {
	t.mu.Lock()
	t.countLocked(routeKey, rep.status)
	t.mu.Unlock()
	rep.write(w)
}

// serveAPI runs the pipeline of every /api/v2 request: latency, rate limit,
// forced failures, injected faults, authentication, scopes, validation and
// the operation itself. Everything after the latency happens under the lock
// so that bucket, fault streams and data change together.
func (t *Tenant) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	var rt *route
	var params []string
	if segs, err := splitEscapedPath(rest); err == nil {
		rt, params = matchRoute(r.Method, segs)
	}
	key := r.Method + " (no route)"
	if rt != nil {
		key = rt.key
	}
	body, bodyErr := readBody(r, 1<<20)

	t.mu.Lock()
	delay := t.faults.delay()
	t.mu.Unlock()
	t.sleep(r.Context(), delay)

	t.mu.Lock()
	rep, drop := t.answerLocked(r, rt, &call{r: r, params: params, query: r.URL.Query(), body: body}, bodyErr)
	if drop {
		t.countLocked(key, 0)
	} else {
		t.countLocked(key, rep.status)
	}
	t.mu.Unlock()

	if drop {
		dropConnection(w)
		return
	}
	rep.write(w)
}

func (t *Tenant) answerLocked(r *http.Request, rt *route, c *call, bodyErr *reply) (reply, bool) {
	now := t.clock.Now()
	if t.bucket == nil {
		return t.decideLocked(rt, c, bodyErr, now)
	}
	d := t.bucket.take(now)
	if !d.allowed {
		t.stats.RateLimited++
		rep := tooManyRequests()
		d.apply(&rep)
		return rep, false
	}
	rep, drop := t.decideLocked(rt, c, bodyErr, now)
	d.apply(&rep)
	return rep, drop
}

func (t *Tenant) decideLocked(rt *route, c *call, bodyErr *reply, now time.Time) (reply, bool) {
	if t.forced.n > 0 {
		t.forced.n--
		t.stats.Faults.Forced++
		return forcedReply(t.forced.status, rt), false
	}
	if rt == nil {
		return notFoundRoute(), false
	}
	fault, status := t.faults.draw(rt.key)
	switch fault {
	case faultDrop:
		t.stats.Faults.Dropped++
		return reply{}, true
	case faultFail:
		t.stats.Faults.Failed++
		return serverError(status), false
	}
	rep := t.operateLocked(rt, c, bodyErr, now)
	t.corruptReadLocked(c.r.Method, &rep)
	if fault == faultApplyThenFail {
		// The operation ran (and changed what it changes); only its answer
		// is lost, as when a gateway times out after the backend finished.
		t.stats.Faults.AppliedThenFailed++
		return serverError(http.StatusServiceUnavailable), false
	}
	return rep, false
}

// operateLocked follows hapi's order: authentication (401), scopes (403),
// payload (413), then the handler, which validates path, query and body (400)
// before it looks anything up (404).
func (t *Tenant) operateLocked(rt *route, c *call, bodyErr *reply, now time.Time) reply {
	scopes, rep := t.authenticateLocked(c.r, now)
	if rep != nil {
		return *rep
	}
	if !rt.scopes.allows(scopes) {
		return errorReply(http.StatusForbidden, rt.scopes.message(), "insufficient_scope")
	}
	if bodyErr != nil {
		return *bodyErr
	}
	return rt.handle(t, c)
}

// dropConnection closes the connection without an answer. Hijacking works
// on HTTP/1; elsewhere ErrAbortHandler makes the server reset the stream.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// roleObject and userObject are the JSON shapes of the Role and RoleUser /
// users-by-email items (recorded field order; description omitted when
// empty).
type roleObject struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type userObject struct {
	UserID  string `json:"user_id"`
	Email   string `json:"email,omitempty"`
	Picture string `json:"picture,omitempty"`
	Name    string `json:"name,omitempty"`
}

// roleObjectsLocked lists roles sorted by name, then id (Auth0's order is
// UNVERIFIED; a stable order is what pagination needs).
func (t *Tenant) roleObjectsLocked(ids map[string]struct{}) []roleObject {
	out := make([]roleObject, 0, len(ids))
	for id := range ids {
		if r := t.roles[id]; r != nil {
			out = append(out, roleObject{ID: r.id, Name: r.name, Description: r.description})
		} else {
			out = append(out, roleObject{ID: id, Name: "Role " + id})
		}
	}
	sortRoles(out)
	return out
}

func sortRoles(rs []roleObject) {
	slices.SortFunc(rs, func(a, b roleObject) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
}

// pictureFor is the Gravatar address Auth0 gives users without a picture
// of their own (the initials fallback is left out).
func pictureFor(email string) string {
	if email == "" {
		return ""
	}
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=480&r=pg"
}

func userObj(u *user) userObject {
	return userObject{UserID: u.id, Email: u.email, Picture: pictureFor(u.email), Name: u.name}
}

func (t *Tenant) getUserRoles(c *call) reply {
	p, rep := parsePaging(c.query, -1)
	if rep != nil {
		return *rep
	}
	u := t.users[c.params[0]]
	if u == nil {
		return userNotFound()
	}
	return listReply(t, "roles", t.roleObjectsLocked(u.roles), p, endlessRoles)
}

// deleteUserRoles is idempotent: roles the user does not hold, and role ids
// that do not exist, are ignored and the answer is still 204 (recorded for
// roles already removed; for unknown role ids UNVERIFIED).
func (t *Tenant) deleteUserRoles(c *call) reply {
	ids, rep := parseRolesBody(c.r.Header.Get("Content-Type"), c.body, "List of roles IDs to remove from the user.", false)
	if rep != nil {
		return *rep
	}
	u := t.users[c.params[0]]
	if u == nil {
		return userNotFound()
	}
	if !t.ignoreRemovals[u.id] {
		t.stats.RolesRemoved += removeAll(u.roles, ids)
		t.assignmentsChangedLocked()
	}
	return noContent()
}

// getRoles filters by name_filter case-insensitively. Whether Auth0 matches
// a substring or the whole name is UNVERIFIED (the OAS says only "filter on
// name (case-insensitive)"); a substring match is the harder case for a
// client, which must then pick the exact name itself, so the sandbox does
// that.
func (t *Tenant) getRoles(c *call) reply {
	p, rep := parsePaging(c.query, -1)
	if rep != nil {
		return *rep
	}
	filter := strings.ToLower(c.query.Get("name_filter"))
	out := []roleObject{}
	for _, r := range t.roles {
		if filter == "" || strings.Contains(strings.ToLower(r.name), filter) {
			out = append(out, roleObject{ID: r.id, Name: r.name, Description: r.description})
		}
	}
	sortRoles(out)
	return listReply(t, "roles", out, p, endlessRoles)
}

// getUsersByEmail matches the email exactly and case-sensitively (OAS) and
// answers a bare array, empty when nobody has it.
func (t *Tenant) getUsersByEmail(c *call) reply {
	const desc = "Email address to search for (case-sensitive)."
	vs := c.query["email"]
	switch {
	case len(vs) == 0 || vs[0] == "":
		return *queryError("Missing required property: email", "", "")
	case len(vs) > 1:
		return *queryError("Expected type string but found type array", "email", desc)
	}
	out := []userObject{}
	for _, u := range t.users {
		if u.email == vs[0] {
			out = append(out, userObj(u))
		}
	}
	slices.SortFunc(out, func(a, b userObject) int { return cmp.Compare(a.UserID, b.UserID) })
	return jsonReply(http.StatusOK, out)
}

// orgMember resolves an organization membership. An unknown organization is
// the recorded "No organization found by that id or name" (no errorCode
// recorded, none sent). A user who is not a member gets the OAS text "The
// user does not exist."; its errorCode is UNVERIFIED, so none is sent.
func (t *Tenant) orgMemberLocked(orgID, userID string) (map[string]struct{}, *reply) {
	o := t.orgs[orgID]
	if o == nil {
		rep := errorReply(http.StatusNotFound, "No organization found by that id or name", "")
		return nil, &rep
	}
	m, ok := o.members[userID]
	if !ok {
		rep := errorReply(http.StatusNotFound, "The user does not exist.", "")
		return nil, &rep
	}
	return m, nil
}

// checkOrgID applies the OAS maxLength 50 of the organization id.
func checkOrgID(id string) *reply {
	if n := utf8.RuneCountInString(id); n > 50 {
		rep := validationError("Path", "invalid_uri", fmt.Sprintf("String is too long (%d chars), maximum 50", n), "id", "Organization identifier.")
		return &rep
	}
	return nil
}

func (t *Tenant) getMemberRoles(c *call) reply {
	if rep := checkOrgID(c.params[0]); rep != nil {
		return *rep
	}
	p, rep := parsePaging(c.query, 1000)
	if rep != nil {
		return *rep
	}
	m, rep := t.orgMemberLocked(c.params[0], c.params[1])
	if rep != nil {
		return *rep
	}
	return listReply(t, "roles", t.roleObjectsLocked(m), p, endlessRoles)
}

func (t *Tenant) deleteMemberRoles(c *call) reply {
	if rep := checkOrgID(c.params[0]); rep != nil {
		return *rep
	}
	ids, rep := parseRolesBody(c.r.Header.Get("Content-Type"), c.body, "List of roles IDs associated with the organization member to remove.", true)
	if rep != nil {
		return *rep
	}
	m, rep := t.orgMemberLocked(c.params[0], c.params[1])
	if rep != nil {
		return *rep
	}
	if !t.ignoreRemovals[c.params[1]] {
		t.stats.RolesRemoved += removeAll(m, ids)
	}
	return noContent()
}

func removeAll(held map[string]struct{}, ids []string) int {
	n := 0
	for _, id := range ids {
		if _, ok := held[id]; ok {
			delete(held, id)
			n++
		}
	}
	return n
}

// serveInspect answers GET /__sandbox/state and /__sandbox/stats. They need
// no token and are not counted in Stats.
func (t *Tenant) serveInspect(w http.ResponseWriter, r *http.Request, path string) {
	var rep reply
	switch {
	case r.Method == http.MethodGet && path == "/__sandbox/state" && r.URL.Query().Get("format") == "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		writeStateText(w, t.State())
		return
	case r.Method == http.MethodGet && path == "/__sandbox/state":
		rep = jsonReply(http.StatusOK, t.State())
	case r.Method == http.MethodGet && path == "/__sandbox/stats":
		rep = jsonReply(http.StatusOK, t.Stats())
	default:
		rep = notFoundRoute()
	}
	rep.write(w)
}

// writeStateText lists who holds which roles, by name, one user or
// membership a line: what a person checks after a demo run.
func writeStateText(w io.Writer, s Seed) {
	names := make(map[string]string, len(s.Roles))
	for _, r := range s.Roles {
		names[r.ID] = r.Name
	}
	label := func(ids []string) string {
		if len(ids) == 0 {
			return "(no roles)"
		}
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = names[id]
			if out[i] == "" {
				out[i] = id
			}
		}
		return strings.Join(out, ", ")
	}
	for _, u := range s.Users {
		fmt.Fprintf(w, "%s: %s\n", u.UserID, label(u.Roles))
	}
	for _, o := range s.Organizations {
		for _, m := range o.Members {
			fmt.Fprintf(w, "%s / %s: %s\n", o.ID, m.UserID, label(m.Roles))
		}
	}
}
