package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/report"
)

// Reader is the part of the Management API client that reads: the check
// step and resolution take only a Reader, so a dry run cannot send a DELETE
// by its type. *management.Client implements it.
type Reader interface {
	UserRoles(ctx context.Context, userID string, page, perPage int) (management.RolesPage, management.Response, error)
	OrganizationMemberRoles(ctx context.Context, orgID, userID string, page, perPage int) (management.RolesPage, management.Response, error)
	Roles(ctx context.Context, nameFilter string, page, perPage int) (management.RolesPage, management.Response, error)
	UsersByEmail(ctx context.Context, email string) ([]management.User, management.Response, error)
	// A role's holders: page-based (the first 1,000 only), then checkpoint.
	RoleUsers(ctx context.Context, roleID string, page, perPage int) (management.UsersPage, management.Response, error)
	RoleUsersFrom(ctx context.Context, roleID, from string, take int) (management.CheckpointPage, management.Response, error)
}

// Remover is the part of the client that changes the tenant.
type Remover interface {
	RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) (management.Response, error)
	RemoveOrganizationMemberRoles(ctx context.Context, orgID, userID string, roleIDs []string) (management.Response, error)
}

// API reads and removes: what an apply run needs.
type API interface {
	Reader
	Remover
}

// AbortError stops a run before it finished: 401/403 from the tenant, a
// guard, a plan mismatch or an interrupt. Everything not done is `skipped`.
type AbortError struct {
	Reason string
	Err    error
}

func (e *AbortError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *AbortError) Unwrap() error { return e.Err }

// Executor removes the roles of a plan with bounded concurrency, all requests
// paced by one shared Pacer.
type Executor struct {
	API         API
	Pacer       *pacer.Pacer
	Concurrency int
	// Check reads the current assignments first (the cheaper way, see
	// reads.go); unassigned roles become absent and are not sent. Execute
	// reads first unless Read already did.
	Check  bool
	Verify bool // read back after removing; a role still held becomes failed
	Log    *slog.Logger
	// GroupDone, when set, is called once for every group that finished
	// (not skipped), with the run's outcomes. Calls come concurrently from
	// the workers, so that a journal can batch them into one fsync. An
	// error stops the run: a run whose journal fails must not go on
	// removing what it can no longer record for --resume.
	GroupDone func(g int, out []Outcome) error
	// Grace is how long requests on the wire may finish once ctx ends
	// (GracePeriod when 0); closing Hurry ends the grace period at once.
	Grace time.Duration
	Hurry <-chan struct{}

	Progress Progress
	// ReadProgress counts the triples whose assignment the read phase read.
	ReadProgress Progress
	// MaxHolders caps one role's holder listing (MaxHolders when 0).
	MaxHolders int

	read  bool
	stats ReadStats
}

// readerOf reads for act through api: a removal keeps the roles found held
// pending, an assignment the roles found not held.
func (e *Executor) readerOf(api Reader, act action) *reads {
	return &reads{api: api, pacer: e.Pacer, concurrency: e.Concurrency, log: e.Log, progress: &e.ReadProgress, maxHolders: e.MaxHolders,
		keepNotHeld: !act.onHeld, unchanged: act.unchanged}
}

// Read is the read phase of a checked run: it reads the current assignments
// of the given groups (all when nil) and marks the triples not held absent
// and those whose read failed with the failure, before anything is removed,
// so that guards can count what will really be removed (Removing). Execute
// then sends only what is held. An *AbortError means 401/403 or an
// interrupt.
func (e *Executor) Read(ctx context.Context, p *Plan, out []Outcome, groups []int) error {
	return e.readPhase(ctx, e.API, removal(e.API), p, out, groups)
}

func (e *Executor) readPhase(ctx context.Context, reader Reader, act action, p *Plan, out []Outcome, groups []int) error {
	e.read = true
	r := e.readerOf(reader, act)
	err := r.classify(ctx, p, out, groups)
	e.stats = r.stats
	return err
}

// ReadStats says how the read phase read.
func (e *Executor) ReadStats() ReadStats { return e.stats }

// Removing counts the triples of the given groups (all when nil) still to
// remove: after Read, only roles really assigned.
func Removing(p *Plan, out []Outcome, groups []int) int {
	n := 0
	if groups == nil {
		for _, o := range out {
			if o.Status == report.Skipped {
				n++
			}
		}
		return n
	}
	for _, gi := range groups {
		n += len(pending(p.Groups[gi], out, report.Skipped))
	}
	return n
}

// Progress counts finished triples; it is read by the progress display while
// the run goes on.
type Progress struct {
	Total atomic.Int64
	Done  atomic.Int64
}

