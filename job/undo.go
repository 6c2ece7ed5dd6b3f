package job

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rolesweep/rolesweep/journal"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// UndoConfig is one `undo`: put back what an apply run removed, read from
// that run's JSON report.
type UndoConfig struct {
	Report string // the JSON report of the apply run to undo
	Tenant Tenant
	// Check reads each user's current roles first, so a role assigned
	// again since the run is `present` and not sent.
	Check bool
	// IncludeUnverified also re-assigns removals of a run that did not read
	// current roles first: they may never have been held.
	IncludeUnverified bool
	Reports           []string  // report targets, [FORMAT:]FILE; a default one when empty
	Stdout            io.Writer // where a report to "-" goes
	Journal           string
	Resume            string
	Tool              string
	Now               func() time.Time
}

// UndoRefusedError refuses a report that undo must not act on: another
// tenant's, an edited one, a plan, or the report of a command other than
// apply. Nothing was sent.
type UndoRefusedError struct {
	Path   string
	Reason string
}

func (e *UndoRefusedError) Error() string {
	return fmt.Sprintf("cannot undo %s: %s; nothing was sent", e.Path, e.Reason)
}

// Why removals are unverified, as the report and the notice say it.
const (
	whyUnchecked = "removed by a run that did not read current roles first (--no-check): the role may never have been held; --include-unverified re-assigns it"
	whyNoDigest  = "the report has no report_digest (written before rolesweep recorded one), so edits cannot be detected and it cannot show that roles were read first; --include-unverified re-assigns it"
)

// undone is the apply report an undo reads, checked.
type undone struct {
	path     string
	sha256   string // of the file's bytes
	report   *report.Report
	verified bool   // its removals were read as held before the run
	why      string // why not, when not verified
}

// loadUndone reads the report to undo and refuses what undo must not act
// on. The tenant is compared later, once the client knows its domain.
func loadUndone(path string) (*undone, error) {
	refuse := func(format string, args ...any) error {
		return &UndoRefusedError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, refuse("%v", errors.Unwrap(err))
	}
	sum := sha256.Sum256(data)
	r, err := report.ReadJSON(bytes.NewReader(data))
	if err != nil {
		return nil, refuse("it is not a rolesweep JSON report: %v", err)
	}
	switch {
	case r.IsPlan():
		return nil, refuse("it is a plan, which removed nothing; undo takes the JSON report of an apply run")
	case r.Command != report.CommandApply:
		return nil, refuse("it is the report of %q, not of apply; undo puts back only what an apply removed", r.Command)
	case r.Domain == "":
		return nil, refuse("the report names no tenant")
	}
	u := &undone{path: path, sha256: hex.EncodeToString(sum[:]), report: r}
	switch {
	case r.ReportDigest == "":
		u.why = whyNoDigest
	case r.CheckReportDigest() != nil:
		return nil, refuse("%v", r.CheckReportDigest())
	case r.Run == nil || !r.Run.Checked:
		u.why = whyUnchecked
	default:
		u.verified = true
	}
	return u, nil
}

// checkTenant refuses a report made against another tenant than domain.
func (u *undone) checkTenant(domain string) error {
	want := u.report.Domain
	if d, err := management.CanonicalDomain(want); err == nil {
		want = d
	}
	if want != domain {
		return &UndoRefusedError{Path: u.path, Reason: fmt.Sprintf("the report was made against tenant %s, not %s", u.report.Domain, domain)}
	}
	return nil
}

// plan is the undo plan and each triple's starting outcome: to do, or
// unverified (with the reason) when the run did not read roles first.
func (u *undone) plan(includeUnverified bool) (*reconcile.Plan, []reconcile.Outcome) {
	p, _ := reconcile.UndoPlan(u.report)
	p.Input = report.Input{
		Path: u.path, Format: "json", SHA256: u.sha256, Rows: len(u.report.Results),
		Undoes: &report.Undoes{Path: u.path, SHA256: u.sha256, Domain: u.report.Domain, PlanDigest: u.report.PlanDigest},
	}
	out := p.Outcomes(report.Skipped, report.Failed)
	if !u.verified && !includeUnverified {
		for i := range out {
			out[i] = reconcile.Outcome{Status: report.Unverified, Error: u.why}
		}
	}
	return p, out
}

// notRemovals counts the results of the undone report that removed nothing
// (absent, not_found, failed, protected, skipped): there is nothing to put
// back for them, and they are not rows of the undo.
func (u *undone) notRemovals() int {
	n := 0
	for i := range u.report.Results {
		if u.report.Results[i].Status != report.Removed {
			n++
		}
	}
	return n
}

