package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/job"
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
	if len(p.Triples) == 0 {
		fmt.Fprintf(e.stdout, "%s: valid: %d rows, nothing to remove", p.Input.Path, p.Input.Rows-p.Excluded)
	} else {
		fmt.Fprintf(e.stdout, "%s: valid: %d rows, %d roles to remove from %d users",
			p.Input.Path, p.Input.Rows-p.Excluded, len(p.Triples), len(p.Groups))
	}
	if p.Duplicates > 0 {
		fmt.Fprintf(e.stdout, " (%d duplicate %s merged)", p.Duplicates, plural(p.Duplicates, "row", "rows"))
	}
	fmt.Fprintln(e.stdout, excludedNote(p))
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
	sweep, err := parseSweep(c)
	if err != nil {
		return job.PlanConfig{}, "", err
	}
	var src job.Source
	if sweep == nil {
		if src, err = source(c, e); err != nil {
			return job.PlanConfig{}, "", err
		}
	}
	cfg := job.PlanConfig{Source: src, Sweep: sweep, Check: c.Bool("check"), Tool: toolName(), Now: e.now}
	if cfg.Check || sweep != nil {
		cfg.Tenant, err = tenant(c, e)
	}
	return cfg, format, err
}

func cmdPlan(c *cli.Context, e env) error {
	e.state.quiet = c.Bool("quiet")
	cfg, format, err := parsePlan(c, e)
	if err != nil {
		return err
	}
	if out := c.String("out"); out != "" {
		// Before the check reads the tenant for minutes, not after.
		if err := report.CheckWritable(out); err != nil {
			return usagef("--out: %v", err)
		}
	}
	ctx, _, stop := e.interrupts(c.Context, false)
	defer stop()
	r, err := job.Plan(ctx, cfg, job.Hooks{})
	var unchecked *job.UncheckedError
	if r == nil {
		return err
	}
	if err != nil && !errors.As(err, &unchecked) {
		// A plan with rows the check could not classify is shown, never saved.
		_ = report.Write(e.stdout, format, r)
		return err
	}
	if out := c.String("out"); out != "" {
		if err := report.WriteFileFormat(out, "json", r); err != nil {
			return fmt.Errorf("writing the plan: %w", err)
		}
		e.notice(fmt.Sprintf("plan saved to %s (%s)", out, r.PlanDigest))
	}
	if err := report.Write(e.stdout, format, r); err != nil {
		return err
	}
	if unchecked != nil {
		fmt.Fprintln(e.stderr, "rolesweep: "+unchecked.Error())
		return &failuresError{failed: unchecked.Rows}
	}
	return nil
}

// parseApply turns apply's flags into its config.
func parseApply(c *cli.Context, e env) (job.ApplyConfig, error) {
	cfg := job.ApplyConfig{
		SavedPlan:     c.String("plan"),
		Check:         c.Bool("check") && !c.Bool("no-check"),
		Verify:        c.Bool("verify"),
		MaxRemovals:   c.Int("max-removals"),
		Reports:       c.StringSlice("report"),
		Stdout:        e.stdout,
		Journal:       c.String("journal"),
		Resume:        c.String("resume"),
		ProtectUsers:  c.StringSlice("protect-user"),
		ProtectRoles:  c.StringSlice("protect-role"),
		ProtectFile:   c.String("protect"),
		SkipProtected: c.Bool("skip-protected"),
		Tool:          toolName(),
		Now:           e.now,
	}
	var err error
	if cfg.Sweep, err = parseSweep(c); err != nil {
		return cfg, err
	}
	if cfg.SavedPlan == "" && cfg.Sweep == nil {
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
	out, err := parseOutputs(c)
	if err != nil {
		return err
	}
	cfg, err := parseApply(c, e)
	if err != nil {
		return err
	}
	cfg.Reports = out.Reports
	r, err := e.runChange(c, "apply", out, cfg.Tenant, func(ctx context.Context, hooks job.Hooks) (*report.Report, error) {
		return job.Apply(ctx, cfg, hooks)
	})
	if err == nil && r.Outcome != report.Completed {
		// The report's outcome decides, so the exit code and the evidence agree.
		return &failuresError{failed: r.Summary.Failed + r.Summary.Skipped + r.Summary.Protected}
	}
	return err
}

// runChange runs a command that changes the tenant (apply, undo) with what
// both need from the command line: interrupts, the confirmation prompt unless
// --yes, the progress display, and the end-of-run lines.
func (e env) runChange(c *cli.Context, command string, out job.Outputs, t job.Tenant,
	do func(context.Context, job.Hooks) (*report.Report, error)) (*report.Report, error) {
	ctx, hurry, stop := e.interrupts(c.Context, true)
	defer stop()
	e.began(command, out)
	hooks := job.Hooks{Notice: e.notice, Hurry: hurry}
	display := e.progress(c, t.Log, &hooks)
	hooks.Finished = func(s job.Summary) {
		display.finish(s.Report.Summary)
		e.ended(s)
	}
	if !c.Bool("yes") {
		hooks.Confirm = e.confirm
	}
	r, err := do(ctx, hooks)
	display.finish(report.Summary{})
	return r, err
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

// printSummary writes a run's summary lines: on standard output, or on
// standard error when a report goes to standard output.
func printSummary(e env, sum job.Summary) {
	w := e.stdout
	if e.state.out.ToStdout() {
		w = e.stderr
	}
	r, s := sum.Report, sum.Report.Summary
	if r.IsUndo() {
		fmt.Fprintf(w, "%s: restored %d · present %d · not_found %d · failed %d · unverified %d · skipped %d (%d roles, %d users; %d requests, %d retries, %d rate-limited)\n",
			r.Outcome, s.Restored, s.Present, s.NotFound, s.Failed, s.Unverified, s.Skipped, s.Roles, s.Users, s.Requests, s.Retries, s.RateLimited)
	} else {
		fmt.Fprintf(w, "%s: removed %d · absent %d · not_found %d · failed %d · skipped %d (%d roles, %d users; %d requests, %d retries, %d rate-limited)\n",
			r.Outcome, s.Removed, s.Absent, s.NotFound, s.Failed, s.Skipped, s.Roles, s.Users, s.Requests, s.Retries, s.RateLimited)
	}
	if s.Protected > 0 {
		fmt.Fprintf(w, "protected %d: rows touching a protected user or role were not sent (see the report)\n", s.Protected)
	}
	for _, line := range sum.Drift {
		fmt.Fprintln(w, "drift since the plan: "+line)
	}
	if r.AbortReason != "" {
		fmt.Fprintln(w, "aborted: "+r.AbortReason)
	}
	for _, p := range sum.Reports {
		fmt.Fprintln(w, "report: "+p)
	}
	if sum.Unwritten > 0 {
		fmt.Fprintf(w, "%d %s could not be written (see the error on standard error)\n", sum.Unwritten, plural(sum.Unwritten, "report", "reports"))
	}
	switch {
	case sum.Journal != "" && sum.Unwritten > 0:
		fmt.Fprintf(w, "journal: %s (the record of this run: to write the report, the same command with --resume %s)\n", sum.Journal, sum.Journal)
	case sum.Journal != "":
		fmt.Fprintf(w, "journal: %s (to retry what did not finish: the same command with --resume %s)\n", sum.Journal, sum.Journal)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
