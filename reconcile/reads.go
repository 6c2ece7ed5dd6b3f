package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/report"
)

// Paging caps. No tenant answer may make a read spin or grow without
// bound: a listing is read while its pages are full, whatever its total
// says, and given up at these caps with a ListingError.
const (
	// MaxUserRolePages bounds one user's (or member's) roles: 5,000 roles,
	// where real users hold at most a few hundred.
	MaxUserRolePages = 50
	// MaxHolders bounds one role's holder listing. A role cannot have more
	// holders than the tenant has users; a million is well past any tenant
	// rolesweep is meant for.
	MaxHolders = 1_000_000
)

// ListingError is a listing that did not end within its cap, or whose
// checkpoints went round in a circle: the tenant's answers cannot be
// trusted, so nothing read from them is used.
type ListingError struct {
	What  string // "the roles of user auth0|…", "the holders of role rol_…"
	Pages int
	Why   string
}

func (e *ListingError) Error() string {
	return fmt.Sprintf("%s: %s after %d pages; the tenant's listing cannot be trusted, so it was not used", e.What, e.Why, e.Pages)
}

// minPerRoleUsers is the smallest plan (in per-user reads) for which
// holder lists are considered: below it, a probe would cost a good part of
// what it could save.
const minPerRoleUsers = 20

// Strategy is how a check reads current assignments.
type Strategy string

const (
	// PerUser reads each user's (or organization member's) roles.
	PerUser Strategy = "per-user"
	// PerRole reads each planned role's holders (GET /roles/{id}/users).
	PerRole Strategy = "per-role"
)

// ReadStats says how a read phase went, for logs, tests and benchmarks.
type ReadStats struct {
	Strategy    Strategy
	Users       int // groups read per user (organization members included)
	Roles       int // roles whose holders were read
	Probes      int // page-based first pages that sized the holder lists
	FellBack    bool
	EstUserCost int // requests the per-user reads were estimated to need
}

// reads classifies the pending triples of a plan against the tenant, the
// cheaper way. It is shared by the Checker (plan --check) and the Executor
// (apply's read phase).
type reads struct {
	api         Reader
	pacer       *pacer.Pacer
	concurrency int
	log         *slog.Logger
	progress    *Progress
	// maxUserPages and maxHolders are the caps; 0 means the defaults.
	maxUserPages int
	maxHolders   int
	// keep says what a read leaves pending: for a removal (keepNotHeld
	// false) the roles held; for an assignment (undo) the roles not held.
	// The others get the status unchanged (Absent when "").
	keepNotHeld bool
	unchanged   report.Status
	// onFailure, when set, may settle a triple whose read failed itself
	// (it reports true); otherwise the failure is settled as a status.
	onFailure func(ti int, res pacer.Outcome) bool
	stats     ReadStats
}

// fail settles triples whose read failed; an *AbortError stops the run.
func (r *reads) fail(p *Plan, out []Outcome, todo []int, res pacer.Outcome, doing string) error {
	rest := todo
	if r.onFailure != nil {
		rest = rest[:0:0]
		for _, ti := range todo {
			if !r.onFailure(ti, res) {
				rest = append(rest, ti)
			}
		}
	}
	if len(rest) == 0 {
		if res.Class == pacer.Auth {
			return &AbortError{Reason: "the tenant refused the token", Err: res.Err}
		}
		return nil
	}
	return settle(logger(r.log), p, out, rest, res, doing)
}

// settleRead marks a triple whose read succeeded: still to do, or already
// as wanted.
func (r *reads) settleRead(o *Outcome, held bool, status int) {
	if held != r.keepNotHeld {
		return // still to do
	}
	o.Status = r.unchanged
	if o.Status == "" {
		o.Status = report.Absent
	}
	o.HTTPStatus = status
}

// readOutcome is what one triple's read found.
type readOutcome struct {
	held bool
	fail *pacer.Outcome // the read failed: settle the triple with it
	err  string         // with fail: what was being read
}

func (r *reads) userPages() int {
	if r.maxUserPages > 0 {
		return r.maxUserPages
	}
	return MaxUserRolePages
}

