package sandbox

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Seed describes tenant contents; LoadSeed reads it from YAML or JSON, and
// State returns the current tenant in the same shape (without clients), so a
// state dump can seed another sandbox. Unknown keys are errors. As YAML:
//
//	roles:
//	  - id: rol_AbCdEfGhIjKlMnOp        # required, unique
//	    name: Billing Admin              # required, unique (Auth0 answers 409 to a duplicate)
//	    description: Can see invoices    # optional
//	users:
//	  - user_id: "auth0|5f7c8ec7c33c6c004bbafe82"   # required, unique
//	    email: jane@example.com          # optional; several users may share one
//	    name: Jane                       # optional, defaults to the email
//	    roles: [rol_AbCdEfGhIjKlMnOp]    # ids of roles in this seed or the tenant
//	organizations:
//	  - id: org_AbCdEfGhIjKlMnOp         # required, unique
//	    name: acme                       # optional, defaults to the id
//	    members:
//	      - user_id: "auth0|5f7c8ec7c33c6c004bbafe82"   # a user of this seed or the tenant
//	        roles: [rol_AbCdEfGhIjKlMnOp]
//	clients:                             # extra clients for the client-credentials grant
//	  - client_id: my-ci-client
//	    client_secret: not-a-real-secret
//	    scopes: [read:users, update:users, read:roles]
//
// Entities whose id already exists in the tenant are replaced.
type Seed struct {
	Roles         []SeedRole         `json:"roles" yaml:"roles"`
	Users         []SeedUser         `json:"users" yaml:"users"`
	Organizations []SeedOrganization `json:"organizations" yaml:"organizations"`
	Clients       []SeedClient       `json:"clients,omitempty" yaml:"clients,omitempty"`
}

// SeedRole is a role of a Seed.
type SeedRole struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// SeedUser is a user of a Seed with the role ids it holds outside
// organizations.
type SeedUser struct {
	UserID string   `json:"user_id" yaml:"user_id"`
	Email  string   `json:"email,omitempty" yaml:"email,omitempty"`
	Name   string   `json:"name,omitempty" yaml:"name,omitempty"`
	Roles  []string `json:"roles" yaml:"roles"`
}

// SeedOrganization is an organization of a Seed.
type SeedOrganization struct {
	ID      string       `json:"id" yaml:"id"`
	Name    string       `json:"name,omitempty" yaml:"name,omitempty"`
	Members []SeedMember `json:"members" yaml:"members"`
}

// SeedMember is an organization membership with the role ids it holds in
// the organization.
type SeedMember struct {
	UserID string   `json:"user_id" yaml:"user_id"`
	Roles  []string `json:"roles" yaml:"roles"`
}

// SeedClient is a client for the client-credentials grant.
type SeedClient struct {
	ClientID     string   `json:"client_id" yaml:"client_id"`
	ClientSecret string   `json:"client_secret" yaml:"client_secret"`
	Scopes       []string `json:"scopes" yaml:"scopes"`
}

// maxSeedBytes bounds what LoadSeed reads: a seed of a million users is
// about 100 MB of YAML, and more than that is a mistake, not a tenant.
const maxSeedBytes = 256 << 20

// LoadSeed reads a seed from r and applies it. name is what messages call
// the source (a path, "-" or "stdin") and picks the format: a name ending in
// .json is JSON, one ending in .yaml or .yml is YAML, and any other name is
// JSON when the first non-blank byte is '{' and YAML otherwise. Nothing is
// applied when the seed has any error; errors start with name.
func (t *Tenant) LoadSeed(r io.Reader, name string) error {
	data, err := io.ReadAll(io.LimitReader(r, maxSeedBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxSeedBytes {
		return fmt.Errorf("%s: seed larger than %d MiB", name, maxSeedBytes>>20)
	}
	s, err := decodeSeed(data, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := t.ApplySeed(s); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func decodeSeed(data []byte, name string) (Seed, error) {
	var s Seed
	asJSON := bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		asJSON = true
	case ".yaml", ".yml":
		asJSON = false
	}
	if !asJSON {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
			return s, err
		}
		return s, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, err
	}
	// Not dec.More: it reports no more data before a stray "]" or "}".
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return s, errors.New("unexpected data after the seed object")
	}
	return s, nil
}

// ApplySeed validates the whole seed against itself and the tenant, then
// applies it; on error nothing changes.
func (t *Tenant) ApplySeed(s Seed) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.validateSeedLocked(s); err != nil {
		return err
	}
	t.applySeedLocked(s)
	return nil
}

