package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
)

// Resolver turns emails into user ids and role names into role ids through
// the tenant, each distinct value looked up once per run.
type Resolver struct {
	API         Reader
	Pacer       *pacer.Pacer
	Concurrency int
}

type resolution struct {
	id      string
	problem string
}

// NeedsResolving reports whether any triple is named by email or role name
// only, so that planning it needs the tenant.
func (p *Plan) NeedsResolving() bool {
	for _, t := range p.Triples {
		if t.UserID == "" || t.RoleID == "" {
			return true
		}
	}
	return false
}

// Resolve fills in the user and role ids of triples named by email or role
// name. A value that matches no user or role, or several, marks its triples
// Unresolved with the reason; 401/403 aborts with an *AbortError. Groups are
// rebuilt afterwards, since an email may turn out to name a user that other
// rows name by id.
func (r *Resolver) Resolve(ctx context.Context, p *Plan) error {
	emails := map[string]*resolution{}
	names := map[string]*resolution{}
	for _, t := range p.Triples {
		if t.UserID == "" {
			emails[t.UserEmail] = nil
		}
		if t.RoleID == "" {
			names[t.RoleName] = nil
		}
	}
	var (
		g     errgroup.Group
		mu    sync.Mutex
		abort error
	)
	g.SetLimit(max(1, r.Concurrency))
	lookup := func(m map[string]*resolution, key string, find func(context.Context, string) (resolution, pacer.Outcome)) {
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			res, out := find(ctx, key)
			mu.Lock()
			defer mu.Unlock()
			switch out.Class {
			case pacer.Auth:
				abort = &AbortError{Reason: "the tenant refused the token", Err: out.Err}
				r.Pacer.Stop()
			case pacer.Success:
				m[key] = &res
			default:
				m[key] = &resolution{problem: fmt.Sprintf("could not look up %q: %v", key, out.Err)}
			}
			return nil
		})
	}
	for _, e := range sortedKeys(emails) {
		lookup(emails, e, r.userByEmail)
	}
	for _, n := range sortedKeys(names) {
		lookup(names, n, r.roleByName)
	}
	_ = g.Wait()
	if abort != nil {
		return abort
	}
	if err := ctx.Err(); err != nil {
		return &AbortError{Reason: "interrupted", Err: err}
	}
	for i := range p.Triples {
		t := &p.Triples[i]
		if t.UserID == "" {
			if res := emails[t.UserEmail]; res.problem != "" {
				p.Unresolved[i] = res.problem
			} else {
				t.UserID = res.id
			}
		}
		if t.RoleID == "" {
			if res := names[t.RoleName]; res.problem != "" {
				p.Unresolved[i] = joinProblems(p.Unresolved[i], res.problem)
			} else {
				t.RoleID = res.id
			}
		}
	}
	p.regroup()
	return nil
}

func joinProblems(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (r *Resolver) userByEmail(ctx context.Context, email string) (resolution, pacer.Outcome) {
	var users []management.User
	out := r.Pacer.Call(ctx, func(ctx context.Context) (resp management.Response, err error) {
		users, resp, err = r.API.UsersByEmail(ctx, email)
		return resp, err
	})
	if out.Err != nil {
		return resolution{}, out
	}
	switch len(users) {
	case 0:
		return resolution{problem: fmt.Sprintf("no user has the email %q", email)}, out
	case 1:
		return resolution{id: users[0].UserID}, out
	default:
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.UserID
		}
		return resolution{problem: fmt.Sprintf("the email %q matches %d users (%s); name the user by user_id", email, len(users), strings.Join(ids, ", "))}, out
	}
}

// roleByName pages through the tenant's name_filter results and matches the
// name exactly and case-sensitively on our side: Auth0 documents the filter
// only as case-insensitive, not whether it matches whole names.
func (r *Resolver) roleByName(ctx context.Context, name string) (resolution, pacer.Outcome) {
	var exact, folded []string
	var out pacer.Outcome
	for page := 0; ; page++ {
		if page == maxRolePages {
			return resolution{}, pacer.Outcome{Class: pacer.Permanent, Err: &ListingError{
				What: fmt.Sprintf("the roles named like %q", name), Pages: page, Why: fmt.Sprintf("more than %d roles", page*perPage)}}
		}
		var rp management.RolesPage
		out = r.Pacer.Call(ctx, func(ctx context.Context) (resp management.Response, err error) {
			rp, resp, err = r.API.Roles(ctx, name, page, perPage)
			return resp, err
		})
		if out.Err != nil {
			return resolution{}, out
		}
		for _, role := range rp.Roles {
			switch {
			case role.Name == name:
				exact = append(exact, role.ID)
			case strings.EqualFold(role.Name, name):
				folded = append(folded, fmt.Sprintf("%q", role.Name))
			}
		}
		// Read while pages are full, whatever the total says: a total that
		// lies low would hide a second role of the same name.
		if len(rp.Roles) < perPage {
			break
		}
	}
	switch len(exact) {
	case 0:
		msg := fmt.Sprintf("no role is named %q", name)
		if len(folded) > 0 {
			msg += fmt.Sprintf(" (role names are case-sensitive; the tenant has %s)", strings.Join(folded, ", "))
		}
		return resolution{problem: msg}, out
	case 1:
		return resolution{id: exact[0]}, out
	default:
		return resolution{problem: fmt.Sprintf("the role name %q matches %d roles (%s); name the role by role_id", name, len(exact), strings.Join(exact, ", "))}, out
	}
}

func sortedKeys(m map[string]*resolution) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
