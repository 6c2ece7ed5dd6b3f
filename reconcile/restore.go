package reconcile

import (
	"context"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/report"
)

// Assigner is the part of the client that assigns roles: what `undo` sends
// (POST /api/v2/users/{id}/roles and the organization member roles POST).
// *management.Client implements it.
type Assigner interface {
	AssignUserRoles(ctx context.Context, userID string, roleIDs []string) (management.Response, error)
	AssignOrganizationMemberRoles(ctx context.Context, orgID, userID string, roleIDs []string) (management.Response, error)
}

// RestoreAPI reads and assigns: what an undo run needs. It has no way to
// remove a role, so an undo cannot make things worse by its type.
type RestoreAPI interface {
	Reader
	Assigner
}

// assignment is undo's action: one POST per (organization, user) group,
// sent only for roles the check found unassigned.
func assignment(api Assigner) action {
	return action{
		doing: "assigning roles", done: report.Restored, unchanged: report.Present, onHeld: false,
		notStuck: "not assigned after it was restored", splitNotFound: true,
		send: func(ctx context.Context, g Group, roleIDs []string) (management.Response, error) {
			if g.OrganizationID != "" {
				return api.AssignOrganizationMemberRoles(ctx, g.OrganizationID, g.UserID, roleIDs)
			}
			return api.AssignUserRoles(ctx, g.UserID, roleIDs)
		},
	}
}

// Restore assigns the roles of p back to their users, with everything
// Execute does for removals: the shared pacer, bounded concurrency, the
// grace period, GroupDone after each finished group, and with Check a read
// of each group's current roles first, so a role held again is `present`
// and not sent. Success is `restored`; with Verify a role the read-back does
// not find becomes `failed`. out and groups are as for Execute. e.API is not
// used: every request goes through api, which cannot remove anything.
func (e *Executor) Restore(ctx context.Context, api RestoreAPI, p *Plan, out []Outcome, groups []int) error {
	return e.run(ctx, api, assignment(api), p, out, groups)
}

// UndoPlan is the plan of putting back what an apply report removed: one
// triple per `removed` result, grouped per (organization, user) like the
// removals were, in report order, keeping each result's input lines and
// reason. Results with any other status changed nothing and have no place
// in it. source says which result of r each triple comes from.
func UndoPlan(r *report.Report) (p *Plan, source []int) {
	p = &Plan{Input: r.Input, Unresolved: map[int]string{}}
	index := newTripleIndex(0)
	i := -1
	for res := range r.Rows() {
		i++
		if res.Status != report.Removed {
			continue
		}
		t := Triple{
			UserID: res.UserID, UserEmail: res.UserEmail, OrganizationID: res.OrganizationID,
			RoleID: res.RoleID, RoleName: res.RoleName, Lines: res.Lines, Reason: res.Reason,
		}
		// A merged report never holds a triple twice; should an edited one,
		// the role is assigned once.
		if j, ok := index.find(p.Triples, &t); ok {
			merge(&p.Triples[j], &t)
			p.Duplicates++
			continue
		}
		index.add(&t, len(p.Triples))
		p.Triples = append(p.Triples, t)
		source = append(source, i)
	}
	p.regroup()
	return p, source
}