// Undo puts back what the apply run of cfg.Report removed: every `removed`
// result is re-assigned (one POST per (organization, user)), through the
// same pacer, confirmation, journal and reports as an apply. The report's
// rows are the removals of the undone report, with statuses restored,
// present, not_found, failed, skipped or unverified. The report is returned
// whenever it was written, also with an *reconcile.AbortError; a refused
// report is an *UndoRefusedError and nothing is sent.
func Undo(ctx context.Context, cfg UndoConfig, hooks Hooks) (*report.Report, error) {
	u, err := loadUndone(cfg.Report)
	if err != nil {
		return nil, err
	}
	if len(cfg.Reports) == 0 {
		cfg.Reports = []string{"rolesweep-undo-" + now(cfg.Now).Format("20060102T150405Z") + ".json"}
	}
	// An undo is an apply run with another action: it shares its report
	// paths, journal, confirmation and finish.
	a := &applyRun{cfg: ApplyConfig{Reports: cfg.Reports, Stdout: cfg.Stdout, Journal: cfg.Journal, Resume: cfg.Resume, Tool: cfg.Tool, Now: cfg.Now}, hooks: hooks}
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
	if err := u.checkTenant(domain); err != nil {
		return nil, err
	}
	a.plan, a.out = u.plan(cfg.IncludeUnverified)
	a.checked = cfg.Check // finish records it as run.checked
	started := now(cfg.Now)
	a.journal, err = prepareJournal(a.cfg, journal.Header{
		Journal: 1, Tool: cfg.Tool, Domain: domain,
		InputPath: u.path, InputSHA256: u.sha256,
		PlanDigest: undoDigest(a.plan, a.out), StartedAt: started,
	}, a.journalBeside())
	if err != nil {
		return nil, err
	}
	a.journal.done = undoDone(cfg.IncludeUnverified)
	defer func() {
		if a.journal.writer != nil {
			a.journal.writer.Close()
		}
	}()
	a.report = &report.Report{
		Version: report.Version, Tool: cfg.Tool, Command: report.CommandUndo, Domain: domain,
		Input: a.plan.Input, StartedAt: started,
		Run: undoEvidence(cfg),
	}
	a.report.Summary.Duplicates = a.plan.Duplicates

	restores, users := toRestore(a.plan, a.out)
	if n := len(a.plan.Triples) - restores; n > 0 {
		hooks.notice(fmt.Sprintf("rolesweep: %d removals of %s are unverified and will not be re-assigned: %s", n, u.path, u.why))
	}
	if restores == 0 && !a.journal.resuming {
		// Nothing to send: no prompt, no journal, no request; the report
		// still says what became of every removal.
		return a.finish(nil)
	}
	if hooks.Confirm != nil {
		if err := hooks.Confirm(ctx, Confirmation{Removals: restores, Users: users, Domain: domain, Restore: true}); err != nil {
			var abort *reconcile.AbortError
			if errors.As(err, &abort) {
				return a.finish(err)
			}
			return nil, err
		}
	}
	// One request proves the tenant usable before a request per row could
	// fail one by one.
	if err := a.session.preflight(ctx); err != nil {
		return a.finish(err)
	}
	if err := a.journal.open(hooks); err != nil {
		return nil, err
	}
	todo := a.journal.restore(a.plan, a.out)

	x := &reconcile.Executor{
		Pacer:       a.session.pacer,
		Concurrency: a.session.cfg.Concurrency,
		Check:       cfg.Check,
		Log:         a.session.cfg.Log,
		Hurry:       hooks.Hurry,
		GroupDone: func(gi int, out []reconcile.Outcome) error {
			hooks.settled(a.plan.Groups[gi].Triples, out)
			return a.journal.record(a.plan, gi, out, now(cfg.Now))
		},
	}
	stop := func() {}
	if hooks.Progress != nil {
		stop = hooks.Progress(&x.Progress, a.session.pacer.Stats)
	}
	runErr := x.Restore(ctx, a.session.client, a.plan, a.out, todo)
	stop()
	return a.finish(runErr)
}

// toRestore counts the roles an undo will try to re-assign and their
// (organization, user) groups.
func toRestore(p *reconcile.Plan, out []reconcile.Outcome) (roles, groups int) {
	for _, g := range p.Groups {
		n := 0
		for _, ti := range g.Triples {
			if out[ti].Status == report.Skipped {
				n++
			}
		}
		roles += n
		if n > 0 {
			groups++
		}
	}
	return roles, groups
}

