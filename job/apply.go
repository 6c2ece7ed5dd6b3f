package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/journal"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// applyRun is one apply: its immutable plan, its own outcomes and where it
// reports.
type applyRun struct {
	cfg     ApplyConfig
	hooks   Hooks
	plan    *reconcile.Plan
	saved   *report.Report // the reviewed plan, with SavedPlan
	out     []reconcile.Outcome
	session *session
	journal *journalRun
	report  *report.Report
	targets []report.Target
	// checked: the current assignments were read before anything was
	// removed (the report's run.checked).
	checked bool
	keep    *input.KeepList // a sweep's keep list, read before connecting
	drift   []string        // holders who gained a swept role since a saved plan
}

// Apply removes the roles of the input (or of a saved plan), journals every
// finished group, and writes the report wherever cfg asks. The report is
// returned whenever it was written, also with an *reconcile.AbortError; a
// nil error with an outcome other than completed means some roles were not
// removed.
func Apply(ctx context.Context, cfg ApplyConfig, hooks Hooks) (*report.Report, error) {
	a := &applyRun{cfg: cfg, hooks: hooks}
	if err := a.load(); err != nil {
		return nil, err
	}
	protection, err := a.protection()
	if err != nil {
		return nil, err
	}
	if err := a.reportPaths(); err != nil {
		return nil, err
	}
	if err := checkWritable("reports", a.reportFiles()...); err != nil {
		return nil, err
	}
	if a.session, err = connect(cfg.Tenant); err != nil {
		return nil, err
	}
	domain := a.session.client.Domain()
	if a.saved != nil && a.saved.Domain != "" && a.saved.Domain != domain {
		return nil, fmt.Errorf("the plan was made for tenant %s, not %s", a.saved.Domain, domain)
	}
	if cfg.Sweep != nil {
		// Only reads: a role or keep list that does not resolve stops the
		// run before the first DELETE, like a bad input file. The tenant
		// is proven reachable first, as for a file.
		if err := a.session.preflight(ctx); err != nil {
			return nil, err
		}
		if a.plan, err = a.session.sweepPlan(ctx, cfg.Sweep, a.keep); err != nil {
			return nil, err
		}
		if v := a.plan.Violations(protection, sweepLabel(a.plan.Input)); len(v) > 0 && !cfg.SkipProtected {
			return nil, &ProtectedError{Violations: v}
		}
	}
	started := now(cfg.Now)
	digest := offlineDigest(a.plan)
	if a.saved != nil {
		digest = a.saved.PlanDigest
	}
	header := journal.Header{
		Journal: 1, Tool: cfg.Tool, Domain: domain,
		InputPath: a.plan.Input.Path, InputSHA256: a.plan.Input.SHA256,
		PlanDigest: digest, StartedAt: started,
	}
	want := header
	if cfg.Sweep != nil {
		// A resumed sweep reads the holders again, and those the first run
		// removed are gone: the sweep (roles, keep list: the input sha256)
		// identifies it, not the digest of the holders read.
		want.PlanDigest = ""
	}
	a.journal, err = prepareJournal(cfg, want, a.journalBeside())
	if err != nil {
		return nil, err
	}
	a.journal.header = header
	if cfg.Sweep != nil && a.journal.resuming {
		includeJournaled(a.plan, a.journal)
		digest = offlineDigest(a.plan)
	}
	defer func() {
		if a.journal.writer != nil {
			a.journal.writer.Close() // only on a path that skipped finish; closing twice is fine
		}
	}()

	a.out = a.plan.Outcomes(report.Skipped, report.Failed)
	a.report = &report.Report{
		Version: report.Version, Tool: cfg.Tool, Command: "apply", Domain: domain,
		Input: a.plan.Input, PlanDigest: digest, StartedAt: started,
		// undo re-assigns only removals that were read as held first.
		Run: &report.Run{Checked: cfg.Check || a.saved != nil, Flags: report.RunFlags{Verify: cfg.Verify}},
	}
	a.report.Summary.Duplicates, a.report.Summary.Excluded = a.plan.Duplicates, a.plan.Excluded
	a.report.Run = a.evidence()

	// Unchecked, the guard needs nothing from the tenant: nothing is sent.
	a.checked = cfg.Check || a.saved != nil
	if !a.checked && cfg.MaxRemovals >= 0 && a.plan.Removals() > cfg.MaxRemovals {
		return a.finish(&reconcile.AbortError{Reason: fmt.Sprintf(
			"guard: the plan would remove %d roles, more than --max-removals %d; nothing was sent", a.plan.Removals(), cfg.MaxRemovals)})
	}

	// Confirmation comes before anything is sent, reads included; it
	// counts the planned removals, which the read phase may lower.
	if hooks.Confirm != nil {
		if err := hooks.Confirm(ctx, Confirmation{Removals: a.plan.Removals(), Users: len(a.plan.Groups), Domain: domain}); err != nil {
			var abort *reconcile.AbortError
			if errors.As(err, &abort) {
				return a.finish(err)
			}
			return nil, err
		}
	}

	// One request proves the tenant usable before a request per row could
	// fail one by one (after the prompt, which comes before anything is sent).
	if cfg.Sweep == nil { // a sweep's preflight came before its reads
		if err := a.session.preflight(ctx); err != nil {
			return a.finish(err)
		}
	}
	if err := a.session.resolve(ctx, a.plan); err != nil {
		return a.finish(err)
	}
	// Resolution filled in ids and may have merged groups; from here on the
	// plan does not change.
	a.out = a.plan.Outcomes(report.Skipped, report.Failed)
	if cfg.SkipProtected {
		if n := a.plan.Protected(protection, a.out, reconcile.Outcome{Status: report.Protected}); n > 0 {
			hooks.notice(fmt.Sprintf("%d %s touch protected users or roles: reported as protected, not sent", n, plural(n, "removal", "removals")))
		}
	} else if v := a.plan.Violations(protection, a.plan.Input.Path); len(v) > 0 {
		return nil, &ProtectedError{Violations: v}
	}
	todo := a.journal.restore(a.plan, a.out)

	x := &reconcile.Executor{
		API:         a.session.client,
		Pacer:       a.session.pacer,
		Concurrency: a.session.cfg.Concurrency,
		// A sweep just read its holders: that listing is the check, unless
		// a resumed run added groups from its journal, which are read.
		Check:  a.checked && (cfg.Sweep == nil || a.journal.resuming),
		Verify: cfg.Verify,
		Log:    a.session.cfg.Log,
		Hurry:  hooks.Hurry,
		GroupDone: func(gi int, out []reconcile.Outcome) error {
			hooks.settled(a.plan.Groups[gi].Triples, out)
			return a.journal.record(a.plan, gi, out, now(cfg.Now))
		},
	}
	// The read phase comes before the guard and the first DELETE, so both
	// count only roles really assigned; a resumed run reads again what its
	// journal does not show finished.
	if a.checked {
		if x.Check {
			if err := x.Read(ctx, a.plan, a.out, todo); err != nil {
				return a.finish(err)
			}
		}
		if a.saved != nil && a.plan.Input.Sweep != nil {
			a.drift = a.session.sweepDrift(ctx, a.plan)
		}
		removals := reconcile.Removing(a.plan, a.out, todo)
		if cfg.MaxRemovals >= 0 && removals > cfg.MaxRemovals {
			return a.finish(&reconcile.AbortError{Reason: fmt.Sprintf(
				"guard: %d of the planned roles are assigned, more than --max-removals %d; nothing was removed", removals, cfg.MaxRemovals)})
		}
	}
	// Only now will something be sent: the journal is created (a new run)
	// or announced (a resumed one).
	if err := a.journal.open(hooks); err != nil {
		return nil, err
	}
	stop := func() {}
	if hooks.Progress != nil {
		stop = hooks.Progress(&x.Progress, a.session.pacer.Stats)
	}
	runErr := x.Execute(ctx, a.plan, a.out, todo)
	stop()
	return a.finish(runErr)
}

