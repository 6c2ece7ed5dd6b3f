// Package report holds the results of a run as plain JSON-tagged data, counts
// them, and renders them as JSON, CSV, Markdown or text. It never calls the
// API: it only accumulates and renders.
package report

import (
	"fmt"
	"iter"
	"time"
)

// Version is the report schema version.
const Version = 1

// Status is the outcome of one (organization, user, role) triple. Reports of
// apply use the first five; plans use the planned actions.
type Status string

const (
	Removed  Status = "removed"
	Absent   Status = "absent"
	NotFound Status = "not_found"
	Failed   Status = "failed"
	Skipped  Status = "skipped"

	// Protected: with --skip-protected, the row touches a protected user or
	// role and was not sent.
	Protected Status = "protected"

	// Undo statuses, used by `undo` (with NotFound, Failed and Skipped).
	Restored   Status = "restored"   // the role was assigned again
	Present    Status = "present"    // already assigned again since: nothing sent
	Unverified Status = "unverified" // removed by an unchecked run: not re-assigned

	// Planned actions, used by `plan`.
	PlanRemove     Status = "remove"
	PlanAbsent     Status = "absent"
	PlanNotFound   Status = "not_found"
	PlanUnresolved Status = "unresolved"
)

// Outcome of a whole run.
const (
	Completed             = "completed"
	CompletedWithFailures = "completed_with_failures"
	Aborted               = "aborted"
	Planned               = "planned"
)

// Commands a report can record.
const (
	CommandPlan  = "plan"
	CommandApply = "apply"
	CommandUndo  = "undo"
)

// Result is one input (organization, user, role) triple and what became of it.
type Result struct {
	UserID         string `json:"user_id"`
	UserEmail      string `json:"user_email"`
	OrganizationID string `json:"organization_id"`
	RoleID         string `json:"role_id"`
	RoleName       string `json:"role_name"`
	Status         Status `json:"status"`
	HTTPStatus     int    `json:"http_status"`
	Attempts       int    `json:"attempts"`
	Error          string `json:"error"`
	Lines          []int  `json:"lines"`
	Reason         string `json:"reason"`
}

// Input describes the file a run read, and where its removals came from when
// they were not a file's rows (a sweep) or undo an earlier run. Sweep and
// Undoes are pointers so that Input stays comparable and reports without
// them keep their v0.1 shape.
type Input struct {
	Path   string  `json:"path"`
	Format string  `json:"format"`
	SHA256 string  `json:"sha256"`
	Rows   int     `json:"rows"`
	Sweep  *Sweep  `json:"sweep,omitempty"`
	Undoes *Undoes `json:"undoes,omitempty"`
}

// Sweep records `--sweep ROLE … [--keep FILE]`: the roles whose holders were
// read from the tenant, and the keep list that was honoured.
type Sweep struct {
	Roles []SweptRole `json:"roles"`
	Keep  *FileRef    `json:"keep,omitempty"`
}

// SweptRole is one swept role, by id and (when the tenant said) name.
type SweptRole struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// FileRef names a file by path and the SHA-256 of its bytes, so an auditor
// can tell that the file they hold is the one that was read.
type FileRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Undoes links an undo report back to the apply report it undid.
type Undoes struct {
	Path       string `json:"path"`
	SHA256     string `json:"sha256"`
	Domain     string `json:"domain"`
	PlanDigest string `json:"plan_digest,omitempty"`
}

// Run is the evidence of who ran a command and with which settings, for an
// auditor: never a secret, only the client id.
type Run struct {
	Operator string   `json:"operator,omitempty"` // user@host
	ClientID string   `json:"client_id,omitempty"`
	Checked  bool     `json:"checked"` // current assignments were read first
	Flags    RunFlags `json:"flags"`
}

// RunFlags are the flags that change what is removed (or restored). Pointers
// distinguish "not given" from a meaningful zero (--max-removals 0 refuses
// every removal; --reserve 0 is all-out pacing).
type RunFlags struct {
	Verify            bool     `json:"verify"`
	MaxRemovals       *int     `json:"max_removals,omitempty"`
	Reserve           *int     `json:"reserve,omitempty"`
	Protect           []string `json:"protect,omitempty"`       // protect list files
	ProtectUsers      []string `json:"protect_users,omitempty"` // given on the command line
	ProtectRoles      []string `json:"protect_roles,omitempty"`
	SkipProtected     bool     `json:"skip_protected,omitempty"`
	Preset            string   `json:"preset,omitempty"`
	Map               []string `json:"map,omitempty"`   // FIELD=COLUMN
	Where             []string `json:"where,omitempty"` // COLUMN=VALUE[,VALUE…]
	AllowExtraColumns bool     `json:"allow_extra_columns,omitempty"`
	IncludeUnverified bool     `json:"include_unverified,omitempty"` // undo
	DryRun            bool     `json:"dry_run,omitempty"`            // undo
}

// ApplyResult is a result's status in the vocabulary of Microsoft Entra ID
// access reviews' applyResult, so a report can be written back to a review
// tool as it is.
type ApplyResult string