// Execute runs the given groups of p (all of them when groups is nil) and
// fills their slots in out, which must have one slot per triple, prefilled
// (Skipped for work to do; anything else is left alone).
//
// When ctx ends no new group starts, waiting requests give up, and their
// triples stay skipped; requests already on the wire get the grace period.
// The returned error is an *AbortError when the run did not finish; the
// cause of ctx, when it is one, is returned as it is.
func (e *Executor) Execute(ctx context.Context, p *Plan, out []Outcome, groups []int) error {
	return e.run(ctx, e.API, removal(e.API), p, out, groups)
}

// run is Execute with the change to make: removals (apply) or assignments
// (undo) share the read phase, the pacing, the grace period and the
// journal hook.
func (e *Executor) run(ctx context.Context, reader Reader, act action, p *Plan, out []Outcome, groups []int) error {
	if e.Check && !e.read {
		if err := e.readPhase(ctx, reader, act, p, out, groups); err != nil {
			return err
		}
	}
	requests, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	returned := make(chan struct{})
	defer close(returned)
	grace := e.Grace
	if grace == 0 {
		grace = GracePeriod
	}
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-e.Hurry: // a nil channel never delivers
		case <-returned:
		}
		cancelRequests()
	})
	defer stopGrace()
	return eachGroup(ctx, p, groups, e.Concurrency, e.Pacer, &e.Progress,
		func(gi int) error { return e.runGroup(requests, reader, act, p, gi, out) },
		func(gi int) error { return e.finished(p, gi, out) })
}

// eachGroup runs the given groups (all when nil) with bounded concurrency
// until ctx ends; run's error stops the rest.
func eachGroup(ctx context.Context, p *Plan, groups []int, limit int, pc *pacer.Pacer, progress *Progress,
	run func(gi int) error, finished func(gi int) error) error {
	if groups == nil {
		groups = make([]int, len(p.Groups))
		for i := range groups {
			groups[i] = i
		}
	}
	for _, gi := range groups {
		progress.Total.Add(int64(len(p.Groups[gi].Triples)))
	}
	dispatch, stopDispatch := context.WithCancelCause(ctx)
	defer stopDispatch(nil)
	stopPacer := context.AfterFunc(dispatch, pc.Stop)
	defer stopPacer()

	var g errgroup.Group
	g.SetLimit(max(1, limit))
	for _, gi := range groups {
		if dispatch.Err() != nil {
			break
		}
		g.Go(func() error {
			if dispatch.Err() != nil {
				return nil
			}
			if err := run(gi); err != nil {
				stopDispatch(err)
			}
			progress.Done.Add(int64(len(p.Groups[gi].Triples)))
			if finished != nil {
				if err := finished(gi); err != nil {
					stopDispatch(&AbortError{Reason: "the journal could not be written", Err: err})
				}
			}
			return nil
		})
	}
	_ = g.Wait()

	if cause := context.Cause(dispatch); cause != nil && !errors.Is(cause, context.Canceled) {
		var abort *AbortError
		if errors.As(cause, &abort) {
			return abort
		}
		return &AbortError{Reason: "stopped", Err: cause}
	}
	if dispatch.Err() != nil {
		return &AbortError{Reason: "interrupted"}
	}
	return nil
}

func (e *Executor) finished(p *Plan, gi int, out []Outcome) error {
	if e.GroupDone == nil {
		return nil
	}
	for _, ti := range p.Groups[gi].Triples {
		if out[ti].Status == report.Skipped {
			return nil // interrupted before it was attempted: not finished
		}
	}
	return e.GroupDone(gi, out)
}

// pending lists the triples of a group still to do.
func pending(g Group, out []Outcome, todo report.Status) []int {
	ps := make([]int, 0, len(g.Triples))
	for _, ti := range g.Triples {
		if out[ti].Status == todo {
			ps = append(ps, ti)
		}
	}
	return ps
}

// action is the change a run makes to each group's pending roles.
type action struct {
	doing string // "removing roles", for errors
	// done is the status of a success; unchanged is the status of a role
	// the check found already as wanted (absent for a removal).
	done, unchanged report.Status
	// onHeld: the change applies to roles the user holds (a removal), or
	// to roles the user does not hold (an assignment).
	onHeld bool
	// notStuck is the error of a role the read-back finds unchanged.
	notStuck string
	// splitNotFound sends a group's roles one by one after a 404 for all
	// of them: one role deleted since must not keep the others from their
	// user (Auth0 assigns all of a request's roles or none).
	splitNotFound bool
	send          func(ctx context.Context, g Group, roleIDs []string) (management.Response, error)
}

// removal is apply's action: one DELETE per group.
func removal(api Remover) action {
	return action{
		doing: "removing roles", done: report.Removed, unchanged: report.Absent, onHeld: true,
		notStuck: "still assigned after removal",
		send: func(ctx context.Context, g Group, roleIDs []string) (management.Response, error) {
			if g.OrganizationID != "" {
				return api.RemoveOrganizationMemberRoles(ctx, g.OrganizationID, g.UserID, roleIDs)
			}
			return api.RemoveUserRoles(ctx, g.UserID, roleIDs)
		},
	}
}

