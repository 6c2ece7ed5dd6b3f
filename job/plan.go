package job

import (
	"context"
	"fmt"
	"time"

	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// Plan is one `plan`: every triple planned for removal offline, or, with
// Check, classified against the tenant (remove, absent, not_found,
// unresolved) through a reader that cannot remove anything.
func Plan(ctx context.Context, cfg PlanConfig, _ Hooks) (*report.Report, error) {
	if cfg.Sweep != nil {
		return planSweep(ctx, cfg)
	}
	p, err := Load(cfg.Source)
	if err != nil {
		return nil, err
	}
	if !cfg.Check {
		// Offline every triple is planned for removal; names stay
		// unresolved until the tenant is asked.
		return planReport(p, reconcile.Rows{Plan: p, Every: reconcile.Outcome{Status: report.PlanRemove}}, "", cfg.Tool, now(cfg.Now)), nil
	}
	s, err := connect(cfg.Tenant)
	if err != nil {
		return nil, err
	}
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	if err := s.resolve(ctx, p); err != nil {
		return nil, err
	}
	out := p.Outcomes(report.Skipped, report.PlanUnresolved)
	c := &reconcile.Checker{Reader: s.client, Pacer: s.pacer, Concurrency: s.cfg.Concurrency, Log: s.cfg.Log}
	if err := c.Check(ctx, p, out); err != nil {
		return nil, err
	}
	r := planReport(p, reconcile.Rows{Plan: p, Outcomes: out}, s.client.Domain(), cfg.Tool, now(cfg.Now))
	s.count(&r.Summary)
	return r, checkVerdict(r)
}

// UncheckedError says that a plan --check could not read some users' roles
// for reasons that may pass (429s, 5xx, timeouts): those rows are planned as
// remove, with the reason in their error, which is what apply would do
// anyway (it sends them and learns the truth). The plan is complete and may
// be saved, but the check was not: the command exits 1, never 0.
type UncheckedError struct{ Rows int }

func (e *UncheckedError) Error() string {
	return fmt.Sprintf("%d roles could not be checked against the tenant; they are planned as remove, with the reason", e.Rows)
}

// checkVerdict decides what a checked plan may claim. A row whose status is
// not a planned action (failed: an unreadable answer, a 4xx) has no place
// in a plan that apply --plan will take as reviewed: that is an
// *reconcile.AbortError (exit 3), and the plan must not be saved. Rows
// planned as remove only because their read failed are an *UncheckedError.
func checkVerdict(r *report.Report) error {
	unknown, unchecked := 0, 0
	var first string
	for res := range r.Rows() {
		switch res.Status {
		case report.PlanRemove:
			if res.Error != "" {
				unchecked++
			}
		case report.PlanAbsent, report.PlanNotFound, report.PlanUnresolved:
		default:
			if unknown == 0 {
				first = fmt.Sprintf("%s %s: %s", res.UserID+res.UserEmail, res.RoleID+res.RoleName, res.Error)
			}
			unknown++
		}
	}
	switch {
	case unknown > 0:
		return &reconcile.AbortError{Reason: fmt.Sprintf(
			"the check could not tell what to do with %d roles (first: %s); the plan was not saved", unknown, first)}
	case unchecked > 0:
		return &UncheckedError{Rows: unchecked}
	}
	return nil
}

// planReport renders a plan as a report whose statuses are planned actions.
func planReport(p *reconcile.Plan, rows reconcile.Rows, domain, tool string, at time.Time) *report.Report {
	r := &report.Report{
		Version:    report.Version,
		Tool:       tool,
		Command:    "plan",
		Domain:     domain,
		Input:      p.Input,
		StartedAt:  at,
		FinishedAt: at,
		Outcome:    report.Planned,
	}
	r.Join(rows)
	r.Summary.Duplicates = p.Duplicates
	r.Tally()
	r.PlanDigest = report.Digest(r)
	return r
}

// offlineDigest identifies what an apply of p was asked to do: the digest
// of p's offline plan, as plan --out would have saved it.
func offlineDigest(p *reconcile.Plan) string {
	r := &report.Report{Version: report.Version, Command: "plan", Input: p.Input}
	r.Join(reconcile.Rows{Plan: p, Every: reconcile.Outcome{Status: report.PlanRemove}})
	return report.Digest(r)
}