const (
	AppliedSuccessfully                  ApplyResult = "AppliedSuccessfully"
	AppliedSuccessfullyButObjectNotFound ApplyResult = "AppliedSuccessfullyButObjectNotFound"
	AppliedWithUnknownFailure            ApplyResult = "AppliedWithUnknownFailure"
	ApplyNotSupported                    ApplyResult = "ApplyNotSupported"
	ApplyNew                             ApplyResult = "New"
)

// ApplyResult derives the Entra applyResult from a status; it is never
// stored, so it cannot disagree with the status. Beyond the contract's
// table: a planned removal is New (not yet applied); an unresolved row will
// fail (AppliedWithUnknownFailure); an undo's restored and present rows are
// what the reviewer's decision now holds (AppliedSuccessfully); an
// unverified row was withheld by policy, like a protected one
// (ApplyNotSupported). An unknown status is reported as a failure.
func (s Status) ApplyResult() ApplyResult {
	switch s {
	case Removed, Absent, Restored, Present: // Absent is also PlanAbsent
		return AppliedSuccessfully
	case NotFound: // also PlanNotFound
		return AppliedSuccessfullyButObjectNotFound
	case Protected, Unverified:
		return ApplyNotSupported
	case Skipped, PlanRemove:
		return ApplyNew
	default: // Failed, PlanUnresolved, unknown
		return AppliedWithUnknownFailure
	}
}

// Statuses lists every status a report of kind command may hold, in the
// order renderers show them.
func Statuses(command string) []Status {
	switch command {
	case CommandPlan:
		return []Status{PlanRemove, PlanAbsent, PlanNotFound, PlanUnresolved, Protected}
	case CommandUndo:
		return []Status{Restored, Present, NotFound, Failed, Unverified, Skipped}
	default:
		return []Status{Removed, Absent, NotFound, Failed, Protected, Skipped}
	}
}

// Summary counts a report's results and the requests a run made.
type Summary struct {
	Users      int `json:"users"`
	Roles      int `json:"roles"`
	Remove     int `json:"remove,omitempty"`     // plans only
	Unresolved int `json:"unresolved,omitempty"` // plans only
	Removed    int `json:"removed"`
	Absent     int `json:"absent"`
	NotFound   int `json:"not_found"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	Protected  int `json:"protected"`
	Restored   int `json:"restored,omitempty"`   // undo only
	Present    int `json:"present,omitempty"`    // undo only
	Unverified int `json:"unverified,omitempty"` // undo only
	Duplicates int `json:"duplicates"`
	Excluded   int `json:"excluded"` // rows left out by --where

	Requests    int `json:"requests"`
	Retries     int `json:"retries"`
	RateLimited int `json:"rate_limited"`
}

// Report is the whole record of a run (or a plan), as an auditor keeps it.
type Report struct {
	Version     int       `json:"version"`
	Tool        string    `json:"tool"`
	Command     string    `json:"command"`
	Domain      string    `json:"domain"`
	Input       Input     `json:"input"`
	PlanDigest  string    `json:"plan_digest,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Outcome     string    `json:"outcome"`
	AbortReason string    `json:"abort_reason"`
	Run         *Run      `json:"run,omitempty"`
	Summary     Summary   `json:"summary"`
	Results     []Result  `json:"results"`

	// ReportDigest is ReportDigest(r) as the report was written: undo
	// refuses an apply report edited since.
	ReportDigest string `json:"report_digest,omitempty"`

	// FullReports names the other reports written for this run, for the
	// Markdown report to point at when it lists only the first rows. It is
	// not part of the JSON report.
	FullReports []string `json:"-"`

	// source, when set, supplies the rows instead of Results: a run keeps
	// its plan's triples and its outcomes apart and joins them here.
	source RowSource
}

// RowSource supplies a report's rows by index, joining what a run planned
// with what became of it, so a million-row report is never copied whole.
type RowSource interface {
	Len() int
	Row(i int) Result
}

// Join makes src the report's rows; Results is ignored from then on.
func (r *Report) Join(src RowSource) {
	r.source = src
	r.Results = nil
}

// Len is the number of rows.
func (r *Report) Len() int {
	if r.source != nil {
		return r.source.Len()
	}
	return len(r.Results)
}

// At returns row i; renderers that need random access use it.
func (r *Report) At(i int) Result {
	if r.source != nil {
		return r.source.Row(i)
	}
	return r.Results[i]
}

// GroupKey identifies an (organization, user) group across packages and
// runs: the request a group is sent in, the users a summary counts, the line
// a journal keeps. Exactly one of UserID and UserEmail is set: a user id and
// an email spelled alike are different users.
type GroupKey struct {
	OrganizationID string
	UserID         string
	UserEmail      string // only for a user never resolved to an id
}

// KeyOf is the group key of a row: its user by id when one is known, else
// by email.
func KeyOf(organizationID, userID, email string) GroupKey {
	if userID != "" {
		return GroupKey{OrganizationID: organizationID, UserID: userID}
	}
	return GroupKey{OrganizationID: organizationID, UserEmail: email}
}