// runGroup checks, changes and verifies one group. Per-triple outcomes go
// into out; only a run-stopping failure (401/403) is returned.
func (e *Executor) runGroup(ctx context.Context, reader Reader, act action, p *Plan, gi int, out []Outcome) error {
	g := p.Groups[gi]
	todo := pending(g, out, report.Skipped)
	if len(todo) == 0 {
		return nil
	}
	log := logger(e.Log)
	roleIDs := distinctRoleIDs(p, todo)
	res := e.Pacer.Call(ctx, func(ctx context.Context) (management.Response, error) {
		return act.send(ctx, g, roleIDs)
	})
	if act.splitNotFound && len(roleIDs) > 1 && roleNotFound(res) {
		return e.oneByOne(ctx, reader, act, p, g, todo, out, res.Attempts)
	}
	if err := settle(log, p, out, todo, res, act.doing); err != nil || res.Err != nil {
		return err
	}
	for _, ti := range todo {
		out[ti].Status = act.done // settle calls every success a removal
	}
	return e.verify(ctx, reader, act, p, g, todo, out)
}

// verify reads a group's roles back after a change that succeeded for the
// triples done; one the tenant shows unchanged becomes failed.
func (e *Executor) verify(ctx context.Context, reader Reader, act action, p *Plan, g Group, done []int, out []Outcome) error {
	if !e.Verify || len(done) == 0 {
		return nil
	}
	held, vres := e.readerOf(reader, act).currentRoles(ctx, g, nil)
	if vres.Err != nil {
		// The change succeeded; only the read-back failed. Say so rather
		// than claim a verification that did not happen.
		for _, ti := range done {
			out[ti].Status = report.Failed
			out[ti].Error = fmt.Sprintf("%s, but verification failed: %v", act.done, vres.Err)
		}
		return fatal(vres)
	}
	for _, ti := range done {
		if held.has(p.Triples[ti].RoleID) == act.onHeld {
			out[ti].Status = report.Failed
			out[ti].Error = act.notStuck
		}
	}
	return nil
}

// roleNotFound reports a 404 that may be about one of the request's roles:
// any 404 but Auth0's "inexistent_user", which is about all of them.
func roleNotFound(res pacer.Outcome) bool {
	var apiErr *management.APIError
	return res.Class == pacer.Permanent && errors.As(res.Err, &apiErr) && apiErr.StatusCode == 404 && apiErr.ErrorCode != "inexistent_user"
}

// oneByOne sends each role of a group in a request of its own, after the
// request for all of them was answered 404 (spent attempts, counted on each
// triple), and verifies them like runGroup does.
func (e *Executor) oneByOne(ctx context.Context, reader Reader, act action, p *Plan, g Group, todo []int, out []Outcome, spent int) error {
	log := logger(e.Log)
	var sent []int
	for _, id := range distinctRoleIDs(p, todo) {
		var mine []int
		for _, ti := range todo {
			if p.Triples[ti].RoleID == id {
				mine = append(mine, ti)
				out[ti].Attempts += spent
			}
		}
		res := e.Pacer.Call(ctx, func(ctx context.Context) (management.Response, error) {
			return act.send(ctx, g, []string{id})
		})
		if err := settle(log, p, out, mine, res, act.doing); err != nil {
			return err
		}
		if res.Err == nil {
			for _, ti := range mine {
				out[ti].Status = act.done
			}
			sent = append(sent, mine...)
		}
	}
	return e.verify(ctx, reader, act, p, g, sent, out)
}

// Checker classifies a plan against the tenant without changing it: it
// holds only a Reader, so it cannot remove anything. It is `plan --check`.
type Checker struct {
	Reader      Reader
	Pacer       *pacer.Pacer
	Concurrency int
	Log         *slog.Logger
	Progress    Progress
	// MaxHolders caps one role's holder listing (MaxHolders when 0).
	MaxHolders int

	stats ReadStats
}

