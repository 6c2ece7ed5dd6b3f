package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/journal"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// applyRun is one `apply`: its plan, its result slots and where it reports.
type applyRun struct {
	e       env
	t       *tenant
	plan    *reconcile.Plan
	saved   *report.Report // the reviewed plan, with --plan
	results []report.Result
	report  *report.Report
	paths   []string
	file    string // the input's name, for guard messages

	protection reconcile.Protection
}

func cmdApply(c *cli.Context, e env) (err error) {
	a := &applyRun{e: e}
	if err := a.load(c); err != nil {
		return err
	}
	if err := a.checkProtection(c); err != nil {
		return err
	}
	if a.paths, err = reportPaths(c, e); err != nil {
		return err
	}
	if a.t, err = connect(c, e); err != nil {
		return err
	}
	domain := a.t.client.Domain()
	if a.saved != nil && a.saved.Domain != "" && a.saved.Domain != domain {
		return usagef("the plan was made for tenant %s, not %s", a.saved.Domain, domain)
	}
	jr, err := a.prepareJournal(c, domain)
	if err != nil {
		return err
	}
	defer a.closeJournal(jr)

	a.results = a.plan.Results(report.Skipped, report.Failed)
	a.report = &report.Report{
		Version:    report.Version,
		Tool:       toolName(),
		Command:    "apply",
		Domain:     domain,
		Input:      a.plan.Input,
		PlanDigest: jr.header.PlanDigest,
		StartedAt:  e.now().UTC(),
	}
	a.report.Summary.Duplicates = a.plan.Duplicates

	// Guards that need nothing from the tenant come first: nothing is sent.
	if max := c.Int("max-removals"); max >= 0 && a.plan.Removals() > max {
		return a.finish(&reconcile.AbortError{Reason: fmt.Sprintf(
			"guard: the plan would remove %d roles, more than --max-removals %d; nothing was sent", a.plan.Removals(), max)})
	}
	if err := a.confirm(c, domain); err != nil {
		return err
	}
	if err := jr.open(e.stderr); err != nil {
		return err
	}

	dispatch, requests, stop := a.interrupts(c.Context)
	defer stop()

	if err := a.t.resolve(dispatch, a.plan); err != nil {
		return a.finish(err)
	}
	// Resolution filled in ids and may have merged groups.
	a.results = a.plan.Results(report.Skipped, report.Failed)
	if v := a.plan.Violations(a.protection, a.file); len(v) > 0 {
		return usagef("%d removals touch protected users or roles; nothing was sent:\n%s", len(v), strings.Join(v, "\n"))
	}
	todo := jr.restore(a.plan, a.results)

	x := &reconcile.Executor{
		API:         a.t.client,
		Pacer:       a.t.pacer,
		Concurrency: a.t.concurrency,
		Check:       c.Bool("check") || a.saved != nil,
		Verify:      c.Bool("verify"),
		Log:         a.t.log,
	}
	if jr.writer != nil {
		x.GroupDone = func(gi int, results []report.Result) error {
			return jr.record(a.plan, gi, results, e.now())
		}
	}
	progress := startProgress(c, e, a.t, &x.Progress)
	runErr := x.Execute(dispatch, requests, a.plan, a.results, todo)
	progress.stop()
	return a.finish(runErr)
}

// load reads the input file or the saved plan.
func (a *applyRun) load(c *cli.Context) error {
	planPath := c.String("plan")
	if planPath == "" {
		p, err := readPlan(c, a.e)
		if err != nil {
			return err
		}
		a.plan, a.file = p, p.Input.Path
		return nil
	}
	if c.NArg() > 0 {
		return usagef("give either FILE or --plan PLAN.json, not both")
	}
	f, err := os.Open(planPath)
	if err != nil {
		return usagef("--plan: %v", err)
	}
	defer f.Close()
	saved, err := report.ReadJSON(f)
	if err != nil {
		return usagef("%s: %v", planPath, err)
	}
	if a.plan, err = reconcile.FromSavedPlan(planPath, saved); err != nil {
		return usagef("%v", err)
	}
	a.saved = saved
	a.file = saved.Input.Path
	return nil
}