// Gone reports whether a status means the role is no longer assigned:
// removed now, already absent, or its user or role no longer exists.
func Gone(s Status) bool {
	return s == Removed || s == Absent || s == NotFound
}

// Rows yields every result in report order. Renderers read results only
// through it, so that a run can keep its outcomes apart from the plan's
// triples and join them here instead of copying a million rows.
func (r *Report) Rows() iter.Seq[*Result] {
	return func(yield func(*Result) bool) {
		if r.source != nil {
			for i := range r.source.Len() {
				// A fresh row each time: renderers may keep the pointer.
				row := r.source.Row(i)
				if !yield(&row) {
					return
				}
			}
			return
		}
		for i := range r.Results {
			if !yield(&r.Results[i]) {
				return
			}
		}
	}
}

// Tally recomputes r.Summary's per-status counts, Users (distinct
// (organization_id, user) pairs) and Roles (number of results) from
// r.Results. Duplicates, Excluded, Requests, Retries and RateLimited are counted while
// the run happens, not derived from results, so they are kept as they are.
//
// A result whose status is not one of the known statuses is counted in Roles
// but in no status column, so the columns then visibly fail to add up;
// ReadJSON refuses such files.
func (r *Report) Tally() {
	s := Summary{
		Duplicates:  r.Summary.Duplicates,
		Excluded:    r.Summary.Excluded,
		Requests:    r.Summary.Requests,
		Retries:     r.Summary.Retries,
		RateLimited: r.Summary.RateLimited,
		Roles:       r.Len(),
	}
	// A source that knows its groups counts the users; otherwise they are
	// counted here (a user's rows usually come together, so only a new key
	// is looked up).
	counted, knowsUsers := r.source.(interface{ Users() int })
	users := make(map[GroupKey]struct{})
	var last GroupKey
	for res := range r.Rows() {
		if knowsUsers {
			// counted below
		} else if k := KeyOf(res.OrganizationID, res.UserID, res.UserEmail); k != last || len(users) == 0 {
			users[k] = struct{}{}
			last = k
		}
		switch res.Status {
		case PlanRemove:
			s.Remove++
		case PlanUnresolved:
			s.Unresolved++
		case Removed:
			s.Removed++
		case Absent: // also PlanAbsent
			s.Absent++
		case NotFound: // also PlanNotFound
			s.NotFound++
		case Failed:
			s.Failed++
		case Skipped:
			s.Skipped++
		case Protected:
			s.Protected++
		case Restored:
			s.Restored++
		case Present:
			s.Present++
		case Unverified:
			s.Unverified++
		}
	}
	s.Users = len(users)
	if knowsUsers {
		s.Users = counted.Users()
	}
	r.Summary = s
}

// SetOutcome derives the outcome of a finished run from its results, unless
// the run was already marked Aborted or is a plan (Planned).
//
// For undo, Completed means every removal is restored or present again.
//
// Completed means what exit code 0 promises: every role is now absent from
// its user (removed, absent or not_found). Anything else — failed, but also
// skipped or a planned action left in an apply report, which would be a bug
// upstream — makes it CompletedWithFailures, so a report never claims a
// success that did not happen.
func (r *Report) SetOutcome() {
	if r.Outcome == Aborted || r.Outcome == Planned {
		return
	}
	r.Outcome = Completed
	undo := r.IsUndo()
	for res := range r.Rows() {
		ok := Gone(res.Status)
		if undo {
			// An undo succeeds only when each removal is back.
			ok = res.Status == Restored || res.Status == Present
		}
		if !ok {
			r.Outcome = CompletedWithFailures
			return
		}
	}
}

// IsPlan reports whether r is a plan rather than the record of an apply run.
func (r *Report) IsPlan() bool {
	return r.Outcome == Planned || r.Command == "plan"
}

// IsUndo reports whether r is the record of an undo run.
func (r *Report) IsUndo() bool { return r.Command == CommandUndo }

// kind names the kind of file r is, for messages.
func (r *Report) kind() string {
	switch {
	case r.IsPlan():
		return "a plan"
	case r.IsUndo():
		return "an undo report"
	default:
		return "an apply report"
	}
}

// validStatus reports whether s may appear in r's kind of file.
func (r *Report) validStatus(s Status) bool {
	switch {
	case r.IsPlan():
		switch s {
		case PlanRemove, PlanAbsent, PlanNotFound, PlanUnresolved, Protected:
			return true
		}
	case r.IsUndo():
		switch s {
		case Restored, Present, NotFound, Failed, Unverified, Skipped:
			return true
		}
	default:
		switch s {
		case Removed, Absent, NotFound, Failed, Protected, Skipped:
			return true
		}
	}
	return false
}

// CheckDigest verifies that r.PlanDigest matches r's content: a plan edited
// after `plan --out` wrote it fails here.
func (r *Report) CheckDigest() error {
	if r.PlanDigest == "" {
		return fmt.Errorf("the plan has no plan_digest (save plans with plan --out)")
	}
	if got := Digest(r); got != r.PlanDigest {
		return fmt.Errorf("the plan was edited after it was saved: plan_digest %s, content %s", r.PlanDigest, got)
	}
	return nil
}
