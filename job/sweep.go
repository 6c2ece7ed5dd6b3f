package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// Sweep makes the removals come from the tenant instead of a file: every
// holder of each role, except those the keep list keeps.
type Sweep struct {
	Roles      []string     // role ids or exact names
	Keep       string       // keep list path; "" keeps nobody
	KeepFormat input.Format // "" from the extension
	MaxHolders int          // cap of one role's holders; 0: reconcile.MaxHolders
}

// check refuses a sweep config that cannot work, before anything is read.
func (sw *Sweep) check(src Source, savedPlan string) error {
	switch {
	case len(sw.Roles) == 0:
		return configErrorf("sweep", "name at least one role to sweep")
	case src.Path != "":
		return configErrorf("sweep", "a sweep reads its removals from the tenant: give either FILE or a sweep, not both")
	case savedPlan != "":
		return configErrorf("sweep", "a saved plan already holds its sweep: give either a saved plan or a sweep, not both")
	}
	return nil
}

// readKeep reads and validates the keep list offline, so a bad one stops
// the sweep before any request.
func (sw *Sweep) readKeep() (*input.KeepList, error) {
	if sw.Keep == "" {
		return nil, nil
	}
	return input.ReadKeepFile(sw.Keep, sw.KeepFormat)
}

func (s *session) sweeper(sw *Sweep) *reconcile.Sweeper {
	return &reconcile.Sweeper{Reader: s.client, Pacer: s.pacer, Concurrency: s.cfg.Concurrency, Log: s.cfg.Log, MaxHolders: sw.MaxHolders}
}

// sweepPlan resolves the swept roles and the keep list, then reads every
// holder and plans the removals.
func (s *session) sweepPlan(ctx context.Context, sw *Sweep, keep *input.KeepList) (*reconcile.Plan, error) {
	sweeper := s.sweeper(sw)
	roles, err := sweeper.ResolveRoles(ctx, sw.Roles)
	if err != nil {
		return nil, err
	}
	kept, err := sweeper.ResolveKeep(ctx, keep, roles)
	if err != nil {
		return nil, err
	}
	p, err := sweeper.Sweep(ctx, roles, kept)
	if err != nil {
		return nil, err
	}
	p.Input = sweepInput(roles, keep)
	return p, nil
}

// sweepInput is the plan's input record of a sweep. Its sha256 identifies
// the sweep (the swept role ids, the keep list's bytes), so a journal tells
// one sweep from another and a plan's digest covers what was swept.
func sweepInput(roles []reconcile.SweptRole, keep *input.KeepList) report.Input {
	h := sha256.New()
	rec := &report.Sweep{}
	rows := 0
	for _, r := range roles {
		fmt.Fprintf(h, "role\x00%s\x00", r.ID)
		rec.Roles = append(rec.Roles, report.SweptRole{ID: r.ID, Name: r.Name})
		rows += r.Holders
	}
	if keep != nil {
		fmt.Fprintf(h, "keep\x00%s\x00", keep.SHA256)
		rec.Keep = &report.FileRef{Path: keep.Path, SHA256: keep.SHA256}
	}
	return report.Input{Format: "sweep", SHA256: hex.EncodeToString(h.Sum(nil)), Rows: rows, Sweep: rec}
}

// planSweep is `plan --sweep`: the plan of a sweep, every holder not kept
// planned for removal (they were just read as holders).
func planSweep(ctx context.Context, cfg PlanConfig) (*report.Report, error) {
	if err := cfg.Sweep.check(cfg.Source, ""); err != nil {
		return nil, err
	}
	keep, err := cfg.Sweep.readKeep()
	if err != nil {
		return nil, err
	}
	s, err := connect(cfg.Tenant)
	if err != nil {
		return nil, err
	}
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	p, err := s.sweepPlan(ctx, cfg.Sweep, keep)
	if err != nil {
		return nil, err
	}
	r := planReport(p, reconcile.Rows{Plan: p, Every: reconcile.Outcome{Status: report.PlanRemove}}, s.client.Domain(), cfg.Tool, now(cfg.Now))
	s.count(&r.Summary)
	return r, nil
}

// includeJournaled adds to a resumed sweep's plan the triples its journal
// recorded: the holders the earlier run already removed no longer hold the
// role, so a new sweep would leave them out of the report.
func includeJournaled(p *reconcile.Plan, jr *journalRun) {
	var ts []reconcile.Triple
	for _, e := range jr.prior {
		for _, r := range e.Results {
			ts = append(ts, reconcile.Triple{UserID: r.UserID, UserEmail: r.UserEmail, OrganizationID: r.OrganizationID,
				RoleID: r.RoleID, RoleName: r.RoleName, Reason: r.Reason})
		}
	}
	p.Include(ts)
}

// sweepDrift reads the swept roles' holders again when a saved sweep plan
// is applied, and names those who gained a swept role since the plan: the
// reviewed plan is applied as it was, so they keep it, and the summary
// says so. (Holders who lost it show as planned remove, found absent.)
func (s *session) sweepDrift(ctx context.Context, p *reconcile.Plan) []string {
	rec := p.Input.Sweep
	if rec == nil {
		return nil
	}
	sw := &Sweep{}
	roles := make([]reconcile.SweptRole, len(rec.Roles))
	for i, r := range rec.Roles {
		roles[i] = reconcile.SweptRole{ID: r.ID, Name: r.Name}
	}
	sweeper := s.sweeper(sw)
	kept := reconcile.Kept{}
	unsure := ""
	if rec.Keep != nil {
		list, err := input.ReadKeepFile(rec.Keep.Path, "")
		switch {
		case err != nil:
			unsure = fmt.Sprintf("the keep list %s could not be read again: %v", rec.Keep.Path, err)
		case list.SHA256 != rec.Keep.SHA256:
			unsure = fmt.Sprintf("the keep list %s changed since the plan", rec.Keep.Path)
		default:
			if kept, err = sweeper.ResolveKeep(ctx, list, roles); err != nil {
				unsure = fmt.Sprintf("the keep list %s no longer resolves: %v", rec.Keep.Path, err)
				kept = reconcile.Kept{}
			}
		}
	}
	current, err := sweeper.Sweep(ctx, roles, kept)
	if err != nil {
		return []string{fmt.Sprintf("could not read the swept roles' holders again to compare with the plan: %v", err)}
	}
	planned := map[[2]string]bool{}
	for _, t := range p.Triples {
		planned[[2]string{t.UserID, t.RoleID}] = true
	}
	gained := map[string]int{}
	for _, t := range current.Triples {
		if !planned[[2]string{t.UserID, t.RoleID}] {
			gained[t.RoleID]++
		}
	}
	var out []string
	for _, r := range roles {
		n := gained[r.ID]
		if n == 0 {
			continue
		}
		if unsure != "" {
			out = append(out, fmt.Sprintf("%d holders of %s are not in the plan: kept, or they gained the role since (%s); not removed", n, r.Label(), unsure))
			continue
		}
		out = append(out, fmt.Sprintf("%d holders gained %s since the plan; not removed: sweep again to plan them", n, r.Label()))
	}
	return out
}

// sweepLabel names a sweep plan's source in messages.
func sweepLabel(in report.Input) string {
	if in.Sweep == nil {
		return in.Path
	}
	labels := make([]string, len(in.Sweep.Roles))
	for i, r := range in.Sweep.Roles {
		labels[i] = reconcile.SweptRole{ID: r.ID, Name: r.Name}.Label()
	}
	return "sweep of " + strings.Join(labels, ", ")
}
