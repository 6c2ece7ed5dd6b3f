package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/report"
)

// API is the part of the Management API client that reconcile uses;
// *management.Client implements it.
type API interface {
	RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) (management.Response, error)
	RemoveOrganizationMemberRoles(ctx context.Context, orgID, userID string, roleIDs []string) (management.Response, error)
	UserRoles(ctx context.Context, userID string, page, perPage int) (management.RolesPage, management.Response, error)
	OrganizationMemberRoles(ctx context.Context, orgID, userID string, page, perPage int) (management.RolesPage, management.Response, error)
	Roles(ctx context.Context, nameFilter string, page, perPage int) (management.RolesPage, management.Response, error)
	UsersByEmail(ctx context.Context, email string) ([]management.User, management.Response, error)
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
	Check       bool // read each group's current roles first; unassigned roles become absent
	Verify      bool // read back after removing; a role still held becomes failed
	// DryRun only checks (with Check): roles held become PlanRemove and
	// nothing is removed. It is how `plan --check` classifies a plan.
	DryRun bool
	Log    *slog.Logger
	// GroupDone, when set, is called once for every group that finished
	// (not skipped), with the group's result slots. Calls are serialised.
	// An error stops the run: it is how the journal keeps its promise that
	// nothing is removed without being recorded.
	GroupDone func(g int, results []report.Result) error

	Progress Progress

	doneMu sync.Mutex
}

// Progress counts finished triples; it is read by the progress display while
// the run goes on.
type Progress struct {
	Total atomic.Int64
	Done  atomic.Int64
}