// maxSeedProblems is how many problems a refused seed reports before
// "and N more". YAML aliases let a small file repeat a list thousands of
// times (the decoder allows up to 100 decoded values per written one), and
// one message per repetition turned a 450 KB seed into gigabytes of errors.
const maxSeedProblems = 100

func (t *Tenant) validateSeedLocked(s Seed) error {
	var (
		errs     []error
		problems int
	)
	fail := func(format string, a ...any) {
		if problems++; problems <= maxSeedProblems {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}

	seedRoles := map[string]bool{}
	nameOwner := map[string]string{}
	for id, r := range t.roles {
		nameOwner[r.name] = id
	}
	for _, r := range s.Roles {
		delete(nameOwner, t.roleName(r.ID)) // replaced by the seed
	}
	for i, r := range s.Roles {
		switch {
		case r.ID == "":
			fail("roles[%d]: id is required", i)
		case seedRoles[r.ID]:
			fail("roles[%d]: duplicate role id %q", i, r.ID)
		case r.Name == "":
			fail("roles[%d] (%s): name is required", i, r.ID)
		case nameOwner[r.Name] != "":
			fail("roles[%d] (%s): role name %q is already used by %s", i, r.ID, r.Name, nameOwner[r.Name])
		}
		seedRoles[r.ID] = true
		if r.Name != "" && nameOwner[r.Name] == "" {
			nameOwner[r.Name] = r.ID
		}
	}
	roleKnown := func(id string) bool { return seedRoles[id] || t.roles[id] != nil }

	seedUsers := map[string]bool{}
	for i, u := range s.Users {
		switch {
		case u.UserID == "":
			fail("users[%d]: user_id is required", i)
			continue
		case seedUsers[u.UserID]:
			fail("users[%d]: duplicate user_id %q", i, u.UserID)
		}
		seedUsers[u.UserID] = true
		for _, rid := range u.Roles {
			if !roleKnown(rid) {
				fail("users[%d] (%s): unknown role %q", i, u.UserID, rid)
			}
		}
	}

	seedOrgs := map[string]bool{}
	for i, o := range s.Organizations {
		switch {
		case o.ID == "":
			fail("organizations[%d]: id is required", i)
			continue
		case seedOrgs[o.ID]:
			fail("organizations[%d]: duplicate organization id %q", i, o.ID)
		}
		seedOrgs[o.ID] = true
		members := map[string]bool{}
		for j, m := range o.Members {
			switch {
			case m.UserID == "":
				fail("organizations[%d] (%s): members[%d]: user_id is required", i, o.ID, j)
				continue
			case !seedUsers[m.UserID] && t.users[m.UserID] == nil:
				fail("organizations[%d] (%s): members[%d]: unknown user %q", i, o.ID, j, m.UserID)
			case members[m.UserID]:
				fail("organizations[%d] (%s): members[%d]: duplicate member %q", i, o.ID, j, m.UserID)
			}
			members[m.UserID] = true
			for _, rid := range m.Roles {
				if !roleKnown(rid) {
					fail("organizations[%d] (%s): members[%d] (%s): unknown role %q", i, o.ID, j, m.UserID, rid)
				}
			}
		}
	}

	seedClients := map[string]bool{}
	for i, c := range s.Clients {
		switch {
		case c.ClientID == "":
			fail("clients[%d]: client_id is required", i)
		case seedClients[c.ClientID]:
			fail("clients[%d]: duplicate client_id %q", i, c.ClientID)
		case c.ClientSecret == "":
			fail("clients[%d] (%s): client_secret is required", i, c.ClientID)
		}
		seedClients[c.ClientID] = true
	}
	if more := problems - len(errs); more > 0 {
		errs = append(errs, fmt.Errorf("... and %d more problems", more))
	}
	return errors.Join(errs...)
}

func (t *Tenant) roleName(id string) string {
	if r := t.roles[id]; r != nil {
		return r.name
	}
	return ""
}

// applySeedLocked upserts without checking; callers validate or build
// consistent seeds.
func (t *Tenant) applySeedLocked(s Seed) {
	t.assignmentsChangedLocked()
	for _, r := range s.Roles {
		t.roles[r.ID] = &role{id: r.ID, name: r.Name, description: r.Description}
	}
	for _, su := range s.Users {
		u := &user{id: su.UserID, email: su.Email, name: cmp.Or(su.Name, su.Email), roles: map[string]struct{}{}}
		for _, rid := range su.Roles {
			t.ensureRoleLocked(rid)
			u.roles[rid] = struct{}{}
		}
		t.users[u.id] = u
	}
	for _, so := range s.Organizations {
		o := &organization{id: so.ID, name: cmp.Or(so.Name, so.ID), members: map[string]map[string]struct{}{}}
		for _, sm := range so.Members {
			t.ensureUserLocked(sm.UserID, derivedEmail(sm.UserID, 0))
			m := map[string]struct{}{}
			for _, rid := range sm.Roles {
				t.ensureRoleLocked(rid)
				m[rid] = struct{}{}
			}
			o.members[sm.UserID] = m
		}
		t.orgs[o.id] = o
	}
	for _, c := range s.Clients {
		t.clients[c.ClientID] = &client{id: c.ClientID, secret: c.ClientSecret, scopes: sortedUnique(c.Scopes)}
	}
}

// State returns the tenant's roles, users and organizations with their
// current role assignments, sorted by id. Clients are left out: they carry
// secrets.
func (t *Tenant) State() Seed {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Seed{Roles: []SeedRole{}, Users: []SeedUser{}, Organizations: []SeedOrganization{}}
	for _, r := range t.roles {
		s.Roles = append(s.Roles, SeedRole{ID: r.id, Name: r.name, Description: r.description})
	}
	slices.SortFunc(s.Roles, func(a, b SeedRole) int { return cmp.Compare(a.ID, b.ID) })
	for _, u := range t.users {
		s.Users = append(s.Users, SeedUser{UserID: u.id, Email: u.email, Name: u.name, Roles: sortedKeys(u.roles)})
	}
	slices.SortFunc(s.Users, func(a, b SeedUser) int { return cmp.Compare(a.UserID, b.UserID) })
	for _, o := range t.orgs {
		so := SeedOrganization{ID: o.id, Name: o.name, Members: []SeedMember{}}
		for uid, m := range o.members {
			so.Members = append(so.Members, SeedMember{UserID: uid, Roles: sortedKeys(m)})
		}
		slices.SortFunc(so.Members, func(a, b SeedMember) int { return cmp.Compare(a.UserID, b.UserID) })
		s.Organizations = append(s.Organizations, so)
	}
	slices.SortFunc(s.Organizations, func(a, b SeedOrganization) int { return cmp.Compare(a.ID, b.ID) })
	return s
}

// Removal is one input row as main.go hands it over: a user (by id or
// email), a role (by id or name) and optionally an organization.
type Removal struct {
	UserID         string
	UserEmail      string
	RoleID         string
	RoleName       string
	OrganizationID string
}

// SeedFromRemovals seeds users who hold exactly the roles the removals would
// take away, plus one role that no row names and that must therefore
// survive a correct run:
//
//   - A user named by id keeps that id. If the row also gives an email (and
//     no earlier row gave it to another user), the user gets it; otherwise
//     an email derived from the id ("auth0|abc" → "auth0-abc@example.com").
//   - A user named only by email is the user who got that email from an id
//     row, else a new user "auth0|" + 24 hex digits of SHA-256 of the email.
//     Every email belongs to exactly one user, so email lookups resolve.
//   - Role ids are named from catalogue (id → name), else the row's role
//     name, else "Role <id>". A role named only by name reuses the role that
//     already has that exact name, else gets "rol_" + 16 letters or digits
//     derived from the name. Every role name is used once, so name lookups
//     resolve. All catalogue roles are created.
//   - The survivor role is "rol_SurvivorRole0001" (the next number if an
//     input names that id), named "Survivor"; every seeded user holds it,
//     and every seeded organization membership holds it too.
//   - An organization row makes the user a member holding those roles in
//     that organization.
//
// Rows lacking a user or a role are skipped. The result depends only on the
// rows, their order and the catalogue. Existing entities with the same ids
// are replaced; the function is meant for a fresh tenant.
func (t *Tenant) SeedFromRemovals(rs []Removal, catalogue map[string]string) {
	s := buildRemovalSeed(rs, catalogue)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.applySeedLocked(s)
}

// SurvivorRoleName is the name of the role SeedFromRemovals adds to every
// user and membership.
const SurvivorRoleName = "Survivor"

type roleCatalog struct {
	order  []string
	names  map[string]string // id -> name
	byName map[string]string // name -> id
}

func (c *roleCatalog) add(id, name string) {
	if _, ok := c.names[id]; ok {
		return
	}
	if name == "" || c.byName[name] != "" {
		name = "Role " + id
	}
	c.order = append(c.order, id)
	c.names[id] = name
	c.byName[name] = id
}

func (c *roleCatalog) idForName(name string) string {
	if id := c.byName[name]; id != "" {
		return id
	}
	id := generatedRoleID(name, 0)
	for n := 1; c.names[id] != ""; n++ {
		id = generatedRoleID(name, n)
	}
	c.add(id, name)
	return id
}

func buildRemovalSeed(rs []Removal, catalogue map[string]string) Seed {
	roles := &roleCatalog{names: map[string]string{}, byName: map[string]string{}}
	referenced := map[string]bool{}
	catIDs := make([]string, 0, len(catalogue))
	for id := range catalogue {
		catIDs = append(catIDs, id)
	}
	slices.Sort(catIDs)
	for _, id := range catIDs {
		roles.add(id, catalogue[id])
	}
	for _, r := range rs {
		if r.RoleID != "" {
			referenced[r.RoleID] = true
			roles.add(r.RoleID, r.RoleName)
		}
	}
	rowRole := make([]string, len(rs))
	for i, r := range rs {
		switch {
		case r.RoleID != "":
			rowRole[i] = r.RoleID
		case r.RoleName != "":
			rowRole[i] = roles.idForName(r.RoleName)
		}
	}
	survivor := ""
	for n := 1; survivor == ""; n++ {
		id := fmt.Sprintf("rol_SurvivorRole%04d", n)
		if !referenced[id] && roles.names[id] == "" {
			survivor = id
		}
	}
	survivorName := SurvivorRoleName
	for n := 2; roles.byName[survivorName] != ""; n++ {
		survivorName = fmt.Sprintf("%s %d", SurvivorRoleName, n)
	}
	roles.add(survivor, survivorName)

	// Users: ids first, so that an email given with an id owns that email.
	type seedUser struct {
		email string
		roles map[string]struct{}
	}
	users := map[string]*seedUser{}
	var userOrder []string
	ensureUser := func(id string) *seedUser {
		u := users[id]
		if u == nil {
			u = &seedUser{roles: map[string]struct{}{survivor: {}}}
			users[id] = u
			userOrder = append(userOrder, id)
		}
		return u
	}
	emailOwner := map[string]string{}
	for _, r := range rs {
		if r.UserID == "" {
			continue
		}
		u := ensureUser(r.UserID)
		if r.UserEmail != "" && u.email == "" && emailOwner[r.UserEmail] == "" {
			u.email = r.UserEmail
			emailOwner[r.UserEmail] = r.UserID
		}
	}
	rowUser := make([]string, len(rs))
	for i, r := range rs {
		switch {
		case r.UserID != "":
			rowUser[i] = r.UserID
		case r.UserEmail != "":
			id := emailOwner[r.UserEmail]
			if id == "" {
				id = generatedUserID(r.UserEmail)
				emailOwner[r.UserEmail] = id
				ensureUser(id).email = r.UserEmail
			}
			rowUser[i] = id
		}
	}
	for _, id := range userOrder {
		u := users[id]
		for n := 0; u.email == ""; n++ {
			if e := derivedEmail(id, n); emailOwner[e] == "" {
				u.email = e
				emailOwner[e] = id
			}
		}
	}

	type seedOrg struct {
		members map[string]map[string]struct{}
		order   []string
	}
	orgs := map[string]*seedOrg{}
	var orgOrder []string
	for i, r := range rs {
		uid, rid := rowUser[i], rowRole[i]
		if uid == "" || rid == "" {
			continue
		}
		if r.OrganizationID == "" {
			users[uid].roles[rid] = struct{}{}
			continue
		}
		o := orgs[r.OrganizationID]
		if o == nil {
			o = &seedOrg{members: map[string]map[string]struct{}{}}
			orgs[r.OrganizationID] = o
			orgOrder = append(orgOrder, r.OrganizationID)
		}
		m := o.members[uid]
		if m == nil {
			m = map[string]struct{}{survivor: {}}
			o.members[uid] = m
			o.order = append(o.order, uid)
		}
		m[rid] = struct{}{}
	}

	var s Seed
	for _, id := range roles.order {
		s.Roles = append(s.Roles, SeedRole{ID: id, Name: roles.names[id]})
	}
	for _, id := range userOrder {
		s.Users = append(s.Users, SeedUser{UserID: id, Email: users[id].email, Roles: sortedKeys(users[id].roles)})
	}
	for _, id := range orgOrder {
		so := SeedOrganization{ID: id, Name: orgNameFor(id)}
		for _, uid := range orgs[id].order {
			so.Members = append(so.Members, SeedMember{UserID: uid, Roles: sortedKeys(orgs[id].members[uid])})
		}
		s.Organizations = append(s.Organizations, so)
	}
	return s
}

// syntheticRoleNames is the small catalogue of SeedSynthetic.
var syntheticRoleNames = []string{"Auditor", "Billing Admin", "Content Editor", "Developer", "Read Only", "Support Agent"}

// SeedSynthetic adds n users "auth0|<24 hex>" with emails user1@example.com
// … user<n>@example.com, each holding 1 to 3 roles of a six-role catalogue
// (ids derived from the names) and every role of alsoHold, so that a sweep
// of tens of thousands of holders can be rehearsed. An alsoHold entry is a
// role id or the exact name of a role of the tenant or of the catalogue;
// one that names no role is created, as an id when it starts with "rol_",
// else as a name with an id derived from it. The same arguments give the
// same users.
func (t *Tenant) SeedSynthetic(n int, seed int64, alsoHold ...string) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x73796e7468)) // "synth"
	var s Seed
	ids := make([]string, len(syntheticRoleNames))
	for i, name := range syntheticRoleNames {
		ids[i] = generatedRoleID(name, 0)
		s.Roles = append(s.Roles, SeedRole{ID: ids[i], Name: name})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	extra := t.resolveSyntheticRolesLocked(alsoHold, &s)
	taken := make(map[string]bool, n)
	s.Users = make([]SeedUser, 0, n)
	for i := 1; i <= n; i++ {
		var uid string
		for uid == "" || taken[uid] || t.users[uid] != nil {
			uid = fmt.Sprintf("auth0|%016x%08x", rng.Uint64(), rng.Uint32())
		}
		taken[uid] = true
		perm := rng.Perm(len(ids))
		k := 1 + rng.IntN(3)
		held := make([]string, k, k+len(extra))
		for j := range k {
			held[j] = ids[perm[j]]
		}
		held = append(held, extra...)
		slices.Sort(held)
		s.Users = append(s.Users, SeedUser{UserID: uid, Email: fmt.Sprintf("user%d@example.com", i), Roles: slices.Compact(held)})
	}
	t.applySeedLocked(s)
}

