package job

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rolesweep/rolesweep/journal"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// journalRun is the journal of this run, and what a resumed run recorded.
type journalRun struct {
	path     string
	resuming bool
	writer   *journal.Writer
	header   journal.Header
	prior    map[report.GroupKey]journal.Entry // the newest entry per group of the resumed run
	// done tells a journaled group that needs nothing more on resume;
	// nil: journal.Entry.Done, what an apply needs.
	done func(journal.Entry) bool
}

func (jr *journalRun) isDone(e journal.Entry) bool {
	if jr.done != nil {
		return jr.done(e)
	}
	return e.Done()
}

// prepareJournal works out the journal of this run before anything is asked
// or sent. With Resume it opens the earlier run's journal, takes its lock
// (held until the run ends: a second run on it is refused) and checks it
// against this run. A new run's journal is only proven creatable here; the
// file is created by open, once something will be sent, so that a run that
// sends nothing leaves nothing behind to block the next one.
func prepareJournal(cfg ApplyConfig, h journal.Header, firstReport string) (*journalRun, error) {
	jr := &journalRun{header: h}
	if cfg.Resume != "" {
		w, got, entries, err := journal.Resume(cfg.Resume)
		if err != nil {
			return nil, configErrorOf("resume", err)
		}
		if why := journal.Mismatch(got, h); why != "" {
			w.Close()
			return nil, fmt.Errorf("cannot resume %s: %s", cfg.Resume, why)
		}
		jr.prior = journal.Latest(entries)
		jr.path, jr.resuming, jr.writer = cfg.Resume, true, w
		return jr, nil
	}
	jr.path = cfg.Journal
	if jr.path == "" {
		jr.path = journal.DefaultPath(firstReport, h.StartedAt)
	}
	switch err := journal.CheckFree(jr.path); {
	case errors.Is(err, journal.ErrUnfinished):
		return nil, configErrorf("journal", "%s already holds a journal of an unfinished run: resume it with --resume %s, or remove it", jr.path, jr.path)
	case err != nil:
		return nil, configErrorOf("journal", err)
	}
	if err := checkWritable("journal", jr.path); err != nil {
		return nil, err
	}
	return jr, nil
}

// open creates a new run's journal just before the first change is sent;
// a resumed journal is already open. A journal another run took since
// prepareJournal is refused here, still before anything was sent.
func (jr *journalRun) open(hooks Hooks) error {
	if jr.resuming {
		done := 0
		for _, e := range jr.prior {
			if jr.isDone(e) {
				done++
			}
		}
		hooks.notice(fmt.Sprintf("resuming %s: %d groups already finished", jr.path, done))
		return nil
	}
	var err error
	if jr.writer, err = journal.Create(jr.path, jr.header); err != nil {
		return configErrorOf("journal", err)
	}
	return nil
}

// restore copies the outcomes of groups an earlier run finished into this
// run's slots and carries over the attempts of groups it did not finish; it
// returns the groups still to do (nil when not resuming: all of them).
func (jr *journalRun) restore(p *reconcile.Plan, out []reconcile.Outcome) []int {
	if jr.prior == nil {
		return nil
	}
	todo := []int{}
	type roleKey struct{ id, name string }
	for gi, g := range p.Groups {
		prior, seen := jr.prior[g.Key()]
		done := seen && jr.isDone(prior)
		byRole := make(map[roleKey]report.Result, len(prior.Results))
		// A role is matched by id once it has one: the journaled name may be
		// the tenant's, which the input (by id) did not give.
		keyOf := func(id, name string) roleKey {
			if id != "" {
				return roleKey{id: id}
			}
			return roleKey{name: name}
		}
		for _, r := range prior.Results {
			byRole[keyOf(r.RoleID, r.RoleName)] = r
		}
		for _, ti := range g.Triples {
			t := &p.Triples[ti]
			old, ok := byRole[keyOf(t.RoleID, t.RoleName)]
			if !ok {
				continue
			}
			if done {
				out[ti] = reconcile.Outcome{Status: old.Status, HTTPStatus: old.HTTPStatus, Attempts: old.Attempts, Error: old.Error, RoleName: old.RoleName}
			} else {
				out[ti].Attempts = old.Attempts
			}
		}
		if !done {
			todo = append(todo, gi)
		}
	}
	return todo
}

// record journals one finished group. Workers call it concurrently, so the
// journal's fsyncs are shared among them (group commit).
func (jr *journalRun) record(p *reconcile.Plan, gi int, out []reconcile.Outcome, at time.Time) error {
	g := p.Groups[gi]
	rows := reconcile.Rows{Plan: p, Outcomes: out}
	e := journal.Entry{OrganizationID: g.OrganizationID, User: g.UserID, FinishedAt: at}
	if e.User == "" {
		e.User = g.UserEmail
	}
	e.Results = make([]report.Result, len(g.Triples))
	for i, ti := range g.Triples {
		e.Results[i] = rows.Row(ti)
	}
	return jr.writer.Record(e)
}

// close keeps the journal only while there is something to resume: a run
// that completed, with every report written, has nothing left, and removing
// its journal lets the next night's run reuse the same report path. A run
// whose report could not be written keeps it even when complete: the journal
// is then the only record of what was sent, and --resume writes the report.
// It returns the path when kept.
func (jr *journalRun) close(r *report.Report, reportsWritten bool, hooks Hooks) string {
	if jr.writer == nil {
		if jr.resuming {
			return jr.path // stopped before reopening it: still to resume
		}
		return ""
	}
	// Removed while still locked: a --resume waiting for the lock must not
	// get a journal that is about to disappear.
	removed := false
	if (r.Outcome == report.Completed || nothingToRetry(r)) && reportsWritten {
		if err := os.Remove(jr.path); err != nil {
			hooks.notice(fmt.Sprintf("rolesweep: removing the journal of a completed run: %v", err))
		} else {
			removed = true
		}
	}
	if err := jr.writer.Close(); err != nil && !removed {
		hooks.notice(fmt.Sprintf("rolesweep: closing the journal %s: %v", jr.path, err))
	}
	if removed {
		return ""
	}
	return jr.path
}