// undoDigest identifies what an undo was asked to do, for its journal: the
// undo plan with each triple's starting status, so that resuming with or
// without --include-unverified is a different run only when it changes
// what is sent.
func undoDigest(p *reconcile.Plan, out []reconcile.Outcome) string {
	r := &report.Report{Version: report.Version, Command: report.CommandUndo, Input: p.Input}
	r.Join(reconcile.Rows{Plan: p, Outcomes: out})
	return report.Digest(r)
}

// undoDone tells a journaled group of an undo that needs nothing more on
// resume: every role is restored, present or not_found (its user or
// organization is gone), or unverified and still excluded.
func undoDone(includeUnverified bool) func(journal.Entry) bool {
	return func(e journal.Entry) bool {
		if len(e.Results) == 0 {
			return false
		}
		for _, res := range e.Results {
			switch {
			case res.Status == report.Restored, res.Status == report.Present, res.Status == report.NotFound:
			case res.Status == report.Unverified && !includeUnverified:
			default:
				return false
			}
		}
		return true
	}
}

// UndoPreview is what `undo --dry-run` prints: the restores an undo would
// send, found from the report alone, without a request.
type UndoPreview struct {
	Path        string
	Domain      string // the tenant the report was made against
	Restore     []report.Result
	Unverified  []report.Result
	Why         string // why the unverified ones are
	NotRemovals int    // results of the report that removed nothing
	Check       bool   // the undo would read current roles first
}

// PreviewUndo is `undo --dry-run`: the report is read and checked like
// Undo does (also against the tenant, when cfg names one), and no request
// is made at all, so roles assigned again since the run are not told apart
// here; the undo itself finds them present and does not send them.
func PreviewUndo(cfg UndoConfig) (*UndoPreview, error) {
	u, err := loadUndone(cfg.Report)
	if err != nil {
		return nil, err
	}
	if cfg.Tenant.Management.Domain != "" {
		domain, err := management.CanonicalDomain(cfg.Tenant.Management.Domain)
		if err != nil {
			return nil, err
		}
		if err := u.checkTenant(domain); err != nil {
			return nil, err
		}
	}
	p, out := u.plan(cfg.IncludeUnverified)
	prev := &UndoPreview{Path: u.path, Domain: u.report.Domain, Why: u.why, NotRemovals: u.notRemovals(), Check: cfg.Check}
	rows := reconcile.Rows{Plan: p, Outcomes: out}
	for i := range rows.Len() {
		res := rows.Row(i)
		if res.Status == report.Unverified {
			prev.Unverified = append(prev.Unverified, res)
		} else {
			prev.Restore = append(prev.Restore, res)
		}
	}
	return prev, nil
}

// WriteText prints the preview, one line per role.
func (p *UndoPreview) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dry run: undo of %s (tenant %s); nothing is sent\n", p.Path, p.Domain)
	fmt.Fprintf(&b, "would restore %d %s:\n", len(p.Restore), plural(len(p.Restore), "role", "roles"))
	for _, r := range p.Restore {
		previewLine(&b, r)
	}
	if p.Check && len(p.Restore) > 0 {
		b.WriteString("  (roles assigned again since the run will be found present and not sent)\n")
	}
	if len(p.Unverified) > 0 {
		fmt.Fprintf(&b, "unverified, not restored: %d %s: %s\n", len(p.Unverified), plural(len(p.Unverified), "role", "roles"), p.Why)
		for _, r := range p.Unverified {
			previewLine(&b, r)
		}
	}
	if p.NotRemovals > 0 {
		fmt.Fprintf(&b, "%d other %s of the report removed nothing (absent, not_found, failed, protected or skipped): nothing to put back\n",
			p.NotRemovals, plural(p.NotRemovals, "result", "results"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func previewLine(b *strings.Builder, r report.Result) {
	role := shown(r.RoleID)
	if r.RoleName != "" {
		role += " (" + shown(r.RoleName) + ")"
	}
	fmt.Fprintf(b, "  %s to %s", role, shown(r.UserID))
	if r.OrganizationID != "" {
		fmt.Fprintf(b, " in %s", shown(r.OrganizationID))
	}
	b.WriteByte('\n')
}

// shown quotes a value that holds control characters: a report without a
// digest may have been written by anyone, and must not drive the terminal.
func shown(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// undoEvidence is an undo's `run`: who ran it, as which client, whether it
// read first, and whether it re-assigned removals nobody proved were held.
func undoEvidence(cfg UndoConfig) *report.Run {
	r := evidence{tenant: &cfg.Tenant, checked: cfg.Check}.run()
	r.Flags.IncludeUnverified = cfg.IncludeUnverified
	return r
}
