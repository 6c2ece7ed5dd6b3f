package main

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/console"
	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// runDisplay is a run's progress display, once the run started sending.
type runDisplay struct {
	progress *console.Progress
	total    func() int64
}

// progress sets the hooks that show a run's progress (none with --quiet):
// a bar on a terminal, a log record every progressEvery elsewhere. The bar
// counts finished outcomes, not dispatched requests.
func (e env) progress(c *cli.Context, log *slog.Logger, hooks *job.Hooks) *runDisplay {
	d := &runDisplay{}
	if c.Bool("quiet") {
		return d
	}
	var settled, failed atomic.Int64
	hooks.Settled = func(roles, f int) {
		settled.Add(int64(roles))
		failed.Add(int64(f))
	}
	screen := e.screen
	if e.state.json {
		screen = nil // every stderr line is JSON: progress records, no bar
	}
	hooks.Progress = func(p *reconcile.Progress, stats func() pacer.Stats) func() {
		d.total = p.Total.Load
		d.progress = &console.Progress{
			Screen: screen, Log: log, Now: e.now, Every: e.progressEvery, Poll: min(e.progressEvery, 250*time.Millisecond),
			Counts: func() console.Counts {
				return console.Counts{Done: settled.Load(), Total: p.Total.Load(), Failed: failed.Load(), RateLimited: stats().RateLimited}
			},
		}
		d.progress.Start()
		return d.progress.Stop
	}
	return d
}

// finish draws the bar a last time with the report's counts of this run's
// work, so that it says what the summary says; later calls do nothing.
func (d *runDisplay) finish(s report.Summary) {
	if d.progress == nil {
		return
	}
	total := d.total()
	d.progress.Finish(console.Counts{Done: max(0, total-int64(s.Skipped)), Total: total, Failed: int64(s.Failed), RateLimited: s.RateLimited})
}

// startProgress is a Hooks.Progress for a command that does not set
// Hooks.Settled: it counts the run's dispatched groups (reconcile's Done),
// and its last bar is drawn from them. e.progress counts outcomes instead.
func startProgress(e env, log *slog.Logger, p *reconcile.Progress, stats func() pacer.Stats) (stop func()) {
	screen := e.screen
	if e.state.json {
		screen = nil
	}
	counts := func() console.Counts {
		return console.Counts{Done: p.Done.Load(), Total: p.Total.Load(), RateLimited: stats().RateLimited}
	}
	d := &console.Progress{Screen: screen, Log: log, Now: e.now, Every: e.progressEvery, Poll: min(e.progressEvery, 250*time.Millisecond), Counts: counts}
	d.Start()
	return func() { d.Finish(counts()) }
}
