package sandbox

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type checkpointPage struct {
	Users []userObject `json:"users"`
	Next  *string      `json:"next"`
}

type totalsPage struct {
	Users []userObject `json:"users"`
	Start int          `json:"start"`
	Limit int          `json:"limit"`
	Total int          `json:"total"`
}

// holdersTenant seeds n synthetic users who all hold "Legacy Admin" and
// returns that role's id.
func holdersTenant(t *testing.T, n int) (*Tenant, *httptest.Server, string) {
	t.Helper()
	tn, srv := newServer(t, Options{})
	tn.SeedSynthetic(n, 7, "Legacy Admin")
	roles := decode[[]roleObject](t, request(t, srv, "GET", "/api/v2/roles?name_filter=Legacy%20Admin", tn.Token(), ""))
	require.Len(t, roles, 1)
	return tn, srv, roles[0].ID
}

func holdersOf(tn *Tenant, roleID string) []string {
	var out []string
	for _, u := range tn.State().Users {
		if slices.Contains(u.Roles, roleID) {
			out = append(out, u.UserID)
		}
	}
	return out
}

// walkCheckpoint reads every checkpoint page and returns the user ids in
// order and the number of requests.
func walkCheckpoint(t *testing.T, tn *Tenant, srv *httptest.Server, roleID string, take int, between func(page int)) ([]string, int) {
	t.Helper()
	var ids []string
	from := ""
	for n := 1; ; n++ {
		require.Less(t, n, 10_000, "checkpoint paging does not end")
		a := request(t, srv, "GET", fmt.Sprintf("/api/v2/roles/%s/users?take=%d&from=%s", roleID, take, url.QueryEscape(from)), tn.Token(), "")
		require.Equal(t, 200, a.status, a.body)
		p := decode[checkpointPage](t, a)
		for _, u := range p.Users {
			ids = append(ids, u.UserID)
		}
		if p.Next == nil {
			return ids, n
		}
		require.NotEmpty(t, *p.Next)
		require.Len(t, p.Users, take, "a page with a next must be full")
		from = *p.Next
		if between != nil {
			between(n)
		}
	}
}

func TestRoleHoldersPageBasedStopsAt1000(t *testing.T) {
	tn, srv, rid := holdersTenant(t, 2500)
	seen := map[string]bool{}
	for page := range 10 {
		a := request(t, srv, "GET", fmt.Sprintf("/api/v2/roles/%s/users?per_page=100&page=%d&include_totals=true", rid, page), tn.Token(), "")
		require.Equal(t, 200, a.status, a.body)
		p := decode[totalsPage](t, a)
		assert.Equal(t, 2500, p.Total)
		assert.Equal(t, page*100, p.Start)
		assert.Equal(t, 100, p.Limit)
		require.Len(t, p.Users, 100)
		for _, u := range p.Users {
			assert.False(t, seen[u.UserID], "user %s on two pages", u.UserID)
			seen[u.UserID] = true
			assert.NotEmpty(t, u.Email)
			assert.NotEmpty(t, u.Name)
			assert.NotEmpty(t, u.Picture)
		}
	}
	assert.Len(t, seen, 1000)
	for _, c := range []struct{ query, page string }{
		{"per_page=100&page=10", "10"},
		{"per_page=100&page=10&include_totals=true", "10"},
		{"per_page=50&page=20", "20"},
		{"per_page=30&page=33", "33"}, // records 990 to 1019
		{"page=20", "20"},             // per_page defaults to 50
	} {
		request(t, srv, "GET", "/api/v2/roles/"+rid+"/users?"+c.query, tn.Token(), "").expect(t, 400,
			`{"statusCode":400,"error":"Bad Request","message":"Requesting page `+c.page+` exceeds the allowed maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination method."}`)
	}
	// The last page-based page that fits is answered.
	request(t, srv, "GET", "/api/v2/roles/"+rid+"/users?per_page=50&page=19", tn.Token(), "").expectStatus(t, 200)
	// A bare array without include_totals.
	bare := decode[[]userObject](t, request(t, srv, "GET", "/api/v2/roles/"+rid+"/users?per_page=3", tn.Token(), ""))
	assert.Len(t, bare, 3)
}

