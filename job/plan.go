package job

import (
	"context"
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
	return r, nil
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
