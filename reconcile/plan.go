// Package reconcile turns validated input rows into a plan — grouped per
// (organization, user), deduplicated, resolved and checked against the
// tenant — and executes it. Every input triple owns exactly one result slot,
// so a failure in the middle of a run loses nothing.
package reconcile

import (
	"hash/maphash"
	"strings"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
)

// Group is the set of triples sent in one DELETE: same organization, same user.
type Group struct {
	OrganizationID string
	UserID         string
	UserEmail      string
	Triples        []int // indexes into Plan.Triples, in input order
}

// Plan is everything a run will do, in a deterministic order: groups in the
// order their user first appears in the input, roles in input order.
type Plan struct {
	Input report.Input
	// Triples has one slot per distinct requested (organization, user, role)
	// removal; identical input rows are merged into one slot that keeps all
	// their lines. The slots are the run's results: a plan of a million rows
	// holds each triple once, not once as a plan and again as a result.
	Triples []report.Result
	Groups  []Group
	// Unresolved says, per triple index, why its email or role name did not
	// resolve to exactly one user or role; such a triple is never sent.
	Unresolved map[int]string
	Duplicates int // input rows merged into an earlier identical triple
}

// tripleKey follows the contract's precedence: an id wins over an email or a
// name when both are given, so the losing field is left empty in the key.
type tripleKey struct{ org, userID, email, roleID, roleName string }

type groupKey struct{ org, userID, email string }

func keyOf(r *report.Result) tripleKey {
	k := tripleKey{org: r.OrganizationID, userID: r.UserID, roleID: r.RoleID}
	if k.userID == "" {
		k.email = r.UserEmail
	}
	if k.roleID == "" {
		k.roleName = r.RoleName
	}
	return k
}

// tripleIndex finds the slot of an identical triple. It maps a 64-bit hash
// of the key to the first slot with that hash, and keeps the rare colliding
// keys in a map of full keys: a million-row plan then indexes 8-byte hashes
// instead of five strings per row.
type tripleIndex struct {
	seed    maphash.Seed
	first   map[uint64]int
	collide map[tripleKey]int
}

func newTripleIndex(n int) *tripleIndex {
	return &tripleIndex{seed: maphash.MakeSeed(), first: make(map[uint64]int, n), collide: map[tripleKey]int{}}
}

func (x *tripleIndex) hash(k tripleKey) uint64 {
	var h maphash.Hash
	h.SetSeed(x.seed)
	for _, s := range [...]string{k.org, k.userID, k.email, k.roleID, k.roleName} {
		h.WriteString(s)
		h.WriteByte(0) // ids and names never contain NUL: input refuses control characters
	}
	return h.Sum64()
}

func (x *tripleIndex) find(triples []report.Result, t *report.Result) (int, bool) {
	k := keyOf(t)
	j, ok := x.first[x.hash(k)]
	if !ok {
		return 0, false
	}
	if keyOf(&triples[j]) == k {
		return j, true
	}
	j, ok = x.collide[k]
	return j, ok
}

func (x *tripleIndex) add(t *report.Result, slot int) {
	k := keyOf(t)
	h := x.hash(k)
	if _, taken := x.first[h]; taken {
		x.collide[k] = slot
		return
	}
	x.first[h] = slot
}

func groupKeyOf(r *report.Result) groupKey {
	if r.UserID != "" {
		return groupKey{org: r.OrganizationID, userID: r.UserID}
	}
	return groupKey{org: r.OrganizationID, email: r.UserEmail}
}

// Build groups and deduplicates validated rows. It makes no network calls:
// emails and role names stay unresolved until Resolve.
func Build(src *input.Source) *Plan {
	b := NewBuilder(len(src.Rows))
	for i := range src.Rows {
		b.Add(src.Rows[i])
	}
	return b.Plan(src)
}

// Builder builds a plan from rows handed over one at a time, as
// input.Options.Each delivers them, so the rows need not all be held first.
type Builder struct {
	p       *Plan
	index   *tripleIndex
	lines   []int
	strings map[string]string
}

// maxInterned bounds the table of shared strings: beyond it, values are
// copied instead (an input whose every reason differs gains nothing from it).
const maxInterned = 1 << 19