// load reads the input or the saved plan.
func (a *applyRun) load() error {
	if a.cfg.Sweep != nil {
		if err := a.cfg.Sweep.check(a.cfg.Source, a.cfg.SavedPlan); err != nil {
			return err
		}
		var err error
		a.keep, err = a.cfg.Sweep.readKeep()
		return err // the plan is read from the tenant once connected
	}
	if a.cfg.SavedPlan == "" {
		p, err := Load(a.cfg.Source)
		a.plan = p
		return err
	}
	if a.cfg.Source.Path != "" {
		return configErrorf("saved_plan", "give either FILE or a saved plan, not both")
	}
	var err error
	a.plan, a.saved, err = loadSaved(a.cfg.SavedPlan)
	return err
}

// protection gathers the protected users and roles and refuses, before
// anything is sent, an input that names one by id. Users and roles named by
// email or role name are checked again once resolved.
func (a *applyRun) protection() (reconcile.Protection, error) {
	pr := reconcile.Protection{Users: map[string]bool{}, Roles: map[string]bool{}}
	for _, u := range a.cfg.ProtectUsers {
		if u = strings.TrimSpace(u); u != "" {
			pr.Users[u] = true
		}
	}
	for _, r := range a.cfg.ProtectRoles {
		if r = strings.TrimSpace(r); r != "" {
			pr.Roles[r] = true
		}
	}
	if path := a.cfg.ProtectFile; path != "" {
		f, err := os.Open(path)
		if err != nil {
			return pr, configErrorf("protect_file", "%v", err)
		}
		defer f.Close()
		if err := reconcile.LoadProtection(f, path, &pr); err != nil {
			return pr, err
		}
	}
	if a.plan == nil { // a sweep: checked once its holders are read
		return pr, nil
	}
	if a.cfg.SkipProtected {
		return pr, nil // marked protected once resolved, and never sent
	}
	if v := a.plan.Violations(pr, a.plan.Input.Path); len(v) > 0 {
		return pr, &ProtectedError{Violations: v}
	}
	return pr, nil
}

