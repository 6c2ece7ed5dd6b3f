package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

func cmdValidate(c *cli.Context, e env) error {
	p, err := readPlan(c, e)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: valid: %d rows, %d roles to remove from %d users",
		p.Input.Path, p.Input.Rows, len(p.Triples), len(p.Groups))
	if p.Duplicates > 0 {
		fmt.Fprintf(e.stdout, " (%d duplicate %s merged)", p.Duplicates, plural(p.Duplicates, "row", "rows"))
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// planReport renders a plan as a report whose statuses are planned actions.
func planReport(p *reconcile.Plan, results []report.Result, domain string, e env) *report.Report {
	now := e.now().UTC()
	r := &report.Report{
		Version:    report.Version,
		Tool:       toolName(),
		Command:    "plan",
		Domain:     domain,
		Input:      p.Input,
		StartedAt:  now,
		FinishedAt: now,
		Outcome:    report.Planned,
		Results:    results,
	}
	r.Summary.Duplicates = p.Duplicates
	r.Tally()
	r.PlanDigest = report.Digest(r)
	return r
}

func cmdPlan(c *cli.Context, e env) error {
	format := strings.ToLower(c.String("format"))
	switch format {
	case "text", "json", "csv", "md", "markdown":
	default:
		return usagef("--format must be text, json, markdown or csv, not %q", c.String("format"))
	}
	p, err := readPlan(c, e)
	if err != nil {
		return err
	}
	var (
		results []report.Result
		domain  string
		stats   pacer.Stats
	)
	if c.Bool("check") {
		t, err := connect(c, e)
		if err != nil {
			return err
		}
		domain = t.client.Domain()
		ctx, stop := interruptible(c.Context, e.signals)
		defer stop()
		results, err = t.check(ctx, p)
		stats = t.pacer.Stats()
		if err != nil {
			return err
		}
	} else {
		// Offline every triple is planned for removal; names stay unresolved
		// until the tenant is asked.
		results = p.Results(report.PlanRemove, report.PlanRemove)
	}
	r := planReport(p, results, domain, e)
	r.Summary.Requests, r.Summary.Retries, r.Summary.RateLimited = stats.Requests, stats.Retries, stats.RateLimited
	if out := c.String("out"); out != "" {
		if err := report.WriteFileFormat(out, "json", r); err != nil {
			return fmt.Errorf("writing the plan: %w", err)
		}
		fmt.Fprintf(e.stderr, "plan saved to %s (%s)\n", out, r.PlanDigest)
	}
	return report.Write(e.stdout, format, r)
}

// tenant is a connected client with its pacer, for the commands that talk to
// a tenant.
type tenant struct {
	client      *management.Client
	pacer       *pacer.Pacer
	concurrency int
	log         *slog.Logger
}

func connect(c *cli.Context, e env) (*tenant, error) {
	client, err := management.New(clientConfig(c))
	if err != nil {
		return nil, err
	}
	if c.Int("concurrency") < 1 {
		return nil, usagef("--concurrency must be at least 1")
	}
	if c.Int("max-retries") < 0 {
		return nil, usagef("--max-retries must not be negative")
	}
	if r := c.Float64("rate"); r < 0 {
		return nil, usagef("--rate must not be negative")
	}
	if r := c.Float64("reserve"); r < 0 || r >= 100 {
		return nil, usagef("--reserve is a percentage from 0 to 99")
	}
	log, err := newLogger(c, e)
	if err != nil {
		return nil, err
	}
	return &tenant{
		client: client,
		pacer: pacer.New(pacer.Config{
			Rate:       c.Float64("rate"),
			MaxRetries: c.Int("max-retries"),
			Reserve:    c.Float64("reserve") / 100,
		}),
		concurrency: c.Int("concurrency"),
		log:         log,
	}, nil
}

// check resolves names and reads every group's current roles without
// changing anything: the plan's statuses become remove, absent, not_found
// or unresolved.
func (t *tenant) check(ctx context.Context, p *reconcile.Plan) ([]report.Result, error) {
	if err := t.resolve(ctx, p); err != nil {
		return nil, err
	}
	results := p.Results(report.Skipped, report.PlanUnresolved)
	x := &reconcile.Executor{API: t.client, Pacer: t.pacer, Concurrency: t.concurrency, Check: true, DryRun: true, Log: t.log}
	if err := x.Execute(ctx, ctx, p, results, nil); err != nil {
		return nil, err
	}
	return results, nil
}

func (t *tenant) resolve(ctx context.Context, p *reconcile.Plan) error {
	if !p.NeedsResolving() {
		return nil
	}
	r := &reconcile.Resolver{API: t.client, Pacer: t.pacer, Concurrency: t.concurrency}
	return r.Resolve(ctx, p)
}

func newLogger(c *cli.Context, e env) (*slog.Logger, error) {
	level := slog.LevelInfo
	if c.Bool("quiet") {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	default:
		return nil, usagef("--log-format must be text or json, not %q", c.String("log-format"))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