// checkProtection loads the protection lists and refuses, before anything is
// sent, an input that names a protected user or role by id. Users and roles
// named by email or role name are checked again once resolved.
func (a *applyRun) checkProtection(c *cli.Context) error {
	a.protection = reconcile.Protection{Users: map[string]bool{}, Roles: map[string]bool{}}
	for _, u := range c.StringSlice("protect-user") {
		if u = strings.TrimSpace(u); u != "" {
			a.protection.Users[u] = true
		}
	}
	for _, r := range c.StringSlice("protect-role") {
		if r = strings.TrimSpace(r); r != "" {
			a.protection.Roles[r] = true
		}
	}
	if path := c.String("protect"); path != "" {
		if err := reconcile.LoadProtection(path, &a.protection); err != nil {
			return usagef("%v", err)
		}
	}
	if v := a.plan.Violations(a.protection, a.file); len(v) > 0 {
		return usagef("%d removals touch protected users or roles; nothing was sent:\n%s", len(v), strings.Join(v, "\n"))
	}
	return nil
}

var errDeclined = errors.New("not confirmed; nothing was sent")

// confirm asks on a terminal; elsewhere --yes is required.
func (a *applyRun) confirm(c *cli.Context, domain string) error {
	if c.Bool("yes") {
		return nil
	}
	if !a.e.terminal(a.e.stdin) {
		return usagef("apply changes the tenant: pass --yes to confirm when standard input is not a terminal")
	}
	fmt.Fprintf(a.e.stderr, "About to remove %d roles from %d users on %s.\nType yes to continue: ",
		a.plan.Removals(), len(a.plan.Groups), domain)
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(a.e.stdin).ReadString('\n')
		answered <- line
	}()
	select {
	case line := <-answered:
		if answer := strings.ToLower(strings.TrimSpace(line)); answer != "yes" && answer != "y" {
			return &usageError{errDeclined.Error()}
		}
		return nil
	case sig := <-a.e.signals: // a nil channel never delivers
		fmt.Fprintln(a.e.stderr)
		return a.finish(&reconcile.AbortError{Reason: "interrupted by " + sig.String() + " at the confirmation prompt; nothing was sent"})
	}
}

// interrupts turns the first SIGINT/SIGTERM into "stop dispatching" and
// gives requests on the wire a grace period; a second signal ends them at
// once. Either way the report is still written.
func (a *applyRun) interrupts(parent context.Context) (dispatch, requests context.Context, stop func()) {
	dispatch, cancelDispatch := context.WithCancelCause(parent)
	requests, cancelRequests := context.WithCancel(context.WithoutCancel(parent))
	done := make(chan struct{})
	go func() {
		if a.e.signals == nil {
			return
		}
		select {
		case sig := <-a.e.signals:
			fmt.Fprintf(a.e.stderr, "\nrolesweep: %v: stopping; requests in flight may finish within %s (interrupt again to stop now)\n", sig, reconcile.GracePeriod)
			cancelDispatch(&reconcile.AbortError{Reason: "interrupted by " + sig.String()})
		case <-done:
			return
		}
		grace := time.NewTimer(reconcile.GracePeriod)
		defer grace.Stop()
		select {
		case <-a.e.signals:
		case <-grace.C:
		case <-done:
		}
		cancelRequests()
	}()
	return dispatch, requests, func() {
		close(done)
		cancelDispatch(nil)
		cancelRequests()
	}
}

// finish completes the report, writes it everywhere it was asked for, prints
// the one-line summary and returns the error that decides the exit code.
func (a *applyRun) finish(runErr error) error {
	r := a.report
	r.Results = a.results
	r.FinishedAt = a.e.now().UTC()
	if a.t != nil {
		s := a.t.pacer.Stats()
		r.Summary.Requests, r.Summary.Retries, r.Summary.RateLimited = s.Requests, s.Retries, s.RateLimited
	}
	var abort *reconcile.AbortError
	if errors.As(runErr, &abort) {
		r.Outcome = report.Aborted
		r.AbortReason = abort.Error()
	}
	r.Tally()
	r.SetOutcome()
	var writeErr error
	for _, p := range a.paths {
		if err := report.WriteFile(p, r); err != nil {
			writeErr = errors.Join(writeErr, fmt.Errorf("writing the report %s: %w", p, err))
		}
	}
	a.printSummary(r)
	if writeErr != nil {
		// The tenant was changed but the evidence is missing: never exit 0.
		return &reconcile.AbortError{Reason: "the report could not be written", Err: errors.Join(runErr, writeErr)}
	}
	if runErr != nil {
		return runErr
	}
	// The report's outcome decides, so the exit code and the evidence agree.
	if r.Outcome != report.Completed {
		return &failuresError{failed: r.Summary.Failed + r.Summary.Skipped}
	}
	return nil
}

