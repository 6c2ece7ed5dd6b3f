// Package reconcile turns validated input rows into a plan — grouped per
// (organization, user), deduplicated, resolved and checked against the
// tenant — and executes it. The plan is immutable once resolved; every run
// keeps one Outcome per triple in its own slice, so a failure in the middle
// of a run loses nothing and two runs never share a slot.
package reconcile

import (
	"cmp"
	"hash/maphash"
	"strings"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
)

// Triple is one requested (organization, user, role) removal: what the input
// asked for, merged over identical rows. A user named by email or a role by
// name gains its id when the plan is resolved, and never changes after.
type Triple struct {
	UserID         string
	UserEmail      string
	OrganizationID string
	RoleID         string
	RoleName       string
	Lines          []int
	Reason         string
}

// Outcome is what one run did with one triple.
type Outcome struct {
	Status     report.Status
	HTTPStatus int
	Attempts   int
	Error      string
	// RoleName is the role's name as the tenant gave it while this run read
	// the user's roles, for a triple the input named by id only; the plan
	// stays as it was read.
	RoleName string
}

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
	// Triples has one entry per distinct requested (organization, user,
	// role) removal; identical input rows are merged into one that keeps all
	// their lines.
	Triples []Triple
	Groups  []Group
	// Unresolved says, per triple index, why its email or role name did not
	// resolve to exactly one user or role; such a triple is never sent.
	Unresolved map[int]string
	Duplicates int // input rows merged into an earlier identical triple
	Excluded   int // CSV rows a --where filter left out: never validated or sent
	// Where is the filters that decided which rows were excluded.
	Where []input.Filter
}

// tripleKey follows the contract's precedence: an id wins over an email or a
// name when both are given, so the losing field is left empty in the key.
type tripleKey struct{ org, userID, email, roleID, roleName string }

func keyOf(r *Triple) tripleKey {
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

func (x *tripleIndex) find(triples []Triple, t *Triple) (int, bool) {
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

func (x *tripleIndex) add(t *Triple, slot int) {
	k := keyOf(t)
	h := x.hash(k)
	if _, taken := x.first[h]; taken {
		x.collide[k] = slot
		return
	}
	x.first[h] = slot
}

// Key is the group key of a triple.
func (t *Triple) Key() report.GroupKey { return report.KeyOf(t.OrganizationID, t.UserID, t.UserEmail) }

// Builder builds a plan from rows handed over one at a time, as
// input.Options.Each delivers them, so the rows need not all be held first.
type Builder struct {
	p       *Plan
	index   *tripleIndex
	lines   []int
	strings map[string]string
	// previous holds each field's last value as read and as interned:
	// inputs list a user's rows together and repeat reasons and roles, so
	// most values equal the row before's and skip the table lookup.
	previous [numInterned]struct{ in, out string }
}

// The fields of a row that are interned, as indexes into Builder.previous.
const (
	internUser = iota
	internEmail
	internOrganization
	internRole
	internRoleName
	internReason
	numInterned
)

// maxInterned bounds the table of shared strings: beyond it, values are
// copied instead (an input whose every reason differs gains nothing from it).
const maxInterned = 1 << 19

// intern returns a copy of s that does not pin the input record s was cut
// from, shared with every equal value: role ids, organizations and reasons
// repeat on many rows, and a user's id on each of their rows.
func (b *Builder) intern(field int, s string) string {
	if s == "" {
		return ""
	}
	last := &b.previous[field]
	if s == last.in {
		return last.out
	}
	v, ok := b.strings[s]
	if !ok {
		v = strings.Clone(s)
		if len(b.strings) < maxInterned {
			b.strings[v] = v
		}
	}
	last.in, last.out = v, v
	return v
}

// NewBuilder starts a plan; sizeHint is the expected number of rows, or 0.
func NewBuilder(sizeHint int) *Builder {
	return &Builder{
		p:     &Plan{Triples: make([]Triple, 0, sizeHint), Unresolved: map[int]string{}},
		index: newTripleIndex(sizeHint),
		// A user's id is on a few rows each: a table of a third of the rows
		// is never rehashed for the common inputs.
		strings: make(map[string]string, min(sizeHint/3, maxInterned)),
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
	t := Triple{
		UserID:         b.intern(internUser, row.UserID),
		UserEmail:      b.intern(internEmail, row.UserEmail),
		OrganizationID: b.intern(internOrganization, row.OrganizationID),
		RoleID:         b.intern(internRole, row.RoleID),
		RoleName:       b.intern(internRoleName, row.RoleName),
		Lines:          b.lines[n-1 : n : n],
		Reason:         b.intern(internReason, row.Reason),
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
	p.Excluded, p.Where = src.Excluded, src.Where
	// Drop the build tables before grouping allocates its own.
	b.p, b.index, b.strings = nil, nil, nil
	p.regroup()
	return p
}

func merge(t, o *Triple) {
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
	index := make(map[report.GroupKey]int, len(p.Triples)/3)
	groupOf := make([]int32, len(p.Triples))
	var sizes []int
	p.Groups = p.Groups[:0]
	var last report.GroupKey
	g := -1
	for i := range p.Triples {
		t := &p.Triples[i]
		k := t.Key()
		if g >= 0 && k == last { // a user's rows usually come together
			groupOf[i] = int32(g)
			sizes[g]++
			continue
		}
		last = k
		var ok bool
		g, ok = index[k]
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

// Outcomes returns a new outcome slice for a run, one slot per triple:
// status todo for the work to do, and unresolved (with the reason as its
// error) for triples that cannot be sent.
func (p *Plan) Outcomes(todo, unresolved report.Status) []Outcome {
	out := make([]Outcome, len(p.Triples))
	for i := range out {
		out[i].Status = todo
	}
	for i, why := range p.Unresolved {
		out[i] = Outcome{Status: unresolved, Error: why}
	}
	return out
}

// Rows joins a plan's triples with one run's outcomes for a report. With
// Outcomes nil every row has the outcome Every, so an offline plan of a
// million rows needs no outcome slice at all.
type Rows struct {
	Plan     *Plan
	Outcomes []Outcome
	Every    Outcome
}

// Len is the number of triples.
func (r Rows) Len() int { return len(r.Plan.Triples) }

// Users is the number of (organization, user) groups: the report's tally
// takes it from here instead of counting a million rows' keys again.
func (r Rows) Users() int { return len(r.Plan.Groups) }

// Row joins triple i with its outcome.
func (r Rows) Row(i int) report.Result {
	t := &r.Plan.Triples[i]
	o := r.Every
	if r.Outcomes != nil {
		o = r.Outcomes[i]
	}
	return report.Result{
		UserID: t.UserID, UserEmail: t.UserEmail, OrganizationID: t.OrganizationID,
		RoleID: t.RoleID, RoleName: cmp.Or(o.RoleName, t.RoleName), Lines: t.Lines, Reason: t.Reason,
		Status: o.Status, HTTPStatus: o.HTTPStatus, Attempts: o.Attempts, Error: o.Error,
	}
}
