package sandbox

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const bodyRoleNotFound = `{"statusCode":404,"error":"Not Found","message":"The role does not exist."}`

// scopedToken gets a client-credentials token holding only scopes.
func scopedToken(t *testing.T, tn *Tenant, srv *httptest.Server, scopes ...string) string {
	t.Helper()
	tn.AddClient("scoped", "scoped-secret", scopes...)
	a := formToken(t, srv, clientForm(srv, "scoped", "scoped-secret"))
	require.Equal(t, 200, a.status, a.body)
	return decode[tokenAnswer](t, a).AccessToken
}

func TestPostUserRoles(t *testing.T) {
	tn, _, do := seededServer(t, Options{})
	tn.AddUser("auth0|bare", "bare@example.com")
	path := "/api/v2/users/auth0%7Cbare/roles"

	a := do("POST", path, `{"roles":["`+rolA+`","`+rolB+`"]}`)
	a.expect(t, 204, "")
	assert.Equal(t, []string{rolA, rolB}, tn.Roles("auth0|bare"))
	assert.Equal(t, 2, tn.Stats().RolesAssigned)
	// The holder listing shows the new holder at once.
	holders := decode[[]userObject](t, do("GET", "/api/v2/roles/"+rolA+"/users", ""))
	assert.Equal(t, []string{jane, "auth0|bare"}, []string{holders[0].UserID, holders[1].UserID})

	// Re-assigning a held role is accepted and adds nothing.
	do("POST", path, `{"roles":["`+rolA+`"]}`).expect(t, 204, "")
	assert.Equal(t, 2, tn.Stats().RolesAssigned)
	// Form encoding, as the OAS allows.
	do("POST", path, "roles="+rolKeep, "Content-Type", "application/x-www-form-urlencoded").expect(t, 204, "")
	assert.Equal(t, []string{rolA, rolB, rolKeep}, tn.Roles("auth0|bare"))

	do("POST", "/api/v2/users/auth0%7Cnobody/roles", `{"roles":["`+rolA+`"]}`).expect(t, 404, bodyUserNotFound)
	// One unknown role and nothing is assigned.
	tn.AddUser("auth0|other", "other@example.com")
	do("POST", "/api/v2/users/auth0%7Cother/roles", `{"roles":["`+rolA+`","rol_DoesNotExist0001"]}`).expect(t, 404, bodyRoleNotFound)
	assert.Empty(t, tn.Roles("auth0|other"))

	for body, want := range map[string]string{
		`{"roles":[]}`:   `{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Array is too short (0), minimum 1' on property roles (List of roles IDs to associated with the user).","errorCode":"invalid_body"}`,
		`{"role":["x"]}`: `{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Additional properties not allowed: role'.","errorCode":"invalid_body"}`,
		`{"roles":`:      `{"statusCode":400,"error":"Bad Request","message":"Invalid request payload JSON format","errorCode":"invalid_body"}`,
	} {
		do("POST", "/api/v2/users/auth0%7Cother/roles", body).expect(t, 400, want)
	}
	assert.Empty(t, tn.Roles("auth0|other"))
	assert.Equal(t, 3, tn.Stats().Requests["POST /api/v2/users/{id}/roles"][204])
}

func TestPostUserRolesScopes(t *testing.T) {
	for _, c := range []struct {
		scopes []string
		status int
	}{
		{[]string{"update:users"}, 204},
		{[]string{"create:role_members"}, 204},
		{[]string{"read:users", "read:roles", "delete:role_members"}, 403},
	} {
		tn, srv, _ := seededServer(t, Options{})
		tn.AddUser("auth0|bare", "bare@example.com")
		tok := scopedToken(t, tn, srv, c.scopes...)
		a := request(t, srv, "POST", "/api/v2/users/auth0%7Cbare/roles", tok, `{"roles":["`+rolA+`"]}`)
		if c.status == 403 {
			a.expect(t, 403, `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: update:users","errorCode":"insufficient_scope"}`)
			assert.Empty(t, tn.Roles("auth0|bare"), "scopes %v", c.scopes)
			continue
		}
		a.expect(t, 204, "")
		assert.Equal(t, []string{rolA}, tn.Roles("auth0|bare"), "scopes %v", c.scopes)
	}
}

func TestPostMemberRoles(t *testing.T) {
	tn, srv, do := seededServer(t, Options{})
	tn.AddOrganization("org_AcmeAcmeAcmeAcme", "acme")
	tn.AddMember("org_AcmeAcmeAcmeAcme", jane)
	path := "/api/v2/organizations/org_AcmeAcmeAcmeAcme/members/" + janeEscaped + "/roles"

	do("POST", path, `{"roles":["`+rolA+`"]}`).expect(t, 204, "")
	do("POST", path, `{"roles":["`+rolA+`","`+rolB+`"]}`).expect(t, 204, "")
	assert.Equal(t, []string{rolA, rolB}, tn.MemberRoles("org_AcmeAcmeAcmeAcme", jane))
	assert.Equal(t, 2, tn.Stats().RolesAssigned)
	// Organization roles are not the user's own: the holder list is unchanged.
	assert.Equal(t, []string{rolA, rolB, rolKeep}, tn.Roles(jane))
	state := tn.State()
	require.Len(t, state.Organizations, 1)
	assert.Equal(t, []SeedMember{{UserID: jane, Roles: []string{rolA, rolB}}}, state.Organizations[0].Members)

	do("POST", "/api/v2/organizations/org_NoSuchOrgNoSuch1/members/"+janeEscaped+"/roles", `{"roles":["`+rolA+`"]}`).expect(t, 404,
		`{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}`)
	tn.AddUser("auth0|outsider", "outsider@example.com")
	do("POST", "/api/v2/organizations/org_AcmeAcmeAcmeAcme/members/auth0%7Coutsider/roles", `{"roles":["`+rolA+`"]}`).expect(t, 404,
		`{"statusCode":404,"error":"Not Found","message":"The user does not exist."}`)
	do("POST", path, `{"roles":["rol_DoesNotExist0001"]}`).expect(t, 404, bodyRoleNotFound)
	do("POST", path, `{"roles":["not-a-role-id"]}`).expect(t, 400,
		`{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Object didn't pass validation for format role-id: not-a-role-id' on property roles[0].","errorCode":"invalid_body"}`)
	assert.Equal(t, []string{rolA, rolB}, tn.MemberRoles("org_AcmeAcmeAcmeAcme", jane))

	tok := scopedToken(t, tn, srv, "update:users", "delete:organization_member_roles")
	request(t, srv, "POST", path, tok, `{"roles":["`+rolKeep+`"]}`).expect(t, 403,
		`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: create:organization_member_roles","errorCode":"insufficient_scope"}`)
	tok = scopedToken(t, tn, srv, "create:organization_member_roles")
	request(t, srv, "POST", path, tok, `{"roles":["`+rolKeep+`"]}`).expect(t, 204, "")
	assert.Equal(t, []string{rolA, rolB, rolKeep}, tn.MemberRoles("org_AcmeAcmeAcmeAcme", jane))
}
