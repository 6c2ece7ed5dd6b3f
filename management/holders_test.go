package management

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileIDs are ids that must stay one escaped path segment.
var hostileIDs = []struct{ id, escaped string }{
	{"auth0|5f7c8ec7c33c6c004bbafe82", "auth0%7C5f7c8ec7c33c6c004bbafe82"},
	{"../../roles", "..%2F..%2Froles"},
	{"x?page=99&per_page=1", "x%3Fpage=99&per_page=1"},
	{"x#frag", "x%23frag"},
	{"a%2Fb", "a%252Fb"},
	{"samlp|corp|jdoe@example.com", "samlp%7Ccorp%7Cjdoe@example.com"},
}

func TestAssignmentsPostTheRolesBody(t *testing.T) {
	for _, tt := range hostileIDs {
		t.Run(tt.id, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 204, "") })
			c := newTokenClient(t, srv)
			ctx := context.Background()
			resp, err := c.AssignUserRoles(ctx, tt.id, []string{"rol_NHBmr6NkzbRcHob1", "rol_b"})
			require.NoError(t, err)
			assert.Equal(t, 204, resp.StatusCode)
			resp, err = c.AssignOrganizationMemberRoles(ctx, tt.id, tt.id, []string{"rol_lEh5V8omwZrnZd9o"})
			require.NoError(t, err)
			assert.Equal(t, 204, resp.StatusCode)

			seen := srv.seen()
			require.Len(t, seen, 2)
			assert.Equal(t, http.MethodPost, seen[0].Method)
			assert.Equal(t, "/api/v2/users/"+tt.escaped+"/roles", seen[0].RequestURI)
			assert.Equal(t, "/api/v2/users/"+tt.id+"/roles", seen[0].Path)
			assert.JSONEq(t, `{"roles":["rol_NHBmr6NkzbRcHob1","rol_b"]}`, string(seen[0].Body))
			assert.Equal(t, "application/json", seen[0].Header.Get("Content-Type"))
			assert.Equal(t, "Bearer "+testToken, seen[0].Header.Get("Authorization"))

			assert.Equal(t, http.MethodPost, seen[1].Method)
			assert.Equal(t, "/api/v2/organizations/"+tt.escaped+"/members/"+tt.escaped+"/roles", seen[1].RequestURI)
			assert.Equal(t, "/api/v2/organizations/"+tt.id+"/members/"+tt.id+"/roles", seen[1].Path)
			assert.JSONEq(t, `{"roles":["rol_lEh5V8omwZrnZd9o"]}`, string(seen[1].Body))
		})
	}
}

func TestAssignmentErrorsAndRefusals(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		respond(w, 404, `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`)
	})
	c := newTokenClient(t, srv)
	ctx := context.Background()
	resp, err := c.AssignUserRoles(ctx, "auth0|gone", []string{"rol_x"})
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr), "%T %v", err, err)
	assert.Equal(t, 404, apiErr.StatusCode)
	assert.Equal(t, "inexistent_user", apiErr.ErrorCode)
	assert.Equal(t, 404, resp.StatusCode)

	for _, call := range []func() error{
		func() error { _, err := c.AssignUserRoles(ctx, "", []string{"rol_x"}); return err },
		func() error { _, err := c.AssignUserRoles(ctx, "..", []string{"rol_x"}); return err },
		func() error { _, err := c.AssignUserRoles(ctx, "u", nil); return err },
		func() error { _, err := c.AssignUserRoles(ctx, "u", []string{""}); return err },
		func() error { _, err := c.AssignOrganizationMemberRoles(ctx, ".", "u", []string{"rol_x"}); return err },
		func() error { _, err := c.AssignOrganizationMemberRoles(ctx, "org", "", []string{"rol_x"}); return err },
	} {
		assert.ErrorIs(t, call(), ErrInvalidArgument)
	}
	assert.Len(t, srv.seen(), 1, "refused calls send nothing")
}

// The body GA-rec TestRoleManager_Users.yaml recorded for GET /roles/{id}/users.
const recordedRoleUsers = `{"users":[{"user_id":"auth0|63cffd6a45f4a3e3b1e2ab9f","email":"chuck@example.com","picture":"https://s.gravatar.com/avatar/x.png","name":"chuck@example.com"}],"start":0,"limit":50,"total":1}`

