// Package reconcile turns validated input rows into a plan — grouped per
// (organization, user), deduplicated, resolved and checked against the
// tenant — and executes it. Every input triple owns exactly one result slot,
// so a failure in the middle of a run loses nothing.
package reconcile

import (
	"strings"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
)

// Triple is one distinct requested (organization, user, role) removal.
// Identical triples from several input lines are merged into one, keeping
// all their lines.
type Triple struct {
	OrganizationID string
	UserID         string // from the input, or resolved from UserEmail
	UserEmail      string
	RoleID         string // from the input, or resolved from RoleName
	RoleName       string
	Lines          []int
	Reason         string // distinct reasons of the merged lines, joined with "; "
	// Unresolved says why the email or role name did not resolve to exactly
	// one user or role; such a triple is never sent.
	Unresolved string
}

// Group is the set of triples sent in one DELETE: same organization, same user.
type Group struct {
	OrganizationID string
	UserID         string
	UserEmail      string
	Triples        []int // indexes into Plan.Triples, in input order
}

// Plan is everything a run will do, in a deterministic order: groups in the
// order their user first appears in the input, roles in input order.
type Plan struct {
	Input      report.Input
	Triples    []Triple
	Groups     []Group
	Duplicates int // input rows merged into an earlier identical triple
}

type tripleKey struct{ org, user, role string }
type groupKey struct{ org, user string }

// userKey and roleKey follow the contract's precedence: an id wins over an
// email or a name when both are given.
func userKey(id, email string) string {
	if id != "" {
		return "id:" + id
	}
	return "email:" + email
}

func roleKey(id, name string) string {
	if id != "" {
		return "id:" + id
	}
	return "name:" + name
}

// Build groups and deduplicates validated rows. It makes no network calls:
// emails and role names stay unresolved until Resolve.
func Build(src *input.Source) *Plan {
	p := &Plan{Input: report.Input{
		Path:   src.Path,
		Format: string(src.Format),
		SHA256: src.SHA256,
		Rows:   src.Records,
	}}
	triples := make(map[tripleKey]int, len(src.Rows))
	for _, row := range src.Rows {
		t := Triple{
			OrganizationID: row.OrganizationID,
			UserID:         row.UserID,
			UserEmail:      row.UserEmail,
			RoleID:         row.RoleID,
			RoleName:       row.RoleName,
			Lines:          []int{row.Line},
			Reason:         row.Reason,
		}
		k := tripleKey{row.OrganizationID, userKey(row.UserID, row.UserEmail), roleKey(row.RoleID, row.RoleName)}
		if i, ok := triples[k]; ok {
			p.Triples[i].merge(t)
			p.Duplicates++
			continue
		}
		triples[k] = len(p.Triples)
		p.Triples = append(p.Triples, t)
	}
	p.regroup()
	return p
}

func (t *Triple) merge(o Triple) {
	t.Lines = append(t.Lines, o.Lines...)
	if t.UserEmail == "" {
		t.UserEmail = o.UserEmail
	}
	if t.RoleName == "" {
		t.RoleName = o.RoleName
	}
	if o.Reason != "" && !containsReason(t.Reason, o.Reason) {
		if t.Reason == "" {
			t.Reason = o.Reason
		} else {
			t.Reason += "; " + o.Reason
		}
	}
}

func containsReason(joined, r string) bool {
	for _, s := range strings.Split(joined, "; ") {
		if s == r {
			return true
		}
	}
	return false
}

// regroup rebuilds Groups from Triples. It runs again after resolution, when
// a user named by email in one row and by id in another turn out to be the
// same user and so belong in one request.
func (p *Plan) regroup() {
	index := make(map[groupKey]int)
	p.Groups = p.Groups[:0]
	for i, t := range p.Triples {
		k := groupKey{t.OrganizationID, userKey(t.UserID, t.UserEmail)}
		g, ok := index[k]
		if !ok {
			g = len(p.Groups)
			index[k] = g
			p.Groups = append(p.Groups, Group{OrganizationID: t.OrganizationID, UserID: t.UserID, UserEmail: t.UserEmail})
		}
		p.Groups[g].Triples = append(p.Groups[g].Triples, i)
	}
}

// Results returns one result slot per triple: status todo for the work to do,
// unresolved (with the reason as its error) for triples that cannot be sent.
func (p *Plan) Results(todo, unresolved report.Status) []report.Result {
	rs := make([]report.Result, len(p.Triples))
	for i, t := range p.Triples {
		st := todo
		if t.Unresolved != "" {
			st = unresolved
		}
		rs[i] = report.Result{
			UserID:         t.UserID,
			UserEmail:      t.UserEmail,
			OrganizationID: t.OrganizationID,
			RoleID:         t.RoleID,
			RoleName:       t.RoleName,
			Status:         st,
			Error:          t.Unresolved,
			Lines:          t.Lines,
			Reason:         t.Reason,
		}
	}
	return rs
}