// evidence is the report's run record. A saved plan's input settings
// (preset, map, where) are the reviewed plan's, not this command line's.
func (a *applyRun) evidence() *report.Run {
	r := applyEvidence(a.cfg, a.cfg.Check || a.saved != nil)
	if a.saved != nil && a.saved.Run != nil {
		from := a.saved.Run.Flags
		r.Flags.Preset, r.Flags.Map, r.Flags.Where, r.Flags.AllowExtraColumns = from.Preset, from.Map, from.Where, from.AllowExtraColumns
	}
	return r
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// reportPaths parses the report targets ([FORMAT:]FILE, - for standard
// output), or picks the default one.
func (a *applyRun) reportPaths() error {
	paths := a.cfg.Reports
	if len(paths) == 0 {
		paths = []string{defaultReport(a.cfg.Now)}
	}
	for _, p := range paths {
		t, err := report.ParseTarget(p)
		if err != nil {
			return configErrorf("reports", "%v", err)
		}
		if t.Stdout() && a.cfg.Stdout == nil {
			return configErrorf("reports", "%s: this run has no standard output to write to", p)
		}
		a.targets = append(a.targets, t)
	}
	return nil
}

func defaultReport(clock func() time.Time) string {
	return "rolesweep-report-" + now(clock).Format("20060102T150405Z") + ".json"
}

// journalBeside is the report the default journal goes next to: the first
// one written to a file.
func (a *applyRun) journalBeside() string {
	for _, t := range a.targets {
		if !t.Stdout() {
			return t.Path
		}
	}
	return defaultReport(a.cfg.Now)
}

// reportFiles are the report targets that are files.
func (a *applyRun) reportFiles() []string {
	var paths []string
	for _, t := range a.targets {
		if !t.Stdout() {
			paths = append(paths, t.Path)
		}
	}
	return paths
}

// finish completes the report, writes it everywhere it was asked for, closes
// the journal and returns the error that decides the exit code.
func (a *applyRun) finish(runErr error) (*report.Report, error) {
	r := a.report
	r.Join(reconcile.Rows{Plan: a.plan, Outcomes: a.out})
	r.FinishedAt = now(a.cfg.Now)
	if r.Run == nil {
		r.Run = &report.Run{}
	}
	r.Run.Checked = a.checked
	a.session.count(&r.Summary)
	var abort *reconcile.AbortError
	if errors.As(runErr, &abort) {
		r.Outcome = report.Aborted
		r.AbortReason = abort.Error()
	}
	r.Tally()
	r.SetOutcome()
	// Last, over everything written: undo refuses a report edited since.
	r.ReportDigest = report.ReportDigest(r)
	// Every report is written before the journal is closed: the journal is
	// removed only once the evidence is safely elsewhere, and a report that
	// failed is never named as written.
	for _, t := range a.targets {
		if !t.Stdout() && t.Format != report.FormatMarkdown {
			r.FullReports = append(r.FullReports, t.Path) // a long Markdown report points at them
		}
	}
	var (
		writeErr error
		written  []string
		failed   int
	)
	for _, t := range a.targets {
		if err := report.WriteTarget(t, a.cfg.Stdout, r); err != nil {
			writeErr = errors.Join(writeErr, fmt.Errorf("writing the report %s: %w", t.Path, err))
			failed++
			continue
		}
		if !t.Stdout() {
			written = append(written, t.Path)
		}
	}
	sum := Summary{Report: r, Reports: written, Unwritten: failed, Journal: a.journal.close(r, writeErr == nil, a.hooks)}
	if a.saved != nil {
		sum.Drift = append(drift(a.saved.Results, reconcile.Rows{Plan: a.plan, Outcomes: a.out}), a.drift...)
	}
	if a.hooks.Finished != nil {
		a.hooks.Finished(sum)
	}
	if writeErr != nil {
		// The tenant may have been changed but the evidence is missing:
		// never exit 0; the journal kept for --resume is the record.
		return r, &reconcile.AbortError{Reason: "the report could not be written", Err: errors.Join(runErr, writeErr)}
	}
	return r, runErr
}

// drift compares the reviewed plan with what the run found, triple by triple
// (both are in plan order).
func drift(planned []report.Result, got reconcile.Rows) []string {
	counts := map[string]int{}
	var order []string
	for i := range planned {
		if i >= got.Len() {
			break
		}
		from, to := planned[i].Status, got.Outcomes[i].Status
		if to == report.Skipped {
			continue
		}
		if from == report.PlanRemove && (to == report.Absent || to == report.NotFound) ||
			(from == report.PlanAbsent || from == report.PlanNotFound) && to == report.Removed {
			k := fmt.Sprintf("planned %s, found %s", from, to)
			if counts[k] == 0 {
				order = append(order, k)
			}
			counts[k]++
		}
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = fmt.Sprintf("%d roles %s", counts[k], k)
	}
	return out
}