func TestRoleUsersPageBased(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 200, recordedRoleUsers) })
	c := newTokenClient(t, srv)
	up, resp, err := c.RoleUsers(context.Background(), "rol_a/b|c", 0, 50)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, UsersPage{
		Users: []User{{UserID: "auth0|63cffd6a45f4a3e3b1e2ab9f", Email: "chuck@example.com", Name: "chuck@example.com"}},
		Start: 0, Limit: 50, Total: 1, TotalKnown: true,
	}, up)
	seen := srv.seen()
	require.Len(t, seen, 1)
	assert.Equal(t, http.MethodGet, seen[0].Method)
	assert.Equal(t, "/api/v2/roles/rol_a%2Fb%7Cc/users?include_totals=true&page=0&per_page=50", seen[0].RequestURI)
}

func TestRoleUsersShapes(t *testing.T) {
	tests := []struct {
		name, body string
		page       int
		want       UsersPage
		wantErr    string
	}{
		{"bare full page", `[{"user_id":"u1"},{"user_id":"u2"}]`, 1,
			UsersPage{Users: []User{{UserID: "u1"}, {UserID: "u2"}}, Start: 2, Limit: 2, Total: 5}, ""},
		{"bare short page", `[{"user_id":"u1"}]`, 0,
			UsersPage{Users: []User{{UserID: "u1"}}, Start: 0, Limit: 2, Total: 1}, ""},
		{"empty past the end", `{"users":[],"start":4,"limit":2,"total":3}`, 2,
			UsersPage{Users: []User{}, Start: 4, Limit: 2, Total: 3, TotalKnown: true}, ""},
		{"no users list", `{"start":0}`, 0, UsersPage{}, `no "users" list`},
		{"not JSON", `<html>`, 0, UsersPage{}, "decoding users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 200, tt.body) })
			up, _, err := newTokenClient(t, srv).RoleUsers(context.Background(), "rol_x", tt.page, 2)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, up)
		})
	}
}

func TestRoleUsersPastAThousandRecordsIsAnAPIError(t *testing.T) {
	const msg = "Requesting page 10 exceeds the allowed maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination method."
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		respond(w, 400, `{"statusCode":400,"error":"Bad Request","message":"`+msg+`","errorCode":"invalid_query_string"}`)
	})
	_, resp, err := newTokenClient(t, srv).RoleUsers(context.Background(), "rol_x", 10, 100)
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr), "%T %v", err, err)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Equal(t, msg, apiErr.Message)
	assert.Equal(t, 400, resp.StatusCode)
}

func TestRoleUsersFromCheckpoints(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Query().Get("from") == "" {
			respond(w, 200, `{"users":[{"user_id":"auth0|1","email":"a@example.com","name":"A"}],"next":"MjAyNi0xMi0wMQ=="}`)
			return
		}
		respond(w, 200, `{"users":[{"user_id":"auth0|2"}]}`)
	})
	c := newTokenClient(t, srv)
	ctx := context.Background()
	first, resp, err := c.RoleUsersFrom(ctx, "rol_a/b", "", 100)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, CheckpointPage{Users: []User{{UserID: "auth0|1", Email: "a@example.com", Name: "A"}}, Next: "MjAyNi0xMi0wMQ=="}, first)
	last, _, err := c.RoleUsersFrom(ctx, "rol_a/b", first.Next, 100)
	require.NoError(t, err)
	assert.Equal(t, CheckpointPage{Users: []User{{UserID: "auth0|2"}}}, last)

	seen := srv.seen()
	require.Len(t, seen, 2)
	assert.Equal(t, "/api/v2/roles/rol_a%2Fb/users?take=100", seen[0].RequestURI)
	assert.Equal(t, "/api/v2/roles/rol_a%2Fb/users?from=MjAyNi0xMi0wMQ%3D%3D&take=100", seen[1].RequestURI)

	_, _, err = c.RoleUsersFrom(ctx, "rol_x", "", 101)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	_, _, err = c.RoleUsersFrom(ctx, "", "", 50)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Len(t, srv.seen(), 2, "refused calls send nothing")
}

func TestRoleUsersFromRefusesAnAnswerWithoutUsers(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 200, `{"next":"x"}`) })
	_, _, err := newTokenClient(t, srv).RoleUsersFrom(context.Background(), "rol_x", "", 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no "users" list`)
	assert.Equal(t, "/api/v2/roles/rol_x/users", srv.seen()[0].RequestURI)
}
