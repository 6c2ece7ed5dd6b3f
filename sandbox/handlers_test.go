package sandbox

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const (
	bodyUserNotFound = `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`
	bodyNoRoute      = `{"statusCode":404,"error":"Not Found","message":"Not Found"}`
	rolA             = "rol_AAAAAAAAAAAAAAAA"
	rolB             = "rol_BBBBBBBBBBBBBBBB"
	rolKeep          = "rol_KKKKKKKKKKKKKKKK"
	jane             = "auth0|5f7c8ec7c33c6c004bbafe82"
	janeEscaped      = "auth0%7C5f7c8ec7c33c6c004bbafe82"
)

func seededServer(t *testing.T, opts Options) (*Tenant, *httptest.Server, func(method, path, body string, header ...string) answer) {
	t.Helper()
	tn, srv := newServer(t, opts)
	tn.AddRole(rolA, "Billing Admin")
	tn.AddRole(rolB, "Support Agent")
	tn.AddRole(rolKeep, "Viewer")
	tn.AddUser(jane, "jane@example.com", rolA, rolB, rolKeep)
	do := func(method, path, body string, header ...string) answer {
		t.Helper()
		return request(t, srv, method, path, tn.Token(), body, header...)
	}
	return tn, srv, do
}

func TestGetUserRoles(t *testing.T) {
	_, _, do := seededServer(t, Options{})
	do("GET", "/api/v2/users/"+janeEscaped+"/roles", "").expect(t, 200,
		`[{"id":"rol_AAAAAAAAAAAAAAAA","name":"Billing Admin"},{"id":"rol_BBBBBBBBBBBBBBBB","name":"Support Agent"},{"id":"rol_KKKKKKKKKKKKKKKK","name":"Viewer"}]`)
	do("GET", "/api/v2/users/"+janeEscaped+"/roles?include_totals=true&per_page=2", "").expect(t, 200,
		`{"roles":[{"id":"rol_AAAAAAAAAAAAAAAA","name":"Billing Admin"},{"id":"rol_BBBBBBBBBBBBBBBB","name":"Support Agent"}],"start":0,"limit":2,"total":3}`)
	do("GET", "/api/v2/users/"+janeEscaped+"/roles?include_totals=false&per_page=2&page=1", "").expect(t, 200,
		`[{"id":"rol_KKKKKKKKKKKKKKKK","name":"Viewer"}]`)
	do("GET", "/api/v2/users/auth0%7Cnobody/roles", "").expect(t, 404, bodyUserNotFound)
}

func TestPaginationOf150Roles(t *testing.T) {
	tn, srv := newServer(t, Options{})
	var ids []string
	for i := range 150 {
		id := fmt.Sprintf("rol_%016d", i)
		tn.AddRole(id, fmt.Sprintf("role %03d", i))
		ids = append(ids, id)
	}
	tn.AddUser(jane, "jane@example.com", ids...)
	type page struct {
		Roles []struct{ ID, Name string } `json:"roles"`
		Start int                         `json:"start"`
		Limit int                         `json:"limit"`
		Total int                         `json:"total"`
	}
	cases := []struct {
		query                      string
		count, start, limit, first int
	}{
		{"include_totals=true", 50, 0, 50, 0},
		{"include_totals=true&page=2", 50, 100, 50, 100},
		{"include_totals=true&page=3", 0, 150, 50, -1},
		{"include_totals=true&per_page=100", 100, 0, 100, 0},
		{"include_totals=true&per_page=100&page=1", 50, 100, 100, 100},
		{"include_totals=true&per_page=100&page=7", 0, 700, 100, -1},
		{"include_totals=true&per_page=1&page=149", 1, 149, 1, 149},
		{"include_totals=true&per_page=7&page=21", 3, 147, 7, 147},
	}
	for _, c := range cases {
		a := request(t, srv, "GET", "/api/v2/users/"+janeEscaped+"/roles?"+c.query, tn.Token(), "")
		a.expectStatus(t, 200)
		p := decode[page](t, a)
		if len(p.Roles) != c.count || p.Start != c.start || p.Limit != c.limit || p.Total != 150 {
			t.Errorf("%s: got %d roles start %d limit %d total %d, want %d/%d/%d/150", c.query, len(p.Roles), p.Start, p.Limit, p.Total, c.count, c.start, c.limit)
		}
		if c.first >= 0 && (len(p.Roles) == 0 || p.Roles[0].ID != ids[c.first]) {
			t.Errorf("%s: first role %v, want %s", c.query, p.Roles, ids[c.first])
		}
		if c.count == 0 && !strings.Contains(a.body, `"roles":[]`) {
			t.Errorf("%s: empty page must be an empty list, got %s", c.query, a.body)
		}
	}
	// Without include_totals the same pages are bare arrays; past the end "[]".
	a := request(t, srv, "GET", "/api/v2/users/"+janeEscaped+"/roles?per_page=100&page=1", tn.Token(), "")
	if got := decode[[]struct{ ID string }](t, a); len(got) != 50 || got[0].ID != ids[100] {
		t.Errorf("bare page 1: %d roles", len(got))
	}
	request(t, srv, "GET", "/api/v2/users/"+janeEscaped+"/roles?page=9", tn.Token(), "").expect(t, 200, `[]`)
	// Every role appears exactly once across the default pages.
	seen := map[string]int{}
	for pg := 0; pg < 3; pg++ {
		for _, r := range decode[[]struct{ ID string }](t, request(t, srv, "GET", fmt.Sprintf("/api/v2/users/%s/roles?page=%d", janeEscaped, pg), tn.Token(), "")) {
			seen[r.ID]++
		}
	}
	if len(seen) != 150 {
		t.Errorf("pages covered %d distinct roles, want 150", len(seen))
	}
}

