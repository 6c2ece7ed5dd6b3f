package job

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/reconcile"
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

func TestSkipProtectedRemovesTheRest(t *testing.T) {
	f := newFixture(t, 3)
	cfg := f.applyConfig()
	cfg.ProtectUsers = []string{f.users[1]}
	cfg.ProtectRoles = []string{roleB}

	_, err := Apply(context.Background(), cfg, Hooks{})
	var refused *ProtectedError
	require.ErrorAs(t, err, &refused, "without SkipProtected one protected row refuses the run")
	assert.Len(t, refused.Violations, 4, "every offending line is named")
	assert.Zero(t, f.deletes())

	cfg.SkipProtected = true
	var notices []string
	r, err := Apply(context.Background(), cfg, Hooks{Notice: func(m string) { notices = append(notices, m) }})
	require.NoError(t, err)
	assert.Equal(t, report.CompletedWithFailures, r.Outcome, "protected rows are not removed: exit 1")
	assert.Equal(t, 2, r.Summary.Removed)
	assert.Equal(t, 4, r.Summary.Protected)
	for res := range r.Rows() {
		switch {
		case res.UserID == f.users[1]:
			assert.Equal(t, report.Protected, res.Status)
			assert.Equal(t, "user "+f.users[1]+" is protected", res.Error)
		case res.RoleID == roleB:
			assert.Equal(t, report.Protected, res.Status)
			assert.Equal(t, "role "+roleB+" is protected", res.Error)
		default:
			assert.Equal(t, report.Removed, res.Status)
		}
		assert.Equal(t, res.Status.ApplyResult(), report.ApplyResult(map[report.Status]string{
			report.Protected: "ApplyNotSupported", report.Removed: "AppliedSuccessfully"}[res.Status]))
	}
	assert.Equal(t, []string{roleB, survivor}, f.tenant.Roles(f.users[0]))
	assert.Equal(t, []string{roleA, roleB, survivor}, f.tenant.Roles(f.users[1]), "the protected user was not touched")
	assert.Contains(t, notices, "4 removals touch protected users or roles: reported as protected, not sent")
	require.NotNil(t, r.Run)
	assert.True(t, r.Run.Flags.SkipProtected)
}

func TestRunEvidence(t *testing.T) {
	f := newFixture(t, 1)
	cfg := f.applyConfig()
	cfg.Operator = "alice@build-7"
	cfg.Verify = true
	cfg.MaxRemovals = 0
	cfg.Tenant.Reserve = 20
	cfg.ProtectRoles = []string{" " + survivor, survivor}
	r, err := Apply(context.Background(), cfg, Hooks{})
	var guard *reconcile.AbortError
	require.ErrorAs(t, err, &guard, "--max-removals 0 refuses")
	require.NotNil(t, r.Run)
	zero, twenty := 0, 20
	assert.Equal(t, report.Run{
		Operator: "alice@build-7",
		Checked:  false,
		Flags: report.RunFlags{Verify: true, MaxRemovals: &zero, Reserve: &twenty,
			ProtectRoles: []string{survivor}},
	}, *r.Run, "an API token has no client id to show")

	cfg = f.applyConfig()
	cfg.Tenant.Management.APIToken = ""
	cfg.Tenant.Management.ClientID = "cli_abc"
	cfg.Tenant.Management.ClientSecret = "s3cr3t-never-in-a-report"
	run := applyEvidence(cfg, true)
	assert.Equal(t, "cli_abc", run.ClientID)
	assert.Equal(t, Operator(), run.Operator)
	assert.Contains(t, run.Operator, "@")
	assert.Nil(t, run.Flags.MaxRemovals, "no limit given: none recorded")
	assert.True(t, run.Checked)
	encoded, err := json.Marshal(run)
	require.NoError(t, err)
	assert.NotContains(t, string(encoded), "s3cr3t")
}

func TestPlanEvidenceNamesTheExportSettings(t *testing.T) {
	src := Source{
		Path:   "../testdata/campaign/entra-review.csv",
		Preset: "entra-review",
		Map:    map[input.Field]string{input.FieldReason: "Justification", input.FieldUserEmail: "PrincipalUPN"},
		Where:  []input.Filter{{Column: "ReviewResult", Values: []string{"Deny", "NotReviewed"}}},
	}
	r, err := Plan(context.Background(), PlanConfig{Source: src, Operator: "bob@laptop"}, Hooks{})
	require.NoError(t, err)
	require.NotNil(t, r.Run)
	assert.Equal(t, report.Run{Operator: "bob@laptop", Flags: report.RunFlags{
		Preset: "entra-review",
		Map:    []string{"user_email=PrincipalUPN", "reason=Justification"},
		Where:  []string{"ReviewResult=Deny,NotReviewed"},
	}}, *r.Run)
	assert.Equal(t, 7, r.Summary.Excluded)
	assert.Equal(t, 10, r.Summary.Remove)
	assert.Equal(t, 17, r.Input.Rows, "input.rows counts the export's records, excluded ones too")
}

// A resumed run matches journaled groups by role id, although the journal
// holds the tenant's role names and the input gave none, and keeps the
// names in its report.
func TestResumeWithTenantNamesRetriesOnlyWhatDidNotFinish(t *testing.T) {
	f := newFixture(t, 4)
	f.tenant.SetFailNext(2, 503) // the preflight goes on; then the first user's read fails
	cfg := f.applyConfig()
	cfg.Check = true
	var first Summary
	r, err := Apply(context.Background(), cfg, Hooks{Finished: func(s Summary) { first = s }})
	require.NoError(t, err)
	require.Equal(t, 2, r.Summary.Failed)
	require.NotEmpty(t, first.Journal)
	deletesBefore := f.deletes()

	cfg.Resume = first.Journal
	cfg.Reports = []string{filepath.Join(f.dir, "resumed.json")}
	r, err = Apply(context.Background(), cfg, Hooks{})
	require.NoError(t, err)
	assert.Equal(t, report.Completed, r.Outcome)
	assert.Equal(t, 1, f.deletes()-deletesBefore, "only the failed group is sent again")
	for res := range r.Rows() {
		assert.NotEmpty(t, res.RoleName, "%s %s", res.UserID, res.RoleID)
	}
}
