package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/report"
)

func undoCommand(e env) *cli.Command {
	return &cli.Command{
		Name:      "undo",
		Usage:     "put back the roles an earlier apply removed, from its JSON report",
		ArgsUsage: "REPORT.json",
		Description: "Examples:\n" +
			"  rolesweep undo run.json --dry-run\n" +
			"  rolesweep undo run.json --yes --report run.undo.json\n" +
			"\n" +
			"Re-assigns every role the report shows as removed and read as assigned before the run\n" +
			"(apply's check), one request per user, paced and journaled like apply. Roles assigned again\n" +
			"since are found present and not sent. A report of another tenant, an edited report\n" +
			"(report_digest), a plan or an undo report is refused (exit 2). Exit 0 when every removal is\n" +
			"restored or present; 1 when any is failed, not_found or unverified.",
		Flags:  undoFlags(),
		Action: func(c *cli.Context) error { return cmdUndo(c, e) },
	}
}

func undoFlags() []cli.Flag {
	outputs := outputFlags()
	for i, f := range outputs {
		if r, ok := f.(*cli.StringSliceFlag); ok && r.Name == "report" {
			undoReport := *r
			undoReport.DefaultText = "rolesweep-undo-<UTC time>.json"
			undoReport.Usage = "write the undo report to `[FORMAT:]FILE` (.json, .csv, .md, or a json:, csv: or md: prefix; - is standard output); repeatable"
			outputs[i] = &undoReport
		}
	}
	return concat([]cli.Flag{
		&cli.BoolFlag{Name: "dry-run", Category: catSafety, Usage: "print what would be restored and send nothing: no request at all, so roles assigned again since are not told apart"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Category: catSafety, Usage: "do not ask for confirmation (required when standard input is not a terminal)"},
		&cli.BoolFlag{Name: "include-unverified", Category: catSafety, Usage: "also re-assign removals of a run that did not read roles first (--no-check); this could grant roles users never held"},
		&cli.BoolFlag{Name: "no-check", Category: catSafety, Usage: "do not read current roles first: every role is sent, held or not (default: read first, so roles held again are present and not sent)"},
		&cli.StringFlag{Name: "journal", Category: catSafety, Usage: "journal `FILE` of finished users, for --resume (default: <first report>.journal.jsonl)"},
		&cli.StringFlag{Name: "resume", Category: catSafety, Usage: "resume the undo recorded in `JOURNAL`; users already finished are not sent again"},
	}, outputs, tenantFlags())
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
		Stdout:            e.stdout,
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
	out, err := parseOutputs(c)
	if err != nil {
		return err
	}
	cfg, err := parseUndo(c, e)
	if err != nil {
		return err
	}
	cfg.Reports = out.Reports
	if c.Bool("dry-run") {
		prev, err := job.PreviewUndo(cfg)
		if err != nil {
			return err
		}
		return prev.WriteText(e.stdout)
	}
	r, err := e.runChange(c, "undo", out, cfg.Tenant, func(ctx context.Context, hooks job.Hooks) (*report.Report, error) {
		return job.Undo(ctx, cfg, hooks)
	})
	if err == nil && r.Outcome != report.Completed {
		s := r.Summary
		return &failuresError{failed: s.Failed + s.NotFound + s.Unverified + s.Skipped}
	}
	return err
}
