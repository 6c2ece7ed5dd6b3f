// Package job runs rolesweep's commands without a command line: it turns a
// config struct into a plan, a check or an apply run, and hands back the
// report. Package main only parses flags into these configs, supplies the
// hooks (prompt, progress) and maps errors to exit codes; a new command (undo,
// sweeps) is a new config and a new file here, next to the others.
package job

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// Source names the removals to read: a file, or standard input when Path
// is "-".
type Source struct {
	Path              string
	Stdin             io.Reader
	Format            input.Format // required for "-"
	AllowExtraColumns bool
	// Map, Where and Preset read a review tool's export as it is (CSV only):
	// Map names the column each field is read from, Where keeps only the
	// rows that hold one of the listed values (the rest are excluded, never
	// validated or sent), and Preset is a named Map and Where that Map and
	// Where override.
	Map    map[input.Field]string
	Where  []input.Filter
	Preset string
}

// Tenant is how to reach the tenant and how hard to push it.
type Tenant struct {
	Management  management.Config
	Concurrency int
	Rate        float64 // requests per second at most; 0: none
	MaxRetries  int
	Reserve     float64 // percent of the tenant's bucket left to others
	Log         *slog.Logger
}

// PlanConfig is one `plan`: offline, or with Check read against the tenant.
type PlanConfig struct {
	Source Source
	Sweep  *Sweep // plan a sweep instead of reading Source
	Check  bool
	Tenant Tenant // only with Check
	Tool   string // "rolesweep vX", for the report
	Now    func() time.Time
	// Operator is who the report says ran it; "" means user@host of this
	// process (Operator()).
	Operator string
}

// ApplyConfig is one `apply`.
type ApplyConfig struct {
	Source    Source
	SavedPlan string // apply this plan (saved by plan --out) instead of Source
	Sweep     *Sweep // sweep the tenant instead of reading Source
	Tenant    Tenant
	// Check reads the current assignments first, the cheaper way (always
	// for a saved plan): unassigned roles become absent, max_removals
	// counts only roles really assigned. The report's run.checked says it.
	Check  bool
	Verify bool
	// MaxRemovals refuses a plan that would remove more; negative: no limit.
	MaxRemovals  int
	Reports      []string  // report targets, [FORMAT:]FILE; a default one when empty
	Stdout       io.Writer // where a report to "-" goes
	Journal      string    // journal path; "" next to the first report
	Resume       string    // resume the run recorded in this journal
	ProtectUsers []string
	ProtectRoles []string
	ProtectFile  string
	// SkipProtected reports rows touching a protected user or role as
	// protected and removes the rest, instead of refusing the whole run.
	SkipProtected bool
	Tool          string
	Now           func() time.Time
	Operator      string // as in PlanConfig
}

// Confirmation is what an apply is about to do, for the prompt.
type Confirmation struct {
	Removals int // roles to remove, or to restore
	Users    int
	Domain   string
	Restore  bool // an undo: the roles are assigned back
}

// Hooks are how a run talks to whoever started it. Every hook may be nil.
type Hooks struct {
	// Confirm is asked once, before anything is sent; an error stops the
	// run (an *reconcile.AbortError still writes the report).
	Confirm func(ctx context.Context, c Confirmation) error
	// Progress starts a display of the run's progress; the run calls stop
	// when it ends.
	Progress func(p *reconcile.Progress, stats func() pacer.Stats) (stop func())
	// Settled is told the roles of each group once the group is finished
	// (not a group an interrupt cut short), and how many of them failed:
	// a progress display counts outcomes, not dispatches.
	Settled func(roles, failed int)
	// Notice is a line for the person running it (standard error).
	Notice func(msg string)
	// Finished is called once an apply has written its reports.
	Finished func(Summary)
	// Hurry, once closed, ends the grace period of requests on the wire.
	Hurry <-chan struct{}
}

func (h Hooks) notice(msg string) {
	if h.Notice != nil {
		h.Notice(msg)
	}
}

func (h Hooks) settled(triples []int, out []reconcile.Outcome) {
	if h.Settled == nil {
		return
	}
	failed := 0
	for _, ti := range triples {
		if out[ti].Status == report.Failed {
			failed++
		}
	}
	h.Settled(len(triples), failed)
}

// Summary is what an apply leaves behind, for the summary lines.
type Summary struct {
	Report  *report.Report
	Drift   []string // differences from the reviewed plan, with SavedPlan
	Reports []string // where the report was written
	// Unwritten counts the reports that could not be written (the run's
	// error says why); the kept Journal is then the record for --resume.
	Unwritten int
	Journal   string // the journal kept for --resume; "" once removed
}

func now(f func() time.Time) time.Time {
	if f == nil {
		return time.Now().UTC()
	}
	return f().UTC()
}
