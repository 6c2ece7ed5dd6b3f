package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type rolesPage struct {
	Roles []roleObject `json:"roles"`
	Start int          `json:"start"`
	Limit int          `json:"limit"`
	Total int          `json:"total"`
}

func TestReadFaultEndless(t *testing.T) {
	tn, _, do := seededServer(t, Options{ReadFault: ReadFaultEndless})
	tn.AddMember("org_1", jane, rolA)
	seen := map[string]bool{}
	for _, page := range []int{0, 1, 999} {
		for _, path := range []string{
			"/api/v2/users/" + janeEscaped + "/roles",
			"/api/v2/roles",
			"/api/v2/organizations/org_1/members/" + janeEscaped + "/roles",
		} {
			p := decode[rolesPage](t, do("GET", fmt.Sprintf("%s?include_totals=true&per_page=100&page=%d", path, page), ""))
			assert.Equal(t, 1_000_000_000, p.Total, path)
			assert.Equal(t, page*100, p.Start, path)
			require.Len(t, p.Roles, 100, path)
			for _, r := range p.Roles {
				seen[path+" "+r.ID] = true
			}
		}
	}
	assert.Len(t, seen, 900, "every page holds items no other page holds")
	// A bare array is full too.
	assert.Len(t, decode[[]roleObject](t, do("GET", "/api/v2/users/"+janeEscaped+"/roles?per_page=7&page=3", "")), 7)
	// Role holders: page-based pages are full, checkpoint pages always have a
	// next that moves on.
	assert.Len(t, decode[totalsPage](t, do("GET", "/api/v2/roles/"+rolA+"/users?include_totals=true&per_page=100&page=9", "")).Users, 100)
	from := ""
	var last string
	for range 5 {
		p := decode[checkpointPage](t, do("GET", "/api/v2/roles/"+rolA+"/users?take=100&from="+from, ""))
		require.Len(t, p.Users, 100)
		require.NotNil(t, p.Next)
		assert.NotEqual(t, last, p.Users[0].UserID)
		last = p.Users[0].UserID
		from = *p.Next
	}
	// Lookups still fail as they should, and the real data is untouched.
	do("GET", "/api/v2/users/auth0%7Cnobody/roles", "").expect(t, 404, bodyUserNotFound)
	assert.Equal(t, []string{rolA, rolB, rolKeep}, tn.Roles(jane))
}

func TestReadFaultLowTotal(t *testing.T) {
	tn, _, do := seededServer(t, Options{ReadFault: ReadFaultLowTotal})
	for i := range 150 {
		tn.AddUser(jane, "jane@example.com", fmt.Sprintf("rol_Many%012d", i))
	}
	p := decode[rolesPage](t, do("GET", "/api/v2/users/"+janeEscaped+"/roles?include_totals=true&per_page=100", ""))
	assert.Equal(t, 0, p.Total)
	assert.Len(t, p.Roles, 100, "the page itself is real")
	p = decode[rolesPage](t, do("GET", "/api/v2/users/"+janeEscaped+"/roles?include_totals=true&per_page=100&page=1", ""))
	assert.Equal(t, 0, p.Total)
	assert.Len(t, p.Roles, 53)
	h := decode[totalsPage](t, do("GET", "/api/v2/roles/"+rolA+"/users?include_totals=true", ""))
	assert.Equal(t, 0, h.Total)
	assert.Len(t, h.Users, 1)
}

func TestReadFaultInvalidJSON(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	tn.SetReadFault(ReadFaultInvalidJSON)
	for _, path := range []string{
		"/api/v2/users/" + janeEscaped + "/roles",
		"/api/v2/roles?include_totals=true",
		"/api/v2/roles/" + rolA + "/users?take=10",
		"/api/v2/users-by-email?email=jane%40example.com",
	} {
		a := do("GET", path, "")
		require.Equal(t, 200, a.status, path)
		assert.False(t, json.Valid([]byte(a.body)), "%s: %s", path, a.body)
		assert.NotEmpty(t, a.body, path)
	}
	// Errors and writes are left alone.
	do("GET", "/api/v2/users/auth0%7Cnobody/roles", "").expect(t, 404, bodyUserNotFound)
	do("DELETE", "/api/v2/users/"+janeEscaped+"/roles", `{"roles":["`+rolA+`"]}`).expect(t, 204, "")
	assert.Equal(t, 4, tn.Stats().Faults.InvalidJSON)

	tn.SetReadFault("")
	assert.True(t, json.Valid([]byte(do("GET", "/api/v2/users/"+janeEscaped+"/roles", "").body)))
	assert.Panics(t, func() { tn.SetReadFault("sometimes") })
}

func TestTokenFaults(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
	}
	tn, srv := newServer(t, Options{TokenStatus: 500, TokenLatency: 45 * time.Second, Sleep: sleep})
	for range 3 {
		formToken(t, srv, clientForm(srv, tn.ClientID(), tn.ClientSecret())).expect(t, 500,
			`{"error":"server_error","error_description":"An internal server error occurred"}`)
	}
	s := tn.Stats()
	assert.Equal(t, 3, s.Faults.TokenFailed)
	assert.Equal(t, 0, s.TokensIssued)
	assert.Equal(t, 3, s.Requests["POST /oauth/token"][500])
	mu.Lock()
	assert.Equal(t, []time.Duration{45 * time.Second, 45 * time.Second, 45 * time.Second}, slept)
	mu.Unlock()
	// The API itself still answers: only the token endpoint is broken.
	request(t, srv, "GET", "/api/v2/roles", tn.Token(), "").expectStatus(t, 200)

	tn.SetTokenFault(429, 0)
	formToken(t, srv, clientForm(srv, tn.ClientID(), tn.ClientSecret())).expect(t, 429,
		`{"error":"too_many_requests","error_description":"Rate limit exceeded. Please retry after some time."}`)
	tn.SetTokenFault(0, 0)
	formToken(t, srv, clientForm(srv, tn.ClientID(), tn.ClientSecret())).expectStatus(t, 200)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []time.Duration{45 * time.Second, 45 * time.Second, 45 * time.Second, 0}, slept,
		"the API's own (zero) latency, and none for the token once switched off")
}

func TestFaultOptionsValidate(t *testing.T) {
	for _, o := range []Options{{ReadFault: "nope"}, {TokenStatus: 200}, {TokenStatus: 600}, {TokenLatency: -time.Second}} {
		assert.Error(t, o.Validate(), "%+v", o)
	}
	for _, kind := range append(ReadFaults(), "") {
		assert.NoError(t, Options{ReadFault: kind, TokenStatus: 503, TokenLatency: time.Minute}.Validate())
	}
}
