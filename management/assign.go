package management

import (
	"context"
	"net/http"
)

// AssignUserRoles assigns roles to a user:
// POST /api/v2/users/{id}/roles {"roles":[…]}; success is 204. Assigning a
// role the user already holds is accepted by Auth0, so 204 means "held now".
func (c *Client) AssignUserRoles(ctx context.Context, userID string, roleIDs []string) (Response, error) {
	if err := checkID("user id", userID); err != nil {
		return Response{}, err
	}
	body, err := rolesBody(roleIDs)
	if err != nil {
		return Response{}, err
	}
	return c.do(ctx, http.MethodPost, c.endpoint(nil, "users", userID, "roles"), body, nil)
}

// AssignOrganizationMemberRoles assigns roles to a member of an organization:
// POST /api/v2/organizations/{org}/members/{user}/roles {"roles":[…]}; 204.
func (c *Client) AssignOrganizationMemberRoles(ctx context.Context, orgID, userID string, roleIDs []string) (Response, error) {
	if err := checkID("organization id", orgID); err != nil {
		return Response{}, err
	}
	if err := checkID("user id", userID); err != nil {
		return Response{}, err
	}
	body, err := rolesBody(roleIDs)
	if err != nil {
		return Response{}, err
	}
	return c.do(ctx, http.MethodPost, c.endpoint(nil, "organizations", orgID, "members", userID, "roles"), body, nil)
}