func TestPagingValidation(t *testing.T) {
	_, _, do := seededServer(t, Options{})
	bad := func(detail, prop, desc string) string {
		return `{"statusCode":400,"error":"Bad Request","message":"Query validation error: '` + detail + `' on property ` + prop + ` (` + desc + `).","errorCode":"invalid_query_string"}`
	}
	const pp = "Number of results per page"
	const pg = "Page index of the results to return. First page is 0"
	const it = "Return results inside an object that contains the total result count (true) or as a direct array of results (false, default)"
	cases := []struct{ query, want string }{
		{"per_page=0", bad("Value 0 is less than minimum 1", "per_page", pp)},
		{"per_page=101", bad("Value 101 is greater than maximum 100", "per_page", pp)},
		{"per_page=abc", bad("Expected type integer but found type string", "per_page", pp)},
		{"per_page=1.5", bad("Expected type integer but found type number", "per_page", pp)},
		{"per_page=", bad("Expected type integer but found type string", "per_page", pp)},
		{"per_page=1&per_page=2", bad("Expected type integer but found type array", "per_page", pp)},
		{"page=-1", bad("Value -1 is less than minimum 0", "page", pg)},
		{"page=x", bad("Expected type integer but found type string", "page", pg)},
		{"include_totals=yes", bad("Expected type boolean but found type string", "include_totals", it)},
	}
	for _, c := range cases {
		for _, path := range []string{"/api/v2/users/" + janeEscaped + "/roles?", "/api/v2/roles?", "/api/v2/roles/" + rolA + "/users?"} {
			do("GET", path+c.query, "").expect(t, 400, c.want)
		}
	}
	// Validation comes before the lookup, as in hapi: an unknown user with a
	// bad query is a 400.
	do("GET", "/api/v2/users/auth0%7Cnobody/roles?per_page=0", "").expectStatus(t, 400)
	// per_page 100 and 1 are the inclusive bounds.
	do("GET", "/api/v2/roles?per_page=100", "").expectStatus(t, 200)
	do("GET", "/api/v2/roles?per_page=1", "").expectStatus(t, 200)
}