func (r *reads) holderCap() int {
	if r.maxHolders > 0 {
		return r.maxHolders
	}
	return MaxHolders
}

// classify reads the current assignments of the given groups' pending
// triples (status Skipped) and marks them: not held → absent; the read
// failed → settled with its failure (failed, not_found, skipped); held →
// left Skipped, still to remove (the other way round with keepNotHeld). It returns an *AbortError on 401/403 or
// an interrupt.
func (r *reads) classify(ctx context.Context, p *Plan, out []Outcome, groups []int) error {
	if groups == nil {
		groups = make([]int, len(p.Groups))
		for i := range groups {
			groups[i] = i
		}
	}
	var tenantGroups, orgGroups []int
	for _, gi := range groups {
		if len(pending(p.Groups[gi], out, report.Skipped)) == 0 {
			continue
		}
		if p.Groups[gi].OrganizationID != "" {
			orgGroups = append(orgGroups, gi)
		} else {
			tenantGroups = append(tenantGroups, gi)
		}
	}
	r.stats = ReadStats{Strategy: PerUser}
	perUser := append([]int(nil), orgGroups...)
	roleGroups := tenantGroups
	if ok, err := r.byRole(ctx, p, out, tenantGroups); err != nil {
		return err
	} else if ok {
		roleGroups = nil
		r.stats.Strategy = PerRole
	}
	perUser = append(perUser, roleGroups...)
	r.stats.Users = len(perUser)
	logger(r.log).Debug("reading current assignments", "strategy", string(r.stats.Strategy),
		"users", r.stats.Users, "roles", r.stats.Roles, "probes", r.stats.Probes, "fell_back", r.stats.FellBack)
	return r.byUser(ctx, p, out, perUser)
}

// byUser reads each group's roles, one group per worker.
func (r *reads) byUser(ctx context.Context, p *Plan, out []Outcome, groups []int) error {
	var (
		g     errgroup.Group
		mu    sync.Mutex
		abort error
	)
	g.SetLimit(max(1, r.concurrency))
	for _, gi := range groups {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			grp := p.Groups[gi]
			todo := pending(grp, out, report.Skipped)
			want := make(map[string]bool, len(todo))
			for _, ti := range todo {
				want[p.Triples[ti].RoleID] = true
			}
			held, res := r.currentRoles(ctx, grp, want)
			if res.Err != nil {
				if err := r.fail(p, out, todo, res, "reading current roles"); err != nil {
					mu.Lock()
					abort = err
					mu.Unlock()
					r.pacer.Stop()
				}
			} else {
				for _, ti := range todo {
					r.settleRead(&out[ti], held[p.Triples[ti].RoleID], res.Response.StatusCode)
				}
			}
			r.progress.Done.Add(int64(len(todo)))
			return nil
		})
	}
	_ = g.Wait()
	if abort != nil {
		return abort
	}
	if ctx.Err() != nil {
		return &AbortError{Reason: "interrupted while reading current assignments", Err: context.Cause(ctx)}
	}
	return nil
}

// currentRoles reads a group's roles page by page through the shared pacer
// and keeps only the roles in want (nil: every role), so an endless listing
// holds one page at a time. Pages are read while they are full, whatever
// the total says; past the cap the read fails with a *ListingError.
func (r *reads) currentRoles(ctx context.Context, g Group, want map[string]bool) (map[string]bool, pacer.Outcome) {
	held := make(map[string]bool, len(want))
	var out pacer.Outcome
	attempts := 0
	limit := r.userPages()
	for page := 0; ; page++ {
		if page == limit {
			what := "the roles of user " + g.UserID
			if g.OrganizationID != "" {
				what = fmt.Sprintf("the roles of member %s in %s", g.UserID, g.OrganizationID)
			}
			out.Err = &ListingError{What: what, Pages: page, Why: fmt.Sprintf("more than %d roles", page*perPage)}
			out.Class = pacer.Permanent
			break
		}
		var rp management.RolesPage
		out = r.pacer.Call(ctx, func(ctx context.Context) (resp management.Response, err error) {
			if g.OrganizationID != "" {
				rp, resp, err = r.api.OrganizationMemberRoles(ctx, g.OrganizationID, g.UserID, page, perPage)
			} else {
				rp, resp, err = r.api.UserRoles(ctx, g.UserID, page, perPage)
			}
			return resp, err
		})
		attempts += out.Attempts
		if out.Err != nil {
			break
		}
		for _, role := range rp.Roles {
			if want == nil || want[role.ID] {
				held[role.ID] = true
			}
		}
		if len(rp.Roles) < perPage {
			break
		}
	}
	out.Attempts = attempts
	return held, out
}

