package job

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
)

// An input that names roles by id gets their names from the tenant's answer
// to the check's reads, in the plan and in the run's report.
func TestRoleNamesComeFromTheTenant(t *testing.T) {
	f := newFixture(t, 2)
	plan, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}, Check: true, Tenant: f.tenantConfig()}, Hooks{})
	require.NoError(t, err)
	var names []string
	for res := range plan.Rows() {
		names = append(names, res.RoleName)
	}
	assert.Equal(t, []string{"Role AAAA", "Role BBBB", "Role AAAA", "Role BBBB"}, names)

	cfg := f.applyConfig()
	cfg.Check = true
	r, err := Apply(context.Background(), cfg, Hooks{})
	require.NoError(t, err)
	names = names[:0]
	for res := range r.Rows() {
		assert.Equal(t, report.Removed, res.Status)
		names = append(names, res.RoleName)
	}
	assert.Equal(t, []string{"Role AAAA", "Role BBBB", "Role AAAA", "Role BBBB"}, names)

	// Without a read, the tenant told us nothing: the name stays as the
	// input gave it (none).
	offline, err := Plan(context.Background(), PlanConfig{Source: Source{Path: f.input}}, Hooks{})
	require.NoError(t, err)
	for res := range offline.Rows() {
		assert.Empty(t, res.RoleName)
	}
}