// Check reads the current assignments of every triple still pending (status
// Skipped) and fills out with planned actions: remove (held), absent (not
// held) or not_found; any other status is left alone. A read that failed
// for a reason that may pass (429s, 5xx, timeouts) keeps the removal, with
// the reason as its error: apply will read again. Any other failure (an
// unreadable answer, a listing that does not end, a 4xx) leaves the triple
// failed, which is no planned action: the caller must not save such a plan.
// 401/403 and interrupts return an *AbortError.
func (c *Checker) Check(ctx context.Context, p *Plan, out []Outcome) error {
	for _, g := range p.Groups {
		c.Progress.Total.Add(int64(len(pending(g, out, report.Skipped))))
	}
	todo := make([]bool, len(out))
	for i := range out {
		todo[i] = out[i].Status == report.Skipped
	}
	r := &reads{api: c.Reader, pacer: c.Pacer, concurrency: c.Concurrency, log: c.Log, progress: &c.Progress, maxHolders: c.MaxHolders}
	r.onFailure = func(ti int, res pacer.Outcome) bool {
		if res.Class != pacer.Retryable && res.Class != pacer.RateLimited {
			return false
		}
		out[ti].Status = report.PlanRemove
		out[ti].Attempts += res.Attempts
		out[ti].Error = fmt.Sprintf("current roles could not be read after %d attempts: %v", res.Attempts, res.Err)
		return true
	}
	if err := r.classify(ctx, p, out, nil); err != nil {
		c.stats = r.stats
		return err
	}
	c.stats = r.stats
	for i := range out {
		if todo[i] && out[i].Status == report.Skipped {
			out[i].Status = report.PlanRemove // read and held
		}
	}
	return nil
}

// ReadStats says how the last Check read.
func (c *Checker) ReadStats() ReadStats { return c.stats }

// settle records the outcome of one paced call on every pending triple of a
// group. A success only records attempts: the caller decides the status.
func settle(log *slog.Logger, p *Plan, out []Outcome, todo []int, res pacer.Outcome, doing string) error {
	st, msg := statusOf(res, doing)
	if st == report.Failed {
		first := &p.Triples[todo[0]]
		log.Warn("roles not removed", "user", first.UserID, "organization", first.OrganizationID,
			"roles", len(todo), "attempts", res.Attempts, "error", msg)
	}
	for _, ti := range todo {
		o := &out[ti]
		o.Attempts += res.Attempts
		o.HTTPStatus = res.Response.StatusCode
		o.Status = st
		o.Error = msg
	}
	return fatal(res)
}

// fatal is the error that stops the whole run after this outcome, or nil:
// what failed here would fail for every row, so the rest are skipped rather
// than each sent to fail the same way.
func fatal(res pacer.Outcome) error {
	switch {
	case errors.Is(res.Err, management.ErrTokenUnavailable):
		// The token endpoint kept failing through its own bounded tries.
		return &AbortError{Reason: "no token from the tenant's token endpoint", Err: res.Err}
	case res.Class == pacer.Auth:
		return &AbortError{Reason: "the tenant refused the token", Err: res.Err}
	case res.Class == pacer.Unreachable:
		// Network failures in a row, no answer in between: the tenant is
		// gone, and every row would fail the same way, minutes each.
		return &AbortError{Reason: "the tenant stopped answering", Err: res.Err}
	}
	return nil
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// statusOf maps a paced call's outcome to a result status; it is the one
// place that decides what an error means for a triple.
func statusOf(out pacer.Outcome, doing string) (report.Status, string) {
	switch out.Class {
	case pacer.Success:
		return report.Removed, ""
	case pacer.Canceled, pacer.Unreachable:
		if out.Unsent {
			// Nothing sent, or only attempts the tenant refused before acting
			// (429s, a refused connection): certainly not applied.
			return report.Skipped, ""
		}
		if out.Class == pacer.Unreachable {
			return report.Failed, fmt.Sprintf("the tenant stopped answering while %s after %d attempts; the outcome is unknown: %v", doing, out.Attempts, out.Err)
		}
		return report.Failed, fmt.Sprintf("interrupted while %s after %d attempts; the outcome is unknown: %v", doing, out.Attempts, out.Err)
	case pacer.Permanent:
		var apiErr *management.APIError
		if errors.As(out.Err, &apiErr) && apiErr.StatusCode == 404 {
			return report.NotFound, apiErr.Message
		}
		return report.Failed, out.Err.Error()
	case pacer.Retryable, pacer.RateLimited:
		return report.Failed, fmt.Sprintf("gave up after %d attempts: %v", out.Attempts, out.Err)
	default: // pacer.Auth
		return report.Failed, out.Err.Error()
	}
}

func distinctRoleIDs(p *Plan, idx []int) []string {
	ids := make([]string, 0, len(idx))
	seen := make(map[string]bool, len(idx))
	for _, ti := range idx {
		id := p.Triples[ti].RoleID
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// perPage is the largest page the Management API serves.
const perPage = 100

// DefaultConcurrency is --concurrency's default: enough requests in flight to
// keep a 200-per-second bucket busy at 250 ms of latency. The pacer keeps
// fewer in flight whenever the tenant's bucket runs low.
const DefaultConcurrency = 64

// GracePeriod is how long requests already on the wire may take to finish
// after the first interrupt.
const GracePeriod = 10 * time.Second
