package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
)

// SweptRole is one role a sweep removes from its holders.
type SweptRole struct {
	ID      string
	Name    string
	Holders int // holders read from the tenant
	Kept    int // of them, kept by the keep list
}

// Label is how a sweep names the role: "Legacy Admin (rol_…)".
func (r SweptRole) Label() string {
	if r.Name == "" {
		return r.ID
	}
	return fmt.Sprintf("%s (%s)", r.Name, r.ID)
}

// SweepReason is the reason of every triple a sweep of role plans, so the
// report says where a removal came from.
func SweepReason(r SweptRole) string { return "sweep of " + r.Label() }

// SweepError is a swept role that names no role or several: nothing was
// sent.
type SweepError struct{ Problems []string }

func (e *SweepError) Error() string {
	return "cannot sweep: " + strings.Join(e.Problems, "; ")
}

// Sweeper plans sweeps: it reads roles, keep-list emails and role holders,
// and holds only a Reader.
type Sweeper struct {
	Reader      Reader
	Pacer       *pacer.Pacer
	Concurrency int
	Log         *slog.Logger
	// MaxHolders caps one role's holder listing (MaxHolders when 0).
	MaxHolders int
}

var roleIDPattern = regexp.MustCompile(`^rol_[A-Za-z0-9]{16}$`)

// maxRolePages bounds a listing of the tenant's roles (10,000 roles).
const maxRolePages = 100

// ResolveRoles turns each swept role, an id or an exact (case-sensitive)
// name, into the tenant's role. A name that matches no role or several, and
// an id the tenant does not have, are a *SweepError; the same role named
// twice is swept once.
func (s *Sweeper) ResolveRoles(ctx context.Context, names []string) ([]SweptRole, error) {
	var (
		out      []SweptRole
		problems []string
		seen     = map[string]bool{}
		all      map[string]string // id → name, listed once for ids
	)
	res := &Resolver{API: s.Reader, Pacer: s.Pacer, Concurrency: 1}
	for _, given := range names {
		given = strings.TrimSpace(given)
		var role SweptRole
		if roleIDPattern.MatchString(given) {
			if all == nil {
				var err error
				if all, err = s.allRoles(ctx); err != nil {
					return nil, err
				}
			}
			name, ok := all[given]
			if !ok {
				problems = append(problems, fmt.Sprintf("the tenant has no role %s", given))
				continue
			}
			role = SweptRole{ID: given, Name: name}
		} else {
			if given == "" {
				problems = append(problems, "an empty role name")
				continue
			}
			found, out := res.roleByName(ctx, given)
			if err := lookupFailure(out, "role "+given); err != nil {
				return nil, err
			}
			if found.problem != "" {
				problems = append(problems, found.problem)
				continue
			}
			role = SweptRole{ID: found.id, Name: given}
		}
		if !seen[role.ID] {
			seen[role.ID] = true
			out = append(out, role)
		}
	}
	if len(problems) > 0 {
		return nil, &SweepError{Problems: problems}
	}
	return out, nil
}

// lookupFailure turns a failed read into the error that stops planning.
func lookupFailure(out pacer.Outcome, what string) error {
	switch out.Class {
	case pacer.Success:
		return nil
	case pacer.Auth:
		return &AbortError{Reason: "the tenant refused the token", Err: out.Err}
	case pacer.Canceled:
		return &AbortError{Reason: "interrupted", Err: out.Err}
	case pacer.Unreachable:
		return &AbortError{Reason: "the tenant is unreachable", Err: out.Err}
	}
	return fmt.Errorf("could not look up %s: %w", what, out.Err)
}

// allRoles lists the tenant's roles, read while pages are full.
func (s *Sweeper) allRoles(ctx context.Context) (map[string]string, error) {
	all := map[string]string{}
	for page := 0; ; page++ {
		if page == maxRolePages {
			return nil, &ListingError{What: "the tenant's roles", Pages: page, Why: fmt.Sprintf("more than %d roles", page*perPage)}
		}
		var rp management.RolesPage
		out := s.Pacer.Call(ctx, func(ctx context.Context) (resp management.Response, err error) {
			rp, resp, err = s.Reader.Roles(ctx, "", page, perPage)
			return resp, err
		})
		if err := lookupFailure(out, "the tenant's roles"); err != nil {
			return nil, err
		}
		for _, r := range rp.Roles {
			all[r.ID] = r.Name
		}
		if len(rp.Roles) < perPage {
			return all, nil
		}
	}
}

// Kept is what a keep list leaves in place: per user id, the role ids kept,
// or every swept role.
type Kept map[string]keptRoles

type keptRoles struct {
	all   bool
	roles map[string]bool
}

// Keeps reports whether the keep list leaves role with user.
func (k Kept) Keeps(userID, roleID string) bool {
	kr, ok := k[userID]
	return ok && (kr.all || kr.roles[roleID])
}