func TestDeleteUserRoles(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	path := "/api/v2/users/" + janeEscaped + "/roles"
	a := do("DELETE", path, `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`)
	a.expect(t, 204, "")
	if got := tn.Roles(jane); !equalStrings(got, []string{rolB, rolKeep}) {
		t.Fatalf("roles after DELETE = %v", got)
	}
	// Idempotent: removing it again, or a role id nobody has, is still 204.
	do("DELETE", path, `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 204, "")
	do("DELETE", path, `{"roles":["rol_AAAAAAAAAAAAAAAA","rol_ZZZZZZZZZZZZZZZZ","rol_BBBBBBBBBBBBBBBB"]}`).expect(t, 204, "")
	if got := tn.Roles(jane); !equalStrings(got, []string{rolKeep}) {
		t.Fatalf("roles after second DELETE = %v", got)
	}
	do("DELETE", "/api/v2/users/auth0%7Cnobody/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 404, bodyUserNotFound)
	if s := tn.Stats(); s.RolesRemoved != 2 {
		t.Errorf("RolesRemoved = %d, want 2", s.RolesRemoved)
	}
}

func TestDeleteUserRolesFormBody(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", "roles="+rolA+"&roles="+rolB,
		"Content-Type", "application/x-www-form-urlencoded").expect(t, 204, "")
	if got := tn.Roles(jane); !equalStrings(got, []string{rolKeep}) {
		t.Fatalf("roles after form DELETE = %v", got)
	}
}

func TestDeleteUserRolesBodyValidation(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	payload := func(detail, prop string) string {
		msg := "Payload validation error: '" + detail + "'"
		if prop != "" {
			msg += " on property " + prop
		}
		return `{"statusCode":400,"error":"Bad Request","message":"` + msg + `.","errorCode":"invalid_body"}`
	}
	const rolesDesc = "roles (List of roles IDs to remove from the user)"
	cases := []struct {
		name, body, contentType string
		status                  int
		want                    string
	}{
		{"empty object", `{}`, "", 400, payload("Missing required property: roles", "")},
		{"empty list", `{"roles":[]}`, "", 400, payload("Array is too short (0), minimum 1", rolesDesc)},
		{"extra property", `{"roles":["rol_AAAAAAAAAAAAAAAA"],"users":[],"a":1}`, "", 400, payload("Additional properties not allowed: a,users", "")},
		{"roles not a list", `{"roles":"rol_AAAAAAAAAAAAAAAA"}`, "", 400, payload("Expected type array but found type string", rolesDesc)},
		{"number item", `{"roles":[1]}`, "", 400, payload("Expected type string but found type integer", "roles[0]")},
		{"float item", `{"roles":[1.5]}`, "", 400, payload("Expected type string but found type number", "roles[0]")},
		{"object item", `{"roles":[{}]}`, "", 400, payload("Expected type string but found type object", "roles[0]")},
		{"too large", `{"roles":["` + strings.Repeat("x", 1<<20) + `"]}`, "", 413, `{"statusCode":413,"error":"Request Entity Too Large","message":"Payload content length greater than maximum allowed: 1048576"}`},
		{"empty item", `{"roles":["rol_AAAAAAAAAAAAAAAA",""]}`, "", 400, payload("String is too short (0 chars), minimum 1", "roles[1]")},
		{"null", `null`, "", 400, payload("Expected type object but found type null", "")},
		{"array", `[]`, "", 400, payload("Expected type object but found type array", "")},
		{"no body", ``, "", 400, payload("Expected type object but found type null", "")},
		{"invalid JSON", `{"roles":[`, "", 400, `{"statusCode":400,"error":"Bad Request","message":"Invalid request payload JSON format","errorCode":"invalid_body"}`},
		{"trailing data", `{"roles":["rol_AAAAAAAAAAAAAAAA"]} {}`, "", 400, `{"statusCode":400,"error":"Bad Request","message":"Invalid request payload JSON format","errorCode":"invalid_body"}`},
		{"form without roles", `users=x`, "application/x-www-form-urlencoded", 400, payload("Additional properties not allowed: users", "")},
		{"text body", `roles`, "text/plain", 415, `{"statusCode":415,"error":"Unsupported Media Type","message":"Unsupported Media Type"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.contentType != "" {
				hdr = []string{"Content-Type", c.contentType}
			}
			a := do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", c.body, hdr...)
			a.expect(t, c.status, c.want)
		})
	}
	if got := tn.Roles(jane); len(got) != 3 {
		t.Fatalf("a rejected body changed roles: %v", got)
	}
}

func TestEscapedUserIDs(t *testing.T) {
	tn, srv := newServer(t, Options{})
	tn.AddRole(rolA, "A")
	tn.AddRole(rolKeep, "Keep")
	const slashy = "samlp|acme|jane/doe"
	tn.AddUser(slashy, "jane.doe@acme.example", rolA, rolKeep)
	tn.AddUser("samlp|acme|jane", "other@acme.example", rolA)
	do := func(method, path, body string) answer {
		return request(t, srv, method, path, tn.Token(), body)
	}
	do("GET", "/api/v2/users/samlp%7Cacme%7Cjane%2Fdoe/roles", "").expect(t, 200,
		`[{"id":"rol_AAAAAAAAAAAAAAAA","name":"A"},{"id":"rol_KKKKKKKKKKKKKKKK","name":"Keep"}]`)
	// An unescaped '/' splits the id and reaches no route.
	do("GET", "/api/v2/users/samlp%7Cacme%7Cjane/doe/roles", "").expect(t, 404, bodyNoRoute)
	do("DELETE", "/api/v2/users/samlp%7Cacme%7Cjane/doe/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 404, bodyNoRoute)
	// Lower-case escapes and a raw '|' name the same user.
	do("GET", "/api/v2/users/samlp%7cacme%7cjane%2fdoe/roles?per_page=1", "").expect(t, 200, `[{"id":"rol_AAAAAAAAAAAAAAAA","name":"A"}]`)
	// Go's client would re-escape a raw '|' and lose the %2F, so this one
	// goes over a bare connection.
	if status := rawRequest(t, srv, "DELETE /api/v2/users/samlp|acme|jane%2Fdoe/roles", tn.Token(), `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`); status != 204 {
		t.Fatalf("raw '|' DELETE answered %d", status)
	}
	if got := tn.Roles(slashy); !equalStrings(got, []string{rolKeep}) {
		t.Fatalf("roles of %s = %v", slashy, got)
	}
	if got := tn.Roles("samlp|acme|jane"); !equalStrings(got, []string{rolA}) {
		t.Fatalf("the DELETE reached another user: %v", got)
	}
	// Built with url.PathEscape plus '/' → %2F, as go-auth0 v1 does.
	escaped := strings.ReplaceAll(url.PathEscape(slashy), "/", "%2F")
	do("GET", "/api/v2/users/"+escaped+"/roles", "").expect(t, 200, `[{"id":"rol_KKKKKKKKKKKKKKKK","name":"Keep"}]`)
}

func TestUnknownRoutes(t *testing.T) {
	_, _, do := seededServer(t, Options{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v2/users"},
		{"GET", "/api/v2/users//roles"},
		{"GET", "/api/v2/users/" + janeEscaped + "/roles/"},
		{"PUT", "/api/v2/users/" + janeEscaped + "/roles"},
		{"PATCH", "/api/v2/roles"},
		{"GET", "/api/v2/organizations/org_1/members//roles"},
		{"GET", "/api/v2"},
		{"GET", "/"},
		{"GET", "/api/v1/users"},
	} {
		do(c.method, c.path, "").expect(t, 404, bodyNoRoute)
	}
}

func TestGetRoles(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	tn.AddRole("rol_CCCCCCCCCCCCCCCC", "billing admin (EU)")
	do("GET", "/api/v2/roles?name_filter=billing", "").expect(t, 200,
		`[{"id":"rol_AAAAAAAAAAAAAAAA","name":"Billing Admin"},{"id":"rol_CCCCCCCCCCCCCCCC","name":"billing admin (EU)"}]`)
	do("GET", "/api/v2/roles?name_filter=BILLING%20ADMIN&include_totals=true&per_page=1", "").expect(t, 200,
		`{"roles":[{"id":"rol_AAAAAAAAAAAAAAAA","name":"Billing Admin"}],"start":0,"limit":1,"total":2}`)
	do("GET", "/api/v2/roles?name_filter=nothing&include_totals=true", "").expect(t, 200,
		`{"roles":[],"start":0,"limit":50,"total":0}`)
	do("GET", "/api/v2/roles?name_filter=nothing", "").expect(t, 200, `[]`)
	all := decode[[]roleObject](t, do("GET", "/api/v2/roles", ""))
	if len(all) != 4 {
		t.Fatalf("GET /roles: %v", all)
	}
}

func TestUsersByEmail(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	tn.AddUser("google-oauth2|1234", "jane@example.com")
	tn.AddUser("auth0|other", "Jane@example.com")
	do("GET", "/api/v2/users-by-email?email=jane%40example.com", "").expect(t, 200,
		`[{"user_id":"auth0|5f7c8ec7c33c6c004bbafe82","email":"jane@example.com","picture":"`+pictureFor("jane@example.com")+`","name":"jane@example.com"},{"user_id":"google-oauth2|1234","email":"jane@example.com","picture":"`+pictureFor("jane@example.com")+`","name":"jane@example.com"}]`)
	do("GET", "/api/v2/users-by-email?email=Jane@example.com", "").expect(t, 200,
		`[{"user_id":"auth0|other","email":"Jane@example.com","picture":"`+pictureFor("Jane@example.com")+`","name":"Jane@example.com"}]`)
	do("GET", "/api/v2/users-by-email?email=nobody@example.com", "").expect(t, 200, `[]`)
	missing := `{"statusCode":400,"error":"Bad Request","message":"Query validation error: 'Missing required property: email'.","errorCode":"invalid_query_string"}`
	do("GET", "/api/v2/users-by-email", "").expect(t, 400, missing)
	do("GET", "/api/v2/users-by-email?email=", "").expect(t, 400, missing)
}

func TestRoleUsers(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	tn.AddUser("auth0|a", "a@example.com", rolA)
	tn.AddUser("auth0|b", "b@example.com")
	tn.AddMember("org_1", "auth0|b", rolA) // organization roles do not count
	do("GET", "/api/v2/roles/"+rolA+"/users?include_totals=true", "").expect(t, 200,
		`{"users":[{"user_id":"auth0|5f7c8ec7c33c6c004bbafe82","email":"jane@example.com","picture":"`+pictureFor("jane@example.com")+`","name":"jane@example.com"},{"user_id":"auth0|a","email":"a@example.com","picture":"`+pictureFor("a@example.com")+`","name":"a@example.com"}],"start":0,"limit":50,"total":2}`)
	do("GET", "/api/v2/roles/"+rolA+"/users?per_page=1&page=1", "").expect(t, 200,
		`[{"user_id":"auth0|a","email":"a@example.com","picture":"`+pictureFor("a@example.com")+`","name":"a@example.com"}]`)
	do("GET", "/api/v2/roles/rol_nope/users", "").expect(t, 404,
		`{"statusCode":404,"error":"Not Found","message":"The role does not exist."}`)
}

func TestOrganizationMemberRoles(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	tn.AddOrganization("org_AcmeAcmeAcmeAcme", "acme")
	tn.AddMember("org_AcmeAcmeAcmeAcme", jane, rolA, rolKeep)
	tn.AddUser("auth0|outsider", "out@example.com")
	base := "/api/v2/organizations/org_AcmeAcmeAcmeAcme/members/"
	do("GET", base+janeEscaped+"/roles?include_totals=true&per_page=50", "").expect(t, 200,
		`{"roles":[{"id":"rol_AAAAAAAAAAAAAAAA","name":"Billing Admin"},{"id":"rol_KKKKKKKKKKKKKKKK","name":"Viewer"}],"start":0,"limit":50,"total":2}`)
	do("DELETE", base+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 204, "")
	do("DELETE", base+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 204, "")
	if got := tn.MemberRoles("org_AcmeAcmeAcmeAcme", jane); !equalStrings(got, []string{rolKeep}) {
		t.Fatalf("member roles = %v", got)
	}
	if got := tn.Roles(jane); len(got) != 3 {
		t.Fatalf("an organization DELETE touched the user's own roles: %v", got)
	}

	noOrg := `{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}`
	noMember := `{"statusCode":404,"error":"Not Found","message":"The user does not exist."}`
	do("GET", "/api/v2/organizations/org_nope/members/"+janeEscaped+"/roles", "").expect(t, 404, noOrg)
	do("DELETE", "/api/v2/organizations/org_nope/members/"+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 404, noOrg)
	do("GET", base+"auth0%7Coutsider/roles", "").expect(t, 404, noMember)
	do("DELETE", base+"auth0%7Cnobody/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 404, noMember)

	do("DELETE", base+janeEscaped+"/roles", `{"roles":["admin"]}`).expect(t, 400,
		`{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Object didn't pass validation for format role-id: admin' on property roles[0].","errorCode":"invalid_body"}`)
	do("DELETE", base+janeEscaped+"/roles", `{"roles":[]}`).expect(t, 400,
		`{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Array is too short (0), minimum 1' on property roles (List of roles IDs associated with the organization member to remove).","errorCode":"invalid_body"}`)
	long := "org_" + strings.Repeat("x", 47)
	do("GET", "/api/v2/organizations/"+long+"/members/"+janeEscaped+"/roles", "").expect(t, 400,
		`{"statusCode":400,"error":"Bad Request","message":"Path validation error: 'String is too long (51 chars), maximum 50' on property id (Organization identifier).","errorCode":"invalid_uri"}`)
	do("GET", base+janeEscaped+"/roles?page=1001", "").expect(t, 400,
		`{"statusCode":400,"error":"Bad Request","message":"Query validation error: 'Value 1001 is greater than maximum 1000' on property page (Page index of the results to return. First page is 0).","errorCode":"invalid_query_string"}`)
}

func TestIgnoreRemovals(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	tn.AddMember("org_1", jane, rolA)
	tn.IgnoreRemovals(jane)
	do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 204, "")
	do("DELETE", "/api/v2/organizations/org_1/members/"+janeEscaped+"/roles", `{"roles":["rol_AAAAAAAAAAAAAAAA"]}`).expect(t, 204, "")
	if got := tn.Roles(jane); len(got) != 3 {
		t.Fatalf("IgnoreRemovals user lost roles: %v", got)
	}
	if got := tn.MemberRoles("org_1", jane); !equalStrings(got, []string{rolA}) {
		t.Fatalf("IgnoreRemovals member lost roles: %v", got)
	}
	// A read-back shows the role is still there.
	if a := do("GET", "/api/v2/users/"+janeEscaped+"/roles", ""); !strings.Contains(a.body, rolA) {
		t.Fatalf("read-back lacks the role: %s", a.body)
	}
}

func TestInspectionEndpoints(t *testing.T) {
	tn, srv, do := seededServer(t, Options{})
	tn.AddMember("org_1", jane, rolA)
	do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", `{"roles":["rol_BBBBBBBBBBBBBBBB"]}`).expectStatus(t, 204)
	do("GET", "/api/v2/users/auth0%7Cnobody/roles", "").expectStatus(t, 404)

	// No token needed; not counted.
	state := request(t, srv, "GET", "/__sandbox/state", "", "")
	state.expect(t, 200, `{"roles":[{"id":"rol_AAAAAAAAAAAAAAAA","name":"Billing Admin"},{"id":"rol_BBBBBBBBBBBBBBBB","name":"Support Agent"},{"id":"rol_KKKKKKKKKKKKKKKK","name":"Viewer"}],`+
		`"users":[{"user_id":"auth0|5f7c8ec7c33c6c004bbafe82","email":"jane@example.com","name":"jane@example.com","roles":["rol_AAAAAAAAAAAAAAAA","rol_KKKKKKKKKKKKKKKK"]}],`+
		`"organizations":[{"id":"org_1","name":"org_1","members":[{"user_id":"auth0|5f7c8ec7c33c6c004bbafe82","roles":["rol_AAAAAAAAAAAAAAAA"]}]}]}`)
	stats := decode[Stats](t, request(t, srv, "GET", "/__sandbox/stats", "", ""))
	want := map[string]map[int]int{
		"DELETE /api/v2/users/{id}/roles": {204: 1},
		"GET /api/v2/users/{id}/roles":    {404: 1},
	}
	if stats.Total != 2 || fmt.Sprint(stats.Requests) != fmt.Sprint(want) || stats.RolesRemoved != 1 || stats.MaxInFlight != 1 {
		t.Fatalf("stats = %+v", stats)
	}
	request(t, srv, "POST", "/__sandbox/state", "", "").expect(t, 404, bodyNoRoute)
	request(t, srv, "GET", "/__sandbox/other", "", "").expect(t, 404, bodyNoRoute)
}

// rawRequest writes an HTTP/1.1 request line as given and returns the status.
func rawRequest(t *testing.T, srv *httptest.Server, requestLine, token, body string) int {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		requestLine, srv.Listener.Addr(), token, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStateAsText(t *testing.T) {
	tn := New(Options{})
	tn.AddRole("rol_AAAAAAAAAAAAAAAA", "Billing Admin")
	tn.AddRole("rol_BBBBBBBBBBBBBBBB", "Survivor")
	tn.AddUser("auth0|a", "a@example.com", "rol_BBBBBBBBBBBBBBBB")
	tn.AddUser("auth0|b", "b@example.com")
	tn.AddOrganization("org_Acme", "acme")
	tn.AddMember("org_Acme", "auth0|a", "rol_AAAAAAAAAAAAAAAA", "rol_BBBBBBBBBBBBBBBB")
	rec := httptest.NewRecorder()
	tn.ServeHTTP(rec, httptest.NewRequest("GET", "/__sandbox/state?format=text", nil))
	want := "auth0|a: Survivor\nauth0|b: (no roles)\norg_Acme / auth0|a: Billing Admin, Survivor\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("state as text = %d %q, want %q", rec.Code, rec.Body.String(), want)
	}
}