// resolveSyntheticRolesLocked turns SeedSynthetic's alsoHold entries into
// role ids, adding the roles it has to create to s.
func (t *Tenant) resolveSyntheticRolesLocked(alsoHold []string, s *Seed) []string {
	byName := map[string]string{}
	for id, r := range t.roles {
		byName[r.name] = id
	}
	for _, r := range s.Roles {
		byName[r.Name] = r.ID
	}
	var out []string
	for _, h := range alsoHold {
		switch id := byName[h]; {
		case t.roles[h] != nil || slices.ContainsFunc(s.Roles, func(r SeedRole) bool { return r.ID == h }):
			out = append(out, h)
		case id != "":
			out = append(out, id)
		case strings.HasPrefix(h, "rol_"):
			s.Roles = append(s.Roles, SeedRole{ID: h, Name: "Role " + h})
			byName["Role "+h] = h
			out = append(out, h)
		default:
			id := generatedRoleID(h, 0)
			s.Roles = append(s.Roles, SeedRole{ID: id, Name: h})
			byName[h] = id
			out = append(out, id)
		}
	}
	return out
}

// generatedUserID is the id of a user known only by email: the shape of an
// Auth0 database user id, derived from the email.
func generatedUserID(email string) string {
	sum := sha256.Sum256([]byte("sandbox-user:" + email))
	return "auth0|" + hex.EncodeToString(sum[:])[:24]
}

// generatedRoleID is "rol_" plus 16 letters or digits derived from the name
// (attempt > 0 when an earlier candidate was taken).
func generatedRoleID(name string, attempt int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "sandbox-role:%d:%s", attempt, name))
	return "rol_" + alnumFrom(sum[:], 16)
}

// derivedEmail is a readable email for a user known only by id:
// "auth0|5f7c…" → "auth0-5f7c…@example.com"; attempt > 0 disambiguates ids
// that sanitise alike.
func derivedEmail(userID string, attempt int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(userID) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	local := strings.TrimSuffix(b.String(), "-")
	if len(local) > 48 {
		local = local[:48]
	}
	if local == "" {
		local = "user"
	}
	if attempt > 0 {
		sum := sha256.Sum256([]byte(userID))
		local += fmt.Sprintf("-%s-%d", hex.EncodeToString(sum[:4]), attempt)
	}
	return local + "@example.com"
}

// orgNameFor makes an Auth0-style organization name (lower case) from an id.
func orgNameFor(id string) string {
	return strings.ToLower(strings.TrimPrefix(id, "org_"))
}
