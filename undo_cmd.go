package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

func undoCommand(e env) *cli.Command {
	return &cli.Command{
		Name:      "undo",
		Usage:     "put back the roles an earlier apply removed, from its JSON report",
		ArgsUsage: "REPORT.json",
		Description: "Re-assigns every role the report shows as removed, if the run read it as assigned first (apply's check).\n" +
			"Roles assigned again since are found present and not sent. A report of another tenant, an edited\n" +
			"report (report_digest), a plan or an undo report is refused (exit 2). Exit 0 when every removal is\n" +
			"restored or present; 1 when any is failed, not_found or unverified.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Category: "Safety", Usage: "print what would be restored and send nothing: no request at all, so roles assigned again since are not told apart"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Category: "Safety", Usage: "do not ask for confirmation (required when stdin is not a terminal)"},
			&cli.BoolFlag{Name: "include-unverified", Category: "Safety", Usage: "also re-assign removals of a run that did not read roles first (--no-check); this could grant roles users never held"},
			&cli.BoolFlag{Name: "no-check", Category: "Safety", Usage: "do not read current roles first; every role is sent (Auth0 accepts assigning a held role). Default: read, so held roles are present"},
			&cli.StringSliceFlag{Name: "report", Category: "Reports and logs", Usage: "write the undo report to `FILE` (.json, .csv or .md); may be repeated (default: rolesweep-undo-<UTC time>.json)"},
			&cli.StringFlag{Name: "journal", Category: "Reports and logs", Usage: "journal `FILE` (default: next to the first report)"},
			&cli.StringFlag{Name: "resume", Category: "Reports and logs", Usage: "resume the undo recorded in the journal `FILE`"},
		}, tenantFlags()...),
		Action: func(c *cli.Context) error { return cmdUndo(c, e) },
	}
}

// parseUndo turns undo's flags into its config.
func parseUndo(c *cli.Context, e env) (job.UndoConfig, error) {
	if c.NArg() != 1 {
		return job.UndoConfig{}, usagef("undo needs exactly one REPORT.json argument: the JSON report of the apply to undo")
	}
	cfg := job.UndoConfig{
		Report:            c.Args().First(),
		Check:             !c.Bool("no-check"),
		IncludeUnverified: c.Bool("include-unverified"),
		Reports:           c.StringSlice("report"),
		Journal:           c.String("journal"),
		Resume:            c.String("resume"),
		Tool:              toolName(),
		Now:               e.now,
	}
	var err error
	cfg.Tenant, err = tenant(c, e)
	return cfg, err
}

func cmdUndo(c *cli.Context, e env) error {
	cfg, err := parseUndo(c, e)
	if err != nil {
		return err
	}
	if c.Bool("dry-run") {
		prev, err := job.PreviewUndo(cfg)
		if err != nil {
			return err
		}
		return prev.WriteText(e.stdout)
	}
	ctx, hurry, stop := e.interrupts(c.Context, true)
	defer stop()
	hooks := job.Hooks{
		Notice:   func(msg string) { fmt.Fprintln(e.stderr, msg) },
		Finished: func(s job.Summary) { printUndoSummary(e, s) },
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
	r, err := job.Undo(ctx, cfg, hooks)
	if err == nil && r.Outcome != report.Completed {
		s := r.Summary
		return &failuresError{failed: s.Failed + s.NotFound + s.Unverified + s.Skipped}
	}
	return err
}

func printUndoSummary(e env, sum job.Summary) {
	r, s, w := sum.Report, sum.Report.Summary, e.stdout
	fmt.Fprintf(w, "%s: restored %d · present %d · not_found %d · failed %d · unverified %d · skipped %d (%d roles, %d users; %d requests, %d retries, %d rate-limited)\n",
		r.Outcome, s.Restored, s.Present, s.NotFound, s.Failed, s.Unverified, s.Skipped, s.Roles, s.Users, s.Requests, s.Retries, s.RateLimited)
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
