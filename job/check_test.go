package job

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// removeByHand takes roles from a user outside rolesweep's run.
func (f *fixture) removeByHand(t *testing.T, user string, roles ...string) {
	t.Helper()
	c, err := management.New(f.tenantConfig().Management)
	require.NoError(t, err)
	_, err = c.RemoveUserRoles(context.Background(), user, roles)
	require.NoError(t, err)
}

func TestMaxRemovalsCountsOnlyRolesReallyAssigned(t *testing.T) {
	f := newFixture(t, 5) // 10 planned removals
	f.removeByHand(t, f.users[0], roleA, roleB)
	before := f.deletes()

	cfg := f.applyConfig()
	cfg.Check = true
	cfg.MaxRemovals = 7
	r, err := Apply(context.Background(), cfg, Hooks{})
	var abort *reconcile.AbortError
	require.ErrorAs(t, err, &abort, "8 roles are assigned, more than 7")
	assert.Contains(t, abort.Reason, "8 of the planned roles are assigned")
	assert.Equal(t, before, f.deletes(), "the guard comes before the first DELETE")
	assert.Equal(t, 2, r.Summary.Absent)

	cfg.MaxRemovals = 8
	cfg.Reports = []string{filepath.Join(f.dir, "second.json")}
	r, err = Apply(context.Background(), cfg, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 8, r.Summary.Removed)
	assert.Equal(t, 2, r.Summary.Absent, "already gone: absent, not removed")
	assert.True(t, r.Run.Checked)
}

func TestUncheckedApplyReportsCheckedFalse(t *testing.T) {
	f := newFixture(t, 3)
	f.removeByHand(t, f.users[0], roleA)
	r, err := Apply(context.Background(), f.applyConfig(), Hooks{}) // Check false
	require.NoError(t, err)
	require.NotNil(t, r.Run)
	assert.False(t, r.Run.Checked)
	assert.Equal(t, 6, r.Summary.Removed, "unchecked, removed only means the DELETE was accepted")
}

func TestResumedRunReadsAgain(t *testing.T) {
	f := newFixture(t, 6)
	cfg := f.applyConfig()
	cfg.Check = true
	cfg.Tenant.Concurrency = 1
	// The progress display starts after the read phase: from there, the
	// first two DELETEs fail (no retries).
	var first Summary
	hooks := Hooks{
		Progress: func(*reconcile.Progress, func() pacer.Stats) func() {
			f.tenant.SetFailNext(2, 503)
			return func() {}
		},
		Finished: func(s Summary) { first = s },
	}
	r, err := Apply(context.Background(), cfg, hooks)
	require.NoError(t, err)
	require.Equal(t, 4, r.Summary.Failed)
	require.NotEmpty(t, first.Journal)

	// Meanwhile someone removes one of the failed roles by hand.
	f.removeByHand(t, f.users[0], roleA)
	userReads := f.tenant.Stats().Requests["GET /api/v2/users/{id}/roles"][200]

	cfg.Resume = first.Journal
	cfg.Reports = []string{filepath.Join(f.dir, "resumed.json")}
	r, err = Apply(context.Background(), cfg, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 2, f.tenant.Stats().Requests["GET /api/v2/users/{id}/roles"][200]-userReads,
		"the resumed run reads the two unfinished groups again, and only them")
	var statuses []report.Status
	for res := range r.Rows() {
		statuses = append(statuses, res.Status)
	}
	assert.Equal(t, report.Absent, statuses[0], "removed by hand since: absent, not removed")
	assert.Equal(t, 11, r.Summary.Removed)
}
