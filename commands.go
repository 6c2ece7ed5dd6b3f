package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

func cmdValidate(c *cli.Context, e env) error {
	src, err := source(c, e)
	if err != nil {
		return err
	}
	p, err := job.Load(src)
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

// parsePlan turns plan's flags into its config.
func parsePlan(c *cli.Context, e env) (job.PlanConfig, string, error) {
	format := strings.ToLower(c.String("format"))
	switch format {
	case "text", "json", "csv", "md", "markdown":
	default:
		return job.PlanConfig{}, "", usagef("--format must be text, json, markdown or csv, not %q", c.String("format"))
	}
	src, err := source(c, e)
	if err != nil {
		return job.PlanConfig{}, "", err
	}
	cfg := job.PlanConfig{Source: src, Check: c.Bool("check"), Tool: toolName(), Now: e.now}
	if cfg.Check {
		cfg.Tenant, err = tenant(c, e)
	}
	return cfg, format, err
}

func cmdPlan(c *cli.Context, e env) error {
	cfg, format, err := parsePlan(c, e)
	if err != nil {
		return err
	}
	ctx, _, stop := e.interrupts(c.Context, false)
	defer stop()
	r, err := job.Plan(ctx, cfg, job.Hooks{})
	if err != nil {
		return err
	}
	if out := c.String("out"); out != "" {
		if err := report.WriteFileFormat(out, "json", r); err != nil {
			return fmt.Errorf("writing the plan: %w", err)
		}
		fmt.Fprintf(e.stderr, "plan saved to %s (%s)\n", out, r.PlanDigest)
	}
	return report.Write(e.stdout, format, r)
}

// parseApply turns apply's flags into its config.
func parseApply(c *cli.Context, e env) (job.ApplyConfig, error) {
	cfg := job.ApplyConfig{
		SavedPlan:    c.String("plan"),
		Check:        c.Bool("check"),
		Verify:       c.Bool("verify"),
		MaxRemovals:  c.Int("max-removals"),
		Reports:      c.StringSlice("report"),
		Journal:      c.String("journal"),
		Resume:       c.String("resume"),
		ProtectUsers: c.StringSlice("protect-user"),
		ProtectRoles: c.StringSlice("protect-role"),
		ProtectFile:  c.String("protect"),
		Tool:         toolName(),
		Now:          e.now,
	}
	var err error
	if cfg.SavedPlan == "" {
		if cfg.Source, err = source(c, e); err != nil {
			return cfg, err
		}
	} else if c.NArg() > 0 {
		return cfg, usagef("give either FILE or --plan PLAN.json, not both")
	}
	cfg.Tenant, err = tenant(c, e)
	return cfg, err
}

func cmdApply(c *cli.Context, e env) error {
	cfg, err := parseApply(c, e)
	if err != nil {
		return err
	}
	ctx, hurry, stop := e.interrupts(c.Context, true)
	defer stop()
	hooks := job.Hooks{
		Notice:   func(msg string) { fmt.Fprintln(e.stderr, msg) },
		Finished: func(s job.Summary) { printSummary(e, s) },
		Hurry:    hurry,
	}
	if !c.Bool("yes") {
		hooks.Confirm = e.confirm
	}
	if !c.Bool("quiet") {
		hooks.Progress = func(p *reconcile.Progress, stats func() pacer.Stats) func() {
			return startProgress(e, cfg.Tenant.Log, p, stats)
		}
	}
	r, err := job.Apply(ctx, cfg, hooks)
	if err == nil && r.Outcome != report.Completed {
		// The report's outcome decides, so the exit code and the evidence agree.
		return &failuresError{failed: r.Summary.Failed + r.Summary.Skipped}
	}
	return err
}

// confirm asks on a terminal; elsewhere --yes is required.
func (e env) confirm(ctx context.Context, c job.Confirmation) error {
	command := "apply"
	if c.Restore {
		command = "undo"
	}
	if !e.terminal(e.stdin) {
		return usagef("%s changes the tenant: pass --yes to confirm when standard input is not a terminal", command)
	}
	e.prompting.Store(true)
	defer e.prompting.Store(false)
	verb, prep := "remove", "from"
	if c.Restore {
		verb, prep = "restore", "to"
	}
	fmt.Fprintf(e.stderr, "About to %s %d roles %s %d users on %s.\nType yes to continue: ", verb, c.Removals, prep, c.Users, c.Domain)
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		answered <- line
	}()
	select {
	case line := <-answered:
		if answer := strings.ToLower(strings.TrimSpace(line)); answer != "yes" && answer != "y" {
			return usagef("not confirmed; nothing was sent")
		}
		return nil
	case <-ctx.Done():
		fmt.Fprintln(e.stderr)
		reason := "interrupted"
		var abort *reconcile.AbortError
		if errors.As(context.Cause(ctx), &abort) {
			reason = abort.Reason
		}
		return &reconcile.AbortError{Reason: reason + " at the confirmation prompt; nothing was sent"}
	}
}

func printSummary(e env, sum job.Summary) {
	r, s, w := sum.Report, sum.Report.Summary, e.stdout
	fmt.Fprintf(w, "%s: removed %d · absent %d · not_found %d · failed %d · skipped %d (%d roles, %d users; %d requests, %d retries, %d rate-limited)\n",
		r.Outcome, s.Removed, s.Absent, s.NotFound, s.Failed, s.Skipped, s.Roles, s.Users, s.Requests, s.Retries, s.RateLimited)
	for _, line := range sum.Drift {
		fmt.Fprintln(w, "drift since the plan: "+line)
	}
	if r.AbortReason != "" {
		fmt.Fprintln(w, "aborted: "+r.AbortReason)
	}
	for _, p := range sum.Reports {
		fmt.Fprintln(w, "report: "+p)
	}
	if sum.Journal != "" {
		fmt.Fprintf(w, "journal: %s (to retry what did not finish: the same command with --resume %s)\n", sum.Journal, sum.Journal)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
