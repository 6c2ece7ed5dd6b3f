package reconcile

import (
	"fmt"

	"github.com/rolesweep/rolesweep/report"
)

// FromSavedPlan rebuilds the plan that `plan --out` saved. It refuses a file
// whose content no longer matches its digest: a reviewed plan must be
// applied exactly as it was reviewed.
func FromSavedPlan(path string, r *report.Report) (*Plan, error) {
	if r.Command != "plan" {
		return nil, fmt.Errorf("%s is a %q report, not a saved plan", path, r.Command)
	}
	if err := r.CheckDigest(); err != nil {
		return nil, fmt.Errorf("%s cannot be applied as reviewed: %w; run plan --out again and review it", path, err)
	}
	p := &Plan{Input: r.Input, Duplicates: r.Summary.Duplicates, Excluded: r.Summary.Excluded, Unresolved: map[int]string{}}
	for i, res := range r.Results {
		p.Triples = append(p.Triples, Triple{
			OrganizationID: res.OrganizationID,
			UserID:         res.UserID,
			UserEmail:      res.UserEmail,
			RoleID:         res.RoleID,
			RoleName:       res.RoleName,
			Lines:          res.Lines,
			Reason:         res.Reason,
		})
		if res.Status == report.PlanUnresolved {
			p.Unresolved[i] = res.Error
		}
	}
	p.regroup()
	return p, nil
}

// Key identifies a group across runs: its organization and its user id (or
// email, for a user that never resolved).
func (g Group) Key() report.GroupKey { return report.KeyOf(g.OrganizationID, g.UserID, g.UserEmail) }
