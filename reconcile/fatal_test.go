package reconcile

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

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

// A 429 applies nothing. v0.1 reported a removal interrupted while it waited
// out 429s as failed, "the outcome is unknown"; it is skipped: not sent, and
// --resume sends it.
func TestInterruptedAfterOnly429sIsSkipped(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.tenant.AddUser("auth0|a", "", roleA)
	f.tenant.SetFailNext(1_000_000, 429)
	p := planOf(input.Row{UserID: "auth0|a", RoleID: roleA})
	out := p.Outcomes(report.Skipped, report.Failed)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	x := &Executor{API: f.client, Pacer: fastPacer(1_000_000), Concurrency: 1}
	go func() { done <- x.Execute(ctx, p, out, nil) }()
	for f.tenant.Stats().Faults.Forced < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	var abort *AbortError
	require.ErrorAs(t, err, &abort)
	res := joined(p, out)[0]
	assert.Equal(t, report.Skipped, res.Status, "%+v", res)
	assert.NotContains(t, res.Error, "outcome is unknown")
	assert.GreaterOrEqual(t, res.Attempts, 2, "the attempts are still on record")
	assert.Equal(t, []string{roleA}, f.tenant.Roles("auth0|a"))
}
