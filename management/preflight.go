package management

import (
	"context"
	"net/http"
	"net/url"
)

// Preflight proves the tenant can be used before anything is sent: DNS, TLS,
// a token (fetched with client credentials, or the static one) and one
// authenticated read, GET /api/v2/roles?page=0&per_page=1 without totals,
// the cheapest read there is (one role at most, scope read:roles).
//
// Its error says what failed, for the caller to word and map:
//   - IsNetwork(err): the tenant (or its token endpoint) is unreachable.
//   - CredentialsRejected(err): a 401 on the read, or /oauth/token refused
//     the client (a *TokenError).
//   - errors.Is(err, ErrTokenUnavailable): the token endpoint kept failing.
//   - an *APIError with StatusCode 403 (Auth0's "Insufficient scope"): the
//     token was accepted and the tenant reached; the token only lacks
//     read:roles. Callers that do not need that scope should go on.
//   - anything else (*DecodeError, a 5xx *APIError, 429): the tenant
//     answered but not usefully.
func (c *Client) Preflight(ctx context.Context) (Response, error) {
	q := url.Values{"page": {"0"}, "per_page": {"1"}, "include_totals": {"false"}}
	return c.do(ctx, http.MethodGet, c.endpoint(q, "roles"), nil, func(data []byte) error {
		_, err := decodeRolesPage(data, 0, 1)
		return err
	})
}
