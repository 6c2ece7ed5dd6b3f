package reconcile

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// tokenlessRemover is a client whose token endpoint has given up: every
// call fails at once with ErrTokenUnavailable, as the management client's
// shared token fetch reports it.
type tokenlessRemover struct {
	API
	calls atomic.Int64
}

func (r *tokenlessRemover) RemoveUserRoles(context.Context, string, []string) (management.Response, error) {
	r.calls.Add(1)
	return management.Response{}, fmt.Errorf("management: token: %w", management.ErrTokenUnavailable)
}

// v0.1 failed every row, one token request storm after another (1,200 token
// requests in 32 s, exit 1). A token endpoint that kept failing through the
// client's own bounded tries now stops the run like a 401: the rest skipped.
func TestTokenUnavailableStopsTheRunLikeA401(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	var rows []input.Row
	for i := range 20 {
		u := fmt.Sprintf("auth0|user%03d", i)
		f.tenant.AddUser(u, "", roleA)
		rows = append(rows, input.Row{UserID: u, RoleID: roleA})
	}
	api := &tokenlessRemover{API: f.client}
	results, err := execute(t, &Executor{API: api, Pacer: fastPacer(3), Concurrency: 1}, planOf(rows...))
	var abort *AbortError
	require.ErrorAs(t, err, &abort)
	assert.ErrorIs(t, err, management.ErrTokenUnavailable)
	assert.Contains(t, abort.Reason, "no token from the tenant's token endpoint")
	assert.Equal(t, report.Failed, results[0].Status)
	for _, r := range results[1:] {
		assert.Equal(t, report.Skipped, r.Status)
	}
	assert.EqualValues(t, 1, api.calls.Load(), "not retried, not repeated per row")
}