// byRole decides whether reading the planned roles' holders needs fewer
// requests than reading each user's roles, and if so reads them and marks
// every triple of groups. It reports false, having marked nothing, when
// per-user reads are cheaper, or when the holder listings turn out longer
// than their totals said (totals that lie): then per-user reads follow.
//
// The rule: per-user reads cost one request per user; a role's holders cost
// one page-based first request (per_page 100, with include_totals: it also
// tells the holder count), plus, when that page is full, ceil(holders/100)
// checkpoint pages. Per-role reads are chosen when they cost at most half
// the per-user reads: on small plans the difference is a handful of
// requests, and a per-user read also tells a deleted user (not_found) from
// an unassigned role. Plans of fewer than 20 users are always read per user.
func (r *reads) byRole(ctx context.Context, p *Plan, out []Outcome, groups []int) (bool, error) {
	userCost := 0
	planned := map[string]map[string][]int{} // role id → user id → triples
	var roles []string
	for _, gi := range groups {
		todo := pending(p.Groups[gi], out, report.Skipped)
		userCost += max(1, (len(todo)+perPage-1)/perPage)
		for _, ti := range todo {
			t := &p.Triples[ti]
			byUser := planned[t.RoleID]
			if byUser == nil {
				byUser = map[string][]int{}
				planned[t.RoleID] = byUser
				roles = append(roles, t.RoleID)
			}
			byUser[t.UserID] = append(byUser[t.UserID], ti)
		}
	}
	r.stats.EstUserCost = userCost
	budget := userCost / 2
	if userCost < minPerRoleUsers || len(roles) > budget {
		return false, nil
	}

	// Probe each role's first page; stop as soon as the estimate, with at
	// least one request for each role not yet probed, exceeds the budget.
	type probed struct {
		first   management.UsersPage
		pages   int // further checkpoint pages estimated
		missing *pacer.Outcome
	}
	probes := make([]probed, len(roles))
	spent := 0
	for i, role := range roles {
		var up management.UsersPage
		res := r.pacer.Call(ctx, func(ctx context.Context) (resp management.Response, err error) {
			up, resp, err = r.api.RoleUsers(ctx, role, 0, perPage)
			return resp, err
		})
		r.stats.Probes++
		spent++
		var apiErr *management.APIError
		switch {
		case res.Err == nil:
		case res.Class == pacer.Auth:
			r.pacer.Stop()
			return false, &AbortError{Reason: "the tenant refused the token", Err: res.Err}
		case res.Class == pacer.Canceled:
			return false, &AbortError{Reason: "interrupted while reading current assignments", Err: res.Err}
		case res.Class == pacer.Unreachable:
			r.pacer.Stop()
			return false, &AbortError{Reason: "the tenant is unreachable", Err: res.Err}
		case errors.As(res.Err, &apiErr) && apiErr.StatusCode == 404:
			probes[i].missing = &res // the role does not exist: nobody holds it
		default:
			return false, nil // per-user reads will say what is wrong
		}
		probes[i].first = up
		if res.Err == nil && len(up.Users) >= perPage {
			probes[i].pages = (max(up.Total, len(up.Users))+perPage-1)/perPage + 1
		}
		spent += probes[i].pages
		if spent+(len(roles)-i-1) > budget {
			return false, nil
		}
	}

	// Read the full listings, at most budget pages in all: a total that lied
	// low makes the listing longer than planned, and then per-user reads
	// (whose cost is known) are cheaper after all.
	held := make([]bool, len(p.Triples))
	var failed sync.Map // role id → pacer.Outcome
	pagesLeft := atomic.Int64{}
	pagesLeft.Store(int64(budget - r.stats.Probes))
	readCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errOverBudget := errors.New("over budget")
	mark := func(role string, users []management.User) {
		byUser := planned[role]
		for _, u := range users {
			for _, ti := range byUser[u.UserID] {
				held[ti] = true
			}
		}
	}
	var g errgroup.Group
	g.SetLimit(max(1, r.concurrency))
	for i, role := range roles {
		pr := probes[i]
		if pr.missing != nil {
			failed.Store(role, *pr.missing)
			continue
		}
		mark(role, pr.first.Users)
		if len(pr.first.Users) < perPage {
			continue
		}
		g.Go(func() error {
			res := r.eachHolder(readCtx, role, func() bool {
				if pagesLeft.Add(-1) < 0 {
					cancel(errOverBudget)
					return false
				}
				return true
			}, func(users []management.User) { mark(role, users) })
			if res.Err != nil && readCtx.Err() == nil {
				switch res.Class {
				case pacer.Auth:
					cancel(&AbortError{Reason: "the tenant refused the token", Err: res.Err})
					r.pacer.Stop()
				case pacer.Unreachable:
					cancel(&AbortError{Reason: "the tenant is unreachable", Err: res.Err})
					r.pacer.Stop()
				}
				failed.Store(role, res)
			}
			return nil
		})
	}
	_ = g.Wait()
	switch cause := context.Cause(readCtx); {
	case errors.Is(cause, errOverBudget):
		r.stats.FellBack = true
		return false, nil
	case cause != nil:
		var abort *AbortError
		if errors.As(cause, &abort) {
			return false, abort
		}
		return false, &AbortError{Reason: "interrupted while reading current assignments", Err: cause}
	}
	r.stats.Roles = len(roles)
	for _, gi := range groups {
		todo := pending(p.Groups[gi], out, report.Skipped)
		for _, ti := range todo {
			if v, bad := failed.Load(p.Triples[ti].RoleID); bad {
				_ = r.fail(p, out, []int{ti}, v.(pacer.Outcome), "reading the role's holders")
				continue
			}
			r.settleRead(&out[ti], held[ti], 200)
		}
		r.progress.Done.Add(int64(len(todo)))
	}
	return true, nil
}