func (a *applyRun) printSummary(r *report.Report) {
	s := r.Summary
	w := a.e.stdout
	fmt.Fprintf(w, "%s: removed %d · absent %d · not_found %d · failed %d · skipped %d (%d roles, %d users; %d requests, %d retries, %d rate-limited)\n",
		r.Outcome, s.Removed, s.Absent, s.NotFound, s.Failed, s.Skipped, s.Roles, s.Users, s.Requests, s.Retries, s.RateLimited)
	if a.saved != nil {
		for _, line := range drift(a.saved.Results, r.Results) {
			fmt.Fprintln(w, "drift since the plan: "+line)
		}
	}
	if r.AbortReason != "" {
		fmt.Fprintln(w, "aborted: "+r.AbortReason)
	}
	for _, p := range a.paths {
		fmt.Fprintln(w, "report: "+p)
	}
}

// drift compares the reviewed plan with what the run found, triple by triple
// (both are in plan order).
func drift(planned, got []report.Result) []string {
	counts := map[string]int{}
	var order []string
	for i := range planned {
		if i >= len(got) || got[i].Status == report.Skipped {
			continue
		}
		from, to := planned[i].Status, got[i].Status
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

// reportPaths checks the --report paths, or picks the default one.
func reportPaths(c *cli.Context, e env) ([]string, error) {
	paths := c.StringSlice("report")
	if len(paths) == 0 {
		paths = []string{"rolesweep-report-" + e.now().UTC().Format("20060102T150405Z") + ".json"}
	}
	for _, p := range paths {
		if _, err := report.FormatFromPath(p); err != nil {
			return nil, usagef("--report: %v", err)
		}
	}
	return paths, nil
}

// progressDisplay shows how far a run is: a live line on a terminal, a log
// line every so often otherwise.
type progressDisplay struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(c *cli.Context, e env, t *tenant, p *reconcile.Progress) *progressDisplay {
	d := &progressDisplay{done: make(chan struct{})}
	if c.Bool("quiet") {
		return d
	}
	live := e.terminal(e.stderr)
	every := e.progressEvery
	if live {
		every = 250 * time.Millisecond
	}
	start := e.now()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-d.done:
				if live {
					drawProgress(e.stderr, p, t, start, e.now())
					fmt.Fprintln(e.stderr)
				}
				return
			case <-tick.C:
			}
			if live {
				drawProgress(e.stderr, p, t, start, e.now())
				continue
			}
			done, total := p.Done.Load(), p.Total.Load()
			elapsed := e.now().Sub(start).Seconds()
			t.log.Info("progress", "done", done, "total", total,
				"roles_per_second", fmt.Sprintf("%.1f", float64(done)/max(elapsed, 0.001)),
				"rate_limited", t.pacer.Stats().RateLimited)
		}
	}()
	return d
}

func (d *progressDisplay) stop() {
	close(d.done)
	d.wg.Wait()
}

func drawProgress(w io.Writer, p *reconcile.Progress, t *tenant, start, now time.Time) {
	done, total := p.Done.Load(), p.Total.Load()
	elapsed := now.Sub(start).Seconds()
	rate := float64(done) / max(elapsed, 0.001)
	const width = 30
	filled := 0
	if total > 0 {
		filled = int(float64(width) * float64(done) / float64(total))
	}
	eta := "--:--"
	if rate > 0 && total >= done {
		secs := int(float64(total-done) / rate)
		eta = fmt.Sprintf("%d:%02d", secs/60, secs%60)
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d roles · %.1f/s · ETA %s · 429s %d ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, rate, eta, t.pacer.Stats().RateLimited)
}

// journalRun is the journal of this run, and what an earlier run finished.
type journalRun struct {
	path     string
	resuming bool
	writer   *journal.Writer
	header   journal.Header
	done     map[string]journal.Entry // finished groups of the resumed run, by key
	prior    map[string]journal.Entry // every group the resumed run recorded
}

