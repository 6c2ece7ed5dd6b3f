package management

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// maxCheckpointTake is Auth0's largest "take" for checkpoint paging.
const maxCheckpointTake = 100

// RoleUsers reads one page of a role's holders, page-based:
// GET /api/v2/roles/{id}/users?include_totals=true&page=&per_page=. page
// counts from 0; perPage ≤ 0 leaves the page size to the tenant. Auth0
// refuses pages past its first 1,000 records with a 400 (an *APIError whose
// Message says to use checkpoint pagination): read those with RoleUsersFrom.
func (c *Client) RoleUsers(ctx context.Context, roleID string, page, perPage int) (UsersPage, Response, error) {
	if err := checkID("role id", roleID); err != nil {
		return UsersPage{}, Response{}, err
	}
	q, err := pageQuery(page, perPage)
	if err != nil {
		return UsersPage{}, Response{}, err
	}
	var up UsersPage
	resp, err := c.do(ctx, http.MethodGet, c.endpoint(q, "roles", roleID, "users"), nil, func(data []byte) error {
		var err error
		up, err = decodeUsersPage(data, page, perPage)
		return err
	})
	if err != nil {
		return UsersPage{}, resp, err
	}
	return up, resp, nil
}

// RoleUsersFrom reads one page of a role's holders with checkpoint paging:
// GET /api/v2/roles/{id}/users?from=&take=. from is "" for the first page,
// then the previous page's Next; take ≤ 0 leaves the page size to the tenant
// (Auth0: 50), and more than 100 is refused before sending. The last page has
// no Next.
func (c *Client) RoleUsersFrom(ctx context.Context, roleID, from string, take int) (CheckpointPage, Response, error) {
	if err := checkID("role id", roleID); err != nil {
		return CheckpointPage{}, Response{}, err
	}
	if take > maxCheckpointTake {
		return CheckpointPage{}, Response{}, invalidArgument("take %d is over %d", take, maxCheckpointTake)
	}
	q := url.Values{}
	if from != "" {
		q.Set("from", from)
	}
	if take > 0 {
		q.Set("take", strconv.Itoa(take))
	}
	var cp CheckpointPage
	resp, err := c.do(ctx, http.MethodGet, c.endpoint(q, "roles", roleID, "users"), nil, func(data []byte) error {
		var err error
		cp, err = decodeCheckpointPage(data)
		return err
	})
	if err != nil {
		return CheckpointPage{}, resp, err
	}
	return cp, resp, nil
}

func decodeUsersPage(data []byte, page, perPage int) (UsersPage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var users []User
		if err := json.Unmarshal(trimmed, &users); err != nil {
			return UsersPage{}, fmt.Errorf("decoding users: %w", err)
		}
		return usersPageWithoutTotals(users, page, perPage), nil
	}
	var obj struct {
		Users *[]User  `json:"users"`
		Start *float64 `json:"start"`
		Limit *float64 `json:"limit"`
		Total *float64 `json:"total"`
	}
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return UsersPage{}, fmt.Errorf("decoding users: %w", err)
	}
	if obj.Users == nil {
		// "{}" read as "no holders" would plan nothing for a broken answer.
		return UsersPage{}, errors.New(`decoding users: the response has no "users" list`)
	}
	users := *obj.Users
	if obj.Total == nil {
		return usersPageWithoutTotals(users, page, perPage), nil
	}
	up := UsersPage{Users: nonNilUsers(users), Total: int(*obj.Total), TotalKnown: true}
	if obj.Start != nil {
		up.Start = int(*obj.Start)
	}
	if obj.Limit != nil {
		up.Limit = int(*obj.Limit)
	}
	return up, nil
}

func usersPageWithoutTotals(users []User, page, perPage int) UsersPage {
	up := UsersPage{Users: nonNilUsers(users), Limit: perPage}
	if perPage > 0 {
		up.Start = page * perPage
	}
	up.Total = up.Start + len(users)
	if perPage > 0 && len(users) >= perPage {
		up.Total++ // a full page: there may be more
	}
	return up
}

func decodeCheckpointPage(data []byte) (CheckpointPage, error) {
	var obj struct {
		Users *[]User `json:"users"`
		Next  *string `json:"next"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &obj); err != nil {
		return CheckpointPage{}, fmt.Errorf("decoding users: %w", err)
	}
	if obj.Users == nil {
		return CheckpointPage{}, errors.New(`decoding users: the response has no "users" list`)
	}
	cp := CheckpointPage{Users: nonNilUsers(*obj.Users)}
	if obj.Next != nil {
		cp.Next = *obj.Next
	}
	return cp, nil
}

func nonNilUsers(users []User) []User {
	if users == nil {
		return []User{}
	}
	return users
}
