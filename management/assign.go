package management

import (
	"context"
	"net/http"
)

// AssignUserRoles assigns roles to a user:
// POST /api/v2/users/{id}/roles {"roles":[…]}; success is 204. Assigning a
// role the user already holds is accepted by Auth0, so 204 means "held now".
func (c *Client) AssignUserRoles(ctx context.Context, userID string, roleIDs []string) (Response, error) {
	return c.userRoles(ctx, http.MethodPost, "", userID, roleIDs)
}

// AssignOrganizationMemberRoles assigns roles to a member of an organization:
// POST /api/v2/organizations/{org}/members/{user}/roles {"roles":[…]}; 204.
func (c *Client) AssignOrganizationMemberRoles(ctx context.Context, orgID, userID string, roleIDs []string) (Response, error) {
	return c.userRoles(ctx, http.MethodPost, orgID, userID, roleIDs)
}

// userRoles sends {"roles":[…]} with method to a user's roles, or to an
// organization member's roles when orgID is set: the one shape of every
// assignment change, removal or re-assignment.
func (c *Client) userRoles(ctx context.Context, method, orgID, userID string, roleIDs []string) (Response, error) {
	if orgID != "" {
		if err := checkID("organization id", orgID); err != nil {
			return Response{}, err
		}
	}
	if err := checkID("user id", userID); err != nil {
		return Response{}, err
	}
	body, err := rolesBody(roleIDs)
	if err != nil {
		return Response{}, err
	}
	path := c.endpoint(nil, "users", userID, "roles")
	if orgID != "" {
		path = c.endpoint(nil, "organizations", orgID, "members", userID, "roles")
	}
	return c.do(ctx, method, path, body, nil)
}