func TestRoleHoldersCheckpointReadsEveryHolderOnce(t *testing.T) {
	tn, srv, rid := holdersTenant(t, 2500)
	want := holdersOf(tn, rid)
	require.Len(t, want, 2500)

	got, requests := walkCheckpoint(t, tn, srv, rid, 100, nil)
	assert.Equal(t, 25, requests)
	assert.Equal(t, want, got, "every holder exactly once, in user id order")

	// take defaults to 50; the first page needs no from.
	p := decode[checkpointPage](t, request(t, srv, "GET", "/api/v2/roles/"+rid+"/users?take=50", tn.Token(), ""))
	assert.Len(t, p.Users, 50)
	p = decode[checkpointPage](t, request(t, srv, "GET", "/api/v2/roles/"+rid+"/users?from=", tn.Token(), ""))
	assert.Len(t, p.Users, 50)
	require.NotNil(t, p.Next)

	// A role with exactly one full page has no next.
	tn.AddRole("rol_SmallSmallSmall1", "Small")
	for i := range 4 {
		tn.AddUser(fmt.Sprintf("auth0|small%d", i), fmt.Sprintf("small%d@example.com", i), "rol_SmallSmallSmall1")
	}
	request(t, srv, "GET", "/api/v2/roles/rol_SmallSmallSmall1/users?take=4", tn.Token(), "").expect(t, 200,
		`{"users":[`+
			`{"user_id":"auth0|small0","email":"small0@example.com","picture":"`+pictureFor("small0@example.com")+`","name":"small0@example.com"},`+
			`{"user_id":"auth0|small1","email":"small1@example.com","picture":"`+pictureFor("small1@example.com")+`","name":"small1@example.com"},`+
			`{"user_id":"auth0|small2","email":"small2@example.com","picture":"`+pictureFor("small2@example.com")+`","name":"small2@example.com"},`+
			`{"user_id":"auth0|small3","email":"small3@example.com","picture":"`+pictureFor("small3@example.com")+`","name":"small3@example.com"}]}`)
	tn.AddRole("rol_EmptyEmptyEmpty1", "Empty")
	request(t, srv, "GET", "/api/v2/roles/rol_EmptyEmptyEmpty1/users?take=10", tn.Token(), "").expect(t, 200, `{"users":[]}`)
}

func TestRoleHoldersCheckpointSurvivesRemovalsBetweenPages(t *testing.T) {
	tn, srv, rid := holdersTenant(t, 1200)
	want := holdersOf(tn, rid)
	// After each page, remove the role from one holder already read and
	// from one not read yet: the walk must skip nobody else and repeat
	// nobody.
	aheadRemoved := map[string]bool{}
	got, requests := walkCheckpoint(t, tn, srv, rid, 100, func(page int) {
		behind, ahead := want[page*100-1], want[len(want)-page]
		aheadRemoved[ahead] = true
		for _, uid := range []string{behind, ahead} {
			request(t, srv, "DELETE", "/api/v2/users/"+url.PathEscape(uid)+"/roles", tn.Token(), `{"roles":["`+rid+`"]}`).expectStatus(t, 204)
		}
	})
	require.Equal(t, 12, requests)
	require.Len(t, aheadRemoved, 11)
	var expected []string
	for _, uid := range want {
		if !aheadRemoved[uid] {
			expected = append(expected, uid)
		}
	}
	assert.Equal(t, expected, got, "holders removed ahead of the walk are missing, everyone else is read once")
	assert.Len(t, holdersOf(tn, rid), 1200-22)
}

func TestRoleHoldersValidation(t *testing.T) {
	tn, srv, rid := holdersTenant(t, 10)
	for _, c := range []struct{ query, want string }{
		{"take=101", `{"statusCode":400,"error":"Bad Request","message":"Query validation error: 'Value 101 is greater than maximum 100' on property take (Number of results per page. Defaults to 50).","errorCode":"invalid_query_string"}`},
		{"take=0", `{"statusCode":400,"error":"Bad Request","message":"Query validation error: 'Value 0 is less than minimum 1' on property take (Number of results per page. Defaults to 50).","errorCode":"invalid_query_string"}`},
		{"from=bm90LWEtY2hlY2twb2ludA", `{"statusCode":400,"error":"Bad Request","message":"Query validation error: 'Invalid checkpoint: bm90LWEtY2hlY2twb2ludA' on property from (Optional Id from which to start selection).","errorCode":"invalid_query_string"}`},
		{"per_page=101", `{"statusCode":400,"error":"Bad Request","message":"Query validation error: 'Value 101 is greater than maximum 100' on property per_page (Number of results per page).","errorCode":"invalid_query_string"}`},
	} {
		request(t, srv, "GET", "/api/v2/roles/"+rid+"/users?"+c.query, tn.Token(), "").expect(t, 400, c.want)
	}
	for _, q := range []string{"", "?take=10"} {
		request(t, srv, "GET", "/api/v2/roles/rol_nope/users"+q, tn.Token(), "").expect(t, 404,
			`{"statusCode":404,"error":"Not Found","message":"The role does not exist."}`)
	}
}

// TestRoleHoldersAtScale pages 30,000 holders: the holder list is built
// once, then each page is a binary search, so the walk stays linear.
func TestRoleHoldersAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 30,000 users")
	}
	tn, srv, rid := holdersTenant(t, 30_000)
	got, requests := walkCheckpoint(t, tn, srv, rid, 100, nil)
	assert.Equal(t, 300, requests)
	assert.Len(t, got, 30_000)
	assert.True(t, slices.IsSorted(got))
	// Deterministic: the same seed gives the same holders.
	again := New(Options{})
	again.SeedSynthetic(30_000, 7, "Legacy Admin")
	assert.Equal(t, got, holdersOf(again, rid))
	assert.Equal(t, 300, tn.Stats().Requests["GET /api/v2/roles/{id}/users"][200])
}