// ResolveKeep turns a keep list into user and role ids: each distinct email
// is looked up once; an email that matches no user or several, and a role
// that is not one of the swept roles, are FILE:LINE problems (an
// *input.ValidationError), so that a keep list which does not keep what its
// author meant stops the sweep before anything is sent.
func (s *Sweeper) ResolveKeep(ctx context.Context, list *input.KeepList, roles []SweptRole) (Kept, error) {
	kept := Kept{}
	if list == nil {
		return kept, nil
	}
	file := list.Path
	if file == "-" {
		file = "<stdin>"
	}
	byID := map[string]bool{}
	byName := map[string]string{}
	for _, r := range roles {
		byID[r.ID] = true
		byName[r.Name] = r.ID
	}
	emails := map[string]*resolution{}
	for _, e := range list.Entries {
		if e.UserID == "" {
			emails[e.UserEmail] = nil
		}
	}
	var (
		g     errgroup.Group
		mu    sync.Mutex
		fatal error
	)
	g.SetLimit(max(1, s.Concurrency))
	res := &Resolver{API: s.Reader, Pacer: s.Pacer}
	for _, email := range sortedKeys(emails) {
		g.Go(func() error {
			found, out := res.userByEmail(ctx, email)
			mu.Lock()
			defer mu.Unlock()
			if err := lookupFailure(out, fmt.Sprintf("the email %q", email)); err != nil {
				if fatal == nil {
					fatal = err
				}
				return nil
			}
			emails[email] = &found
			return nil
		})
	}
	_ = g.Wait()
	if fatal != nil {
		return nil, fatal
	}
	var problems []input.Problem
	for _, e := range list.Entries {
		uid := e.UserID
		if uid == "" {
			found := emails[e.UserEmail]
			if found.problem != "" {
				problems = append(problems, input.Problem{File: file, Line: e.Line, Message: found.problem + "; a keep list must name each user exactly"})
				continue
			}
			uid = found.id
		}
		kr := kept[uid]
		switch {
		case e.AllRoles():
			kr.all = true
		case e.RoleID != "" && !byID[e.RoleID]:
			problems = append(problems, input.Problem{File: file, Line: e.Line, Message: fmt.Sprintf("role %s is not swept (swept: %s)", e.RoleID, sweptList(roles))})
			continue
		case e.RoleID == "" && byName[e.RoleName] == "":
			problems = append(problems, input.Problem{File: file, Line: e.Line, Message: fmt.Sprintf("no swept role is named %q (swept: %s)", e.RoleName, sweptList(roles))})
			continue
		default:
			id := e.RoleID
			if id == "" {
				id = byName[e.RoleName]
			}
			if kr.roles == nil {
				kr.roles = map[string]bool{}
			}
			kr.roles[id] = true
		}
		kept[uid] = kr
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, &input.ValidationError{Problems: problems, Total: len(problems)}
	}
	return kept, nil
}

func sweptList(roles []SweptRole) string {
	labels := make([]string, len(roles))
	for i, r := range roles {
		labels[i] = r.Label()
	}
	return strings.Join(labels, ", ")
}

// Sweep reads every holder of each role (checkpoint paging, past Auth0's
// 1,000-record limit of page-based paging) and plans the removal of the
// role from each holder that kept does not keep. roles gain their holder
// and kept counts. A listing that fails or does not end stops the sweep:
// a partial list of holders would plan a partial cleanup.
func (s *Sweeper) Sweep(ctx context.Context, roles []SweptRole, kept Kept) (*Plan, error) {
	p := &Plan{Unresolved: map[int]string{}}
	r := &reads{api: s.Reader, pacer: s.Pacer, concurrency: s.Concurrency, log: s.Log, progress: &Progress{}, maxHolders: s.MaxHolders}
	// Each role's pages follow one another (a checkpoint names the next);
	// the roles are read side by side, and planned in the order given.
	planned := make([][]Triple, len(roles))
	errs := make([]error, len(roles))
	var g errgroup.Group
	g.SetLimit(max(1, s.Concurrency))
	for i := range roles {
		g.Go(func() error {
			planned[i], errs[i] = s.sweepRole(ctx, r, &roles[i], kept)
			return nil
		})
	}
	_ = g.Wait()
	for i := range roles {
		if errs[i] != nil {
			return nil, errs[i]
		}
		p.Triples = append(p.Triples, planned[i]...)
	}
	p.regroup()
	return p, nil
}

func (s *Sweeper) sweepRole(ctx context.Context, r *reads, role *SweptRole, kept Kept) ([]Triple, error) {
	reason := SweepReason(*role)
	var (
		ts  []Triple
		bad error
	)
	res := r.eachHolder(ctx, role.ID, nil, func(users []management.User) {
		for _, u := range users {
			if u.UserID == "" {
				bad = fmt.Errorf("the tenant listed a holder of %s without a user_id", role.Label())
				continue
			}
			role.Holders++
			if kept.Keeps(u.UserID, role.ID) {
				role.Kept++
				continue
			}
			ts = append(ts, Triple{UserID: u.UserID, UserEmail: u.Email, RoleID: role.ID, RoleName: role.Name, Reason: reason})
		}
	})
	if err := lookupFailure(res, "the holders of "+role.Label()); err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	logger(s.Log).Info("swept", "role", role.Label(), "holders", role.Holders, "kept", role.Kept)
	return ts, nil
}

// Include adds the triples that p does not already plan (by organization,
// user and role) and regroups. A resumed sweep uses it to keep the groups
// an earlier run finished, whose holders no longer hold the role.
func (p *Plan) Include(ts []Triple) {
	have := make(map[tripleKey]bool, len(p.Triples))
	for i := range p.Triples {
		have[keyOf(&p.Triples[i])] = true
	}
	added := false
	for _, t := range ts {
		if k := keyOf(&t); !have[k] {
			have[k] = true
			p.Triples = append(p.Triples, t)
			added = true
		}
	}
	if added {
		p.regroup()
	}
}