// eachHolder pages through a role's holders with checkpoint paging (100 a
// page, past Auth0's 1,000-record limit of page-based paging), handing each
// page to use and keeping none. more is asked before each page; false stops
// the listing quietly. The listing fails with a *ListingError past the
// holder cap or when a checkpoint repeats.
func (r *reads) eachHolder(ctx context.Context, role string, more func() bool, use func([]management.User)) pacer.Outcome {
	var out pacer.Outcome
	from := ""
	seen := map[string]bool{}
	maxPages := (r.holderCap() + perPage - 1) / perPage
	for page := 0; ; page++ {
		if page == maxPages {
			return pacer.Outcome{Class: pacer.Permanent, Err: &ListingError{
				What: "the holders of role " + role, Pages: page, Why: fmt.Sprintf("more than %d holders", r.holderCap())}}
		}
		if more != nil && !more() {
			return pacer.Outcome{}
		}
		var cp management.CheckpointPage
		out = r.pacer.Call(ctx, func(ctx context.Context) (resp management.Response, err error) {
			cp, resp, err = r.api.RoleUsersFrom(ctx, role, from, perPage)
			return resp, err
		})
		if out.Err != nil {
			return out
		}
		use(cp.Users)
		if cp.Next == "" || len(cp.Users) == 0 {
			return out
		}
		if seen[cp.Next] {
			return pacer.Outcome{Class: pacer.Permanent, Err: &ListingError{
				What: "the holders of role " + role, Pages: page + 1, Why: "a checkpoint came back a second time"}}
		}
		// A checkpoint is a short string; remembering them costs far less
		// than the pages they stand for, and a circle is caught at once.
		seen[cp.Next] = true
		from = cp.Next
	}
}