// Execute runs the given groups of p (all of them when groups is nil) and
// fills their result slots in results, which must have one slot per triple,
// prefilled (Skipped for work to do; anything else is left alone).
//
// dispatch ends the run early: once it is done no new group starts, waiting
// requests give up, and their triples stay skipped. requests bounds the
// requests already on the wire; the caller cancels it after a grace period.
// The returned error is an *AbortError when the run did not finish.
func (e *Executor) Execute(dispatch, requests context.Context, p *Plan, results []report.Result, groups []int) error {
	if groups == nil {
		groups = make([]int, len(p.Groups))
		for i := range groups {
			groups[i] = i
		}
	}
	for _, gi := range groups {
		e.Progress.Total.Add(int64(len(p.Groups[gi].Triples)))
	}
	dispatch, stopDispatch := context.WithCancelCause(dispatch)
	defer stopDispatch(nil)
	stopPacer := context.AfterFunc(dispatch, e.Pacer.Stop)
	defer stopPacer()

	var g errgroup.Group
	g.SetLimit(max(1, e.Concurrency))
	for _, gi := range groups {
		if dispatch.Err() != nil {
			break
		}
		g.Go(func() error {
			if dispatch.Err() != nil {
				return nil
			}
			if err := e.runGroup(requests, p, gi, results); err != nil {
				stopDispatch(err)
			}
			if err := e.finished(p, gi, results); err != nil {
				stopDispatch(&AbortError{Reason: "the journal could not be written", Err: err})
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

func (e *Executor) finished(p *Plan, gi int, results []report.Result) error {
	e.doneMu.Lock()
	defer e.doneMu.Unlock()
	e.Progress.Done.Add(int64(len(p.Groups[gi].Triples)))
	if e.GroupDone == nil {
		return nil
	}
	for _, ti := range p.Groups[gi].Triples {
		if results[ti].Status == report.Skipped {
			return nil // interrupted before it was attempted: not finished
		}
	}
	return e.GroupDone(gi, results)
}

// runGroup checks, removes and verifies one group. Per-triple outcomes go
// into results; only a run-stopping failure (401/403) is returned.
func (e *Executor) runGroup(ctx context.Context, p *Plan, gi int, results []report.Result) error {
	g := p.Groups[gi]
	pending := make([]int, 0, len(g.Triples))
	for _, ti := range g.Triples {
		if results[ti].Status == report.Skipped {
			pending = append(pending, ti)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	if e.Check {
		held, out := e.currentRoles(ctx, g)
		if out.Err != nil && e.DryRun && (out.Class == pacer.Retryable || out.Class == pacer.RateLimited) {
			// A plan cannot know; it keeps the removal, says why, and apply
			// will try again.
			for _, ti := range pending {
				results[ti].Status = report.PlanRemove
				results[ti].Error = fmt.Sprintf("current roles could not be read after %d attempts: %v", out.Attempts, out.Err)
			}
			return nil
		}
		if out.Err != nil {
			return e.settle(results, pending, out, "reading current roles")
		}
		still := pending[:0]
		for _, ti := range pending {
			if held[results[ti].RoleID] {
				still = append(still, ti)
				continue
			}
			results[ti].Status = report.Absent
			results[ti].HTTPStatus = out.Response.StatusCode
		}
		pending = still
		if e.DryRun {
			for _, ti := range pending {
				results[ti].Status = report.PlanRemove
				results[ti].HTTPStatus = out.Response.StatusCode
			}
			return nil
		}
		if len(pending) == 0 {
			return nil
		}
	}

	roleIDs := distinctRoleIDs(results, pending)
	out := e.Pacer.Call(ctx, func(ctx context.Context) (management.Response, error) {
		if g.OrganizationID != "" {
			return e.API.RemoveOrganizationMemberRoles(ctx, g.OrganizationID, g.UserID, roleIDs)
		}
		return e.API.RemoveUserRoles(ctx, g.UserID, roleIDs)
	})
	if err := e.settle(results, pending, out, "removing roles"); err != nil || out.Err != nil {
		return err
	}
	if !e.Verify {
		return nil
	}
	held, vout := e.currentRoles(ctx, g)
	if vout.Err != nil {
		// The removal succeeded; only the read-back failed. Say so rather
		// than claim a verification that did not happen.
		for _, ti := range pending {
			results[ti].Status = report.Failed
			results[ti].Error = "removed, but verification failed: " + vout.Err.Error()
		}
		if vout.Class == pacer.Auth {
			return &AbortError{Reason: "the tenant refused the token", Err: vout.Err}
		}
		return nil
	}
	for _, ti := range pending {
		if held[results[ti].RoleID] {
			results[ti].Status = report.Failed
			results[ti].Error = "still assigned after removal"
		}
	}
	return nil
}

// settle records the outcome of one paced call on every pending triple of a
// group. A success only records attempts: the caller decides the status.
func (e *Executor) settle(results []report.Result, pending []int, out pacer.Outcome, doing string) error {
	st, msg := statusOf(out, doing)
	if st == report.Failed {
		e.logger().Warn("roles not removed", "user", results[pending[0]].UserID, "organization", results[pending[0]].OrganizationID,
			"roles", len(pending), "attempts", out.Attempts, "error", msg)
	}
	for _, ti := range pending {
		r := &results[ti]
		r.Attempts += out.Attempts
		r.HTTPStatus = out.Response.StatusCode
		r.Status = st
		r.Error = msg
	}
	if out.Class == pacer.Auth {
		return &AbortError{Reason: "the tenant refused the token", Err: out.Err}
	}
	return nil
}

func (e *Executor) logger() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// statusOf maps a paced call's outcome to a result status; it is the one
// place that decides what an error means for a triple.
func statusOf(out pacer.Outcome, doing string) (report.Status, string) {
	switch out.Class {
	case pacer.Success:
		return report.Removed, ""
	case pacer.Canceled:
		if out.Attempts == 0 {
			return report.Skipped, ""
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

func distinctRoleIDs(results []report.Result, idx []int) []string {
	ids := make([]string, 0, len(idx))
	seen := make(map[string]bool, len(idx))
	for _, ti := range idx {
		id := results[ti].RoleID
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// perPage is the largest page the Management API serves.
const perPage = 100

// currentRoles reads every page of a group's current roles, each page
// through the shared pacer. The outcome has the error of the page that
// failed, or the last page's response.
func (e *Executor) currentRoles(ctx context.Context, g Group) (map[string]bool, pacer.Outcome) {
	held := make(map[string]bool)
	var out pacer.Outcome
	attempts := 0
	for page := 0; ; page++ {
		var rp management.RolesPage
		out = e.Pacer.Call(ctx, func(ctx context.Context) (resp management.Response, err error) {
			if g.OrganizationID != "" {
				rp, resp, err = e.API.OrganizationMemberRoles(ctx, g.OrganizationID, g.UserID, page, perPage)
			} else {
				rp, resp, err = e.API.UserRoles(ctx, g.UserID, page, perPage)
			}
			return resp, err
		})
		attempts += out.Attempts
		if out.Err != nil {
			break
		}
		for _, r := range rp.Roles {
			held[r.ID] = true
		}
		if len(rp.Roles) < perPage || (page+1)*perPage >= rp.Total {
			break
		}
	}
	out.Attempts = attempts
	return held, out
}

// DefaultConcurrency is --concurrency's default: enough requests in flight to
// keep a 200-per-second bucket busy at 250 ms of latency. The pacer keeps
// fewer in flight whenever the tenant's bucket runs low.
const DefaultConcurrency = 64

// GracePeriod is how long requests already on the wire may take to finish
// after the first interrupt.
const GracePeriod = 10 * time.Second