// prepareJournal works out the journal of this run and, with --resume,
// checks the earlier run's journal against this one, before anything is
// asked or sent. The file itself is opened by open, just before sending.
func (a *applyRun) prepareJournal(c *cli.Context, domain string) (*journalRun, error) {
	jr := &journalRun{header: journal.Header{
		Journal:     1,
		Tool:        toolName(),
		Domain:      domain,
		InputPath:   a.plan.Input.Path,
		InputSHA256: a.plan.Input.SHA256,
		PlanDigest:  a.planDigest(),
		StartedAt:   a.e.now().UTC(),
	}}
	if resume := c.String("resume"); resume != "" {
		h, entries, err := journal.Read(resume)
		if err != nil {
			return nil, usagef("--resume: %v", err)
		}
		if why := journal.Mismatch(h, jr.header); why != "" {
			return nil, usagef("cannot resume %s: %s", resume, why)
		}
		jr.prior = journal.Latest(entries)
		jr.done = map[string]journal.Entry{}
		for k, e := range jr.prior {
			if e.Done() {
				jr.done[k] = e
			}
		}
		jr.path, jr.resuming = resume, true
		return jr, nil
	}
	jr.path = c.String("journal")
	if jr.path == "" {
		jr.path = journal.DefaultPath(a.paths[0], a.e.now().UTC())
	}
	if info, err := os.Stat(jr.path); err == nil && info.Size() > 0 {
		return nil, usagef("--journal: %s already holds a journal of an unfinished run: resume it with --resume %s, or remove it", jr.path, jr.path)
	}
	return jr, nil
}

// open creates the journal, or reopens the resumed one for appending.
func (jr *journalRun) open(stderr io.Writer) error {
	var err error
	if jr.resuming {
		if jr.writer, err = journal.Reopen(jr.path); err != nil {
			return usagef("--resume: %v", err)
		}
		fmt.Fprintf(stderr, "resuming %s: %d groups already finished\n", jr.path, len(jr.done))
		return nil
	}
	if jr.writer, err = journal.Create(jr.path, jr.header); err != nil {
		return usagef("--journal: %v", err)
	}
	return nil
}

// closeJournal keeps the journal only while there is something to resume: a
// run that completed has nothing left, and removing its journal lets the next
// night's run reuse the same report path. The report holds everything the
// journal did.
func (a *applyRun) closeJournal(jr *journalRun) {
	if jr.writer == nil {
		return
	}
	if err := jr.writer.Close(); err != nil {
		fmt.Fprintf(a.e.stderr, "rolesweep: closing the journal %s: %v\n", jr.path, err)
	}
	if a.report == nil || a.report.FinishedAt.IsZero() {
		return
	}
	if a.report.Outcome == report.Completed {
		if err := os.Remove(jr.path); err != nil {
			fmt.Fprintf(a.e.stderr, "rolesweep: removing the journal of a completed run: %v\n", err)
		}
		return
	}
	fmt.Fprintf(a.e.stdout, "journal: %s (to retry what did not finish: the same command with --resume %s)\n", jr.path, jr.path)
}

// planDigest identifies what this run was asked to do: the reviewed plan's
// digest, or that of the offline plan of the input. The plan's triples are
// its result slots, so this sets them to "remove"; cmdApply resets them for
// the run right after preparing the journal.
func (a *applyRun) planDigest() string {
	if a.saved != nil {
		return a.saved.PlanDigest
	}
	r := &report.Report{Version: report.Version, Command: "plan", Input: a.plan.Input,
		Results: a.plan.Results(report.PlanRemove, report.PlanRemove)}
	return report.Digest(r)
}

// restore copies the results of groups an earlier run finished into their
// slots and carries over the attempts of groups it did not finish; it returns
// the groups still to do.
func (jr *journalRun) restore(p *reconcile.Plan, results []report.Result) []int {
	if jr.prior == nil {
		return nil
	}
	todo := []int{}
	for gi, g := range p.Groups {
		org, user := g.Key()
		key := journal.Entry{OrganizationID: org, User: user}.Key()
		prior, seen := jr.prior[key]
		byRole := map[string]report.Result{}
		for _, r := range prior.Results {
			byRole[r.RoleID+"\x00"+r.RoleName] = r
		}
		_, done := jr.done[key]
		for _, ti := range g.Triples {
			old, ok := byRole[results[ti].RoleID+"\x00"+results[ti].RoleName]
			if !seen || !ok {
				continue
			}
			if done {
				results[ti] = old
			} else {
				results[ti].Attempts = old.Attempts
			}
		}
		if !done {
			todo = append(todo, gi)
		}
	}
	return todo
}

func (jr *journalRun) record(p *reconcile.Plan, gi int, results []report.Result, now time.Time) error {
	g := p.Groups[gi]
	org, user := g.Key()
	e := journal.Entry{OrganizationID: org, User: user, FinishedAt: now.UTC()}
	for _, ti := range g.Triples {
		e.Results = append(e.Results, results[ti])
	}
	return jr.writer.Record(e)
}