// intern returns a copy of s that does not pin the input record s was cut
// from, shared with every equal value: role ids, organizations and reasons
// repeat on many rows, and a user's id on each of their rows.
func (b *Builder) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := b.strings[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(b.strings) < maxInterned {
		b.strings[v] = v
	}
	return v
}

// NewBuilder starts a plan; sizeHint is the expected number of rows, or 0.
func NewBuilder(sizeHint int) *Builder {
	return &Builder{
		p:       &Plan{Triples: make([]report.Result, 0, sizeHint), Unresolved: map[int]string{}},
		index:   newTripleIndex(sizeHint),
		strings: map[string]string{},
	}
}

// Add merges one validated row into the plan.
func (b *Builder) Add(row input.Row) {
	// Lines are carved out of shared blocks; the capacity of one makes a
	// merge copy out instead of overwriting a neighbour.
	if len(b.lines) == cap(b.lines) {
		b.lines = make([]int, 0, 4096)
	}
	b.lines = append(b.lines, row.Line)
	n := len(b.lines)
	t := report.Result{
		UserID:         b.intern(row.UserID),
		UserEmail:      b.intern(row.UserEmail),
		OrganizationID: b.intern(row.OrganizationID),
		RoleID:         b.intern(row.RoleID),
		RoleName:       b.intern(row.RoleName),
		Lines:          b.lines[n-1 : n : n],
		Reason:         b.intern(row.Reason),
	}
	p := b.p
	if j, ok := b.index.find(p.Triples, &t); ok {
		merge(&p.Triples[j], &t)
		p.Duplicates++
		return
	}
	b.index.add(&t, len(p.Triples))
	p.Triples = append(p.Triples, t)
}

// Plan finishes the plan for the input src describes.
func (b *Builder) Plan(src *input.Source) *Plan {
	p := b.p
	p.Input = report.Input{Path: src.Path, Format: string(src.Format), SHA256: src.SHA256, Rows: src.Records}
	// Drop the build tables before grouping allocates its own.
	b.p, b.index, b.strings = nil, nil, nil
	p.regroup()
	return p
}

func merge(t, o *report.Result) {
	t.Lines = append(t.Lines, o.Lines...)
	if t.UserEmail == "" {
		t.UserEmail = o.UserEmail
	}
	if t.RoleName == "" {
		t.RoleName = o.RoleName
	}
	if o.Reason != "" && !containsReason(t.Reason, o.Reason) {
		if t.Reason == "" {
			t.Reason = o.Reason
		} else {
			t.Reason += "; " + o.Reason
		}
	}
}

func containsReason(joined, r string) bool {
	for s := range strings.SplitSeq(joined, "; ") {
		if s == r {
			return true
		}
	}
	return false
}

// regroup rebuilds Groups from Triples. It runs again after resolution, when
// a user named by email in one row and by id in another turn out to be the
// same user and so belong in one request.
func (p *Plan) regroup() {
	index := make(map[groupKey]int)
	groupOf := make([]int32, len(p.Triples))
	var sizes []int
	p.Groups = p.Groups[:0]
	for i := range p.Triples {
		t := &p.Triples[i]
		k := groupKeyOf(t)
		g, ok := index[k]
		if !ok {
			g = len(p.Groups)
			index[k] = g
			p.Groups = append(p.Groups, Group{OrganizationID: t.OrganizationID, UserID: t.UserID, UserEmail: t.UserEmail})
			sizes = append(sizes, 0)
		}
		groupOf[i] = int32(g)
		sizes[g]++
	}
	// Every group's indexes share one array: one allocation, not one per user.
	backing := make([]int, len(p.Triples))
	off := 0
	for g, n := range sizes {
		p.Groups[g].Triples = backing[off : off : off+n]
		off += n
	}
	for i, g := range groupOf {
		p.Groups[g].Triples = append(p.Groups[g].Triples, i)
	}
}

// Results resets every triple's slot for a run and returns the slots: status
// todo for the work to do, and unresolved (with the reason as its error) for
// triples that cannot be sent. The slots are the plan's own, not a copy.
func (p *Plan) Results(todo, unresolved report.Status) []report.Result {
	for i := range p.Triples {
		r := &p.Triples[i]
		r.Status, r.HTTPStatus, r.Attempts, r.Error = todo, 0, 0, ""
		if why, ok := p.Unresolved[i]; ok {
			r.Status, r.Error = unresolved, why
		}
	}
	return p.Triples
}
