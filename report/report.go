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

// Input describes the file a run read.
type Input struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
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
	Duplicates int `json:"duplicates"`

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
	Summary     Summary   `json:"summary"`
	Results     []Result  `json:"results"`

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
// r.Results. Duplicates, Requests, Retries and RateLimited are counted while
// the run happens, not derived from results, so they are kept as they are.
//
// A result whose status is not one of the known statuses is counted in Roles
// but in no status column, so the columns then visibly fail to add up;
// ReadJSON refuses such files.
func (r *Report) Tally() {
	s := Summary{
		Duplicates:  r.Summary.Duplicates,
		Requests:    r.Summary.Requests,
		Retries:     r.Summary.Retries,
		RateLimited: r.Summary.RateLimited,
		Roles:       r.Len(),
	}
	users := make(map[GroupKey]struct{})
	for res := range r.Rows() {
		users[KeyOf(res.OrganizationID, res.UserID, res.UserEmail)] = struct{}{}
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
		}
	}
	s.Users = len(users)
	r.Summary = s
}

// SetOutcome derives the outcome of a finished run from its results, unless
// the run was already marked Aborted or is a plan (Planned).
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
	for res := range r.Rows() {
		if !Gone(res.Status) {
			r.Outcome = CompletedWithFailures
			return
		}
	}
}

// IsPlan reports whether r is a plan rather than the record of an apply run.
func (r *Report) IsPlan() bool {
	return r.Outcome == Planned || r.Command == "plan"
}

// validStatus reports whether s may appear in a plan (plan true) or in the
// report of an apply run.
func validStatus(s Status, plan bool) bool {
	switch s {
	case Absent, NotFound: // also PlanAbsent, PlanNotFound
		return true
	case PlanRemove, PlanUnresolved:
		return plan
	case Removed, Failed, Skipped:
		return !plan
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
