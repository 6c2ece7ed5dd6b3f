package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const seedYAML = `roles:
  - id: rol_AAAAAAAAAAAAAAAA
    name: Billing Admin
    description: Can see invoices
  - id: rol_KKKKKKKKKKKKKKKK
    name: Viewer
users:
  - user_id: "auth0|5f7c8ec7c33c6c004bbafe82"
    email: jane@example.com
    roles: [rol_AAAAAAAAAAAAAAAA, rol_KKKKKKKKKKKKKKKK]
  - user_id: "samlp|acme|jane/doe"
    email: jane@example.com
    name: Jane Doe
    roles: []
organizations:
  - id: org_AcmeAcmeAcmeAcme
    name: acme
    members:
      - user_id: "samlp|acme|jane/doe"
        roles: [rol_AAAAAAAAAAAAAAAA]
clients:
  - client_id: ci
    client_secret: not-a-secret
    scopes: [read:users]
`

func TestLoadSeedYAML(t *testing.T) {
	tn, srv := newServer(t, Options{})
	if err := tn.LoadSeed(strings.NewReader(seedYAML), "seed.yaml"); err != nil {
		t.Fatal(err)
	}
	if got := tn.Roles("auth0|5f7c8ec7c33c6c004bbafe82"); !equalStrings(got, []string{rolA, rolKeep}) {
		t.Fatalf("roles = %v", got)
	}
	if got := tn.MemberRoles("org_AcmeAcmeAcmeAcme", "samlp|acme|jane/doe"); !equalStrings(got, []string{rolA}) {
		t.Fatalf("member roles = %v", got)
	}
	request(t, srv, "GET", "/api/v2/users/"+janeEscaped+"/roles?per_page=1", tn.Token(), "").expect(t, 200,
		`[{"id":"rol_AAAAAAAAAAAAAAAA","name":"Billing Admin","description":"Can see invoices"}]`)
	// Two users share an email, as Auth0 allows across connections.
	if got := decode[[]userObject](t, request(t, srv, "GET", "/api/v2/users-by-email?email=jane@example.com", tn.Token(), "")); len(got) != 2 || got[1].Name != "Jane Doe" {
		t.Fatalf("users-by-email = %+v", got)
	}
	// The seeded client gets a token with its scopes.
	if tok := decode[tokenAnswer](t, formToken(t, srv, clientForm(srv, "ci", "not-a-secret"))); tok.Scope != "read:users" {
		t.Fatalf("seeded client scope = %q", tok.Scope)
	}
}

func TestLoadSeedJSONAndStateRoundTrip(t *testing.T) {
	first := New(Options{})
	if err := first.LoadSeed(strings.NewReader(seedYAML), "seed.yml"); err != nil {
		t.Fatal(err)
	}
	dump, err := json.Marshal(first.State())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(dump), "not-a-secret") || strings.Contains(string(dump), "clients") {
		t.Fatalf("state leaks clients: %s", dump)
	}
	second := New(Options{})
	if err := second.LoadSeed(bytes.NewReader(dump), "state.json"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first.State(), second.State()) {
		t.Fatalf("state did not round-trip:\n%+v\n%+v", first.State(), second.State())
	}
}

func TestLoadSeedErrors(t *testing.T) {
	cases := []struct{ name, file, content, want string }{
		{"unknown key", "s.yaml", "roles:\n  - id: rol_A\n    name: A\n    colour: red\n", "line 4: field colour not found"},
		{"unknown json key", "s.json", `{"roles":[],"extra":1}`, `unknown field "extra"`},
		{"trailing json", "s.json", `{"roles":[]} {}`, "unexpected data"},
		{"unknown role", "s.yaml", "users:\n  - user_id: auth0|x\n    roles: [rol_nope]\n", `users[0] (auth0|x): unknown role "rol_nope"`},
		{"duplicate role name", "s.yaml", "roles:\n  - {id: rol_A, name: Admin}\n  - {id: rol_B, name: Admin}\n", `roles[1] (rol_B): role name "Admin" is already used by rol_A`},
		{"duplicate user", "s.yaml", "users:\n  - {user_id: a}\n  - {user_id: a}\n", `users[1]: duplicate user_id "a"`},
		{"member not a user", "s.yaml", "organizations:\n  - id: org_1\n    members: [{user_id: ghost}]\n", `members[0]: unknown user "ghost"`},
		{"client without secret", "s.yaml", "clients:\n  - client_id: c\n", `clients[0] (c): client_secret is required`},
		{"missing role id", "s.yaml", "roles:\n  - name: A\n", `roles[0]: id is required`},
		{"sniffed json", "-", `{"roles":[],"extra":1}`, `unknown field "extra"`},
		{"sniffed yaml", "stdin", "roles:\n  - {id: rol_A, name: A, colour: red}\n", "field colour not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tn := New(Options{})
			err := tn.LoadSeed(strings.NewReader(c.content), c.file)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), c.file+": "), "error %q does not start with the name", err)
			if s := tn.State(); len(s.Roles)+len(s.Users)+len(s.Organizations) != 0 {
				t.Fatalf("a failed seed applied something: %+v", s)
			}
		})
	}
	// Several problems are all reported.
	err := New(Options{}).ApplySeed(Seed{Users: []SeedUser{{UserID: "a", Roles: []string{"r1"}}, {UserID: "b", Roles: []string{"r2"}}}})
	if err == nil || !strings.Contains(err.Error(), "r1") || !strings.Contains(err.Error(), "r2") {
		t.Fatalf("ApplySeed error = %v", err)
	}
	err = New(Options{}).LoadSeed(iotest.ErrReader(errors.New("disk on fire")), "broken.yaml")
	require.Error(t, err)
	assert.Equal(t, "broken.yaml: disk on fire", err.Error())
}

var (
	generatedUser = regexp.MustCompile(`^auth0\|[0-9a-f]{24}$`)
	roleIDShape   = regexp.MustCompile(`^rol_[A-Za-z0-9]{16}$`)
)

func TestSeedFromRemovals(t *testing.T) {
	rows := []Removal{
		{UserID: jane, RoleID: rolA},
		{UserID: jane, RoleName: "Support Agent"},
		{UserEmail: "bob@example.com", RoleID: rolA},
		{UserEmail: "bob@example.com", RoleName: "Billing Admin"}, // the catalogue name of rolA
		{UserID: "samlp|acme|ann/lee", UserEmail: "ann@example.com", RoleID: rolB},
		{UserEmail: "ann@example.com", RoleName: "Auditor"}, // resolves to ann's id
		{UserEmail: "carol@example.com", RoleID: rolA, OrganizationID: "org_AcmeAcmeAcmeAcme"},
		{UserID: jane, RoleName: "Support Agent", OrganizationID: "org_AcmeAcmeAcmeAcme"},
		{UserID: "auth0|nothing"}, // no role: skipped, but the user exists
	}
	catalogue := map[string]string{rolA: "Billing Admin", rolKeep: "Viewer"}
	tn, srv := newServer(t, Options{})
	tn.SeedFromRemovals(rows, catalogue)

	const survivor = "rol_SurvivorRole0001"
	state := tn.State()
	roleByName := map[string]string{}
	for _, r := range state.Roles {
		if _, dup := roleByName[r.Name]; dup {
			t.Fatalf("role name %q used twice", r.Name)
		}
		roleByName[r.Name] = r.ID
		if !roleIDShape.MatchString(r.ID) {
			t.Errorf("role id %q has the wrong shape", r.ID)
		}
	}
	support, auditor := roleByName["Support Agent"], roleByName["Auditor"]
	if roleByName["Survivor"] != survivor || roleByName["Billing Admin"] != rolA || roleByName["Viewer"] != rolKeep ||
		roleByName["Role "+rolB] != rolB || support == "" || auditor == "" {
		t.Fatalf("roles = %+v", state.Roles)
	}

	byEmail := func(email string) string {
		t.Helper()
		got := decode[[]userObject](t, request(t, srv, "GET", "/api/v2/users-by-email?email="+email, tn.Token(), ""))
		if len(got) != 1 {
			t.Fatalf("users-by-email %s = %+v, want exactly one", email, got)
		}
		return got[0].UserID
	}
	bob, carol := byEmail("bob@example.com"), byEmail("carol@example.com")
	if !generatedUser.MatchString(bob) || !generatedUser.MatchString(carol) || bob == carol {
		t.Fatalf("generated ids %q %q", bob, carol)
	}
	if ann := byEmail("ann@example.com"); ann != "samlp|acme|ann/lee" {
		t.Fatalf("ann@example.com → %s", ann)
	}
	if e := byEmail("auth0-5f7c8ec7c33c6c004bbafe82@example.com"); e != jane {
		t.Fatalf("derived email → %s", e)
	}

	want := map[string][]string{
		jane:                 sortedUnique([]string{rolA, support, survivor}),
		bob:                  {rolA, survivor},
		"samlp|acme|ann/lee": sortedUnique([]string{rolB, auditor, survivor}),
		carol:                {survivor},
		"auth0|nothing":      {survivor},
	}
	if len(state.Users) != len(want) {
		t.Fatalf("users = %+v", state.Users)
	}
	for id, roles := range want {
		if got := tn.Roles(id); !equalStrings(got, roles) {
			t.Errorf("%s holds %v, want %v", id, got, roles)
		}
	}
	if got := tn.MemberRoles("org_AcmeAcmeAcmeAcme", carol); !equalStrings(got, []string{rolA, survivor}) {
		t.Errorf("carol in org holds %v", got)
	}
	if got := tn.MemberRoles("org_AcmeAcmeAcmeAcme", jane); !equalStrings(got, sortedUnique([]string{support, survivor})) {
		t.Errorf("jane in org holds %v", got)
	}

	// Name lookups resolve to exactly one role by exact name.
	for _, name := range []string{"Support Agent", "Auditor", "Billing Admin"} {
		matches := 0
		for _, r := range decode[[]roleObject](t, request(t, srv, "GET", "/api/v2/roles?name_filter="+strings.ReplaceAll(name, " ", "%20"), tn.Token(), "")) {
			if r.Name == name {
				matches++
			}
		}
		if matches != 1 {
			t.Errorf("%d roles named %q", matches, name)
		}
	}

	// Deterministic: the same input gives the same tenant.
	again := New(Options{})
	again.SeedFromRemovals(rows, catalogue)
	if !reflect.DeepEqual(state, again.State()) {
		t.Fatalf("SeedFromRemovals is not deterministic")
	}
}

func TestSeedFromRemovalsAvoidsNamedSurvivor(t *testing.T) {
	tn := New(Options{})
	tn.SeedFromRemovals([]Removal{
		{UserID: "auth0|a", RoleID: "rol_SurvivorRole0001", RoleName: "Survivor"},
		{UserID: "auth0|a", RoleID: "rol_SurvivorRole0002"},
	}, nil)
	got := tn.Roles("auth0|a")
	if !equalStrings(got, []string{"rol_SurvivorRole0001", "rol_SurvivorRole0002", "rol_SurvivorRole0003"}) {
		t.Fatalf("roles = %v", got)
	}
	for _, r := range tn.State().Roles {
		if r.ID == "rol_SurvivorRole0003" && r.Name != "Survivor 2" {
			t.Fatalf("survivor named %q", r.Name)
		}
	}
}

func TestSeedSynthetic(t *testing.T) {
	a, b, c := New(Options{}), New(Options{}), New(Options{})
	a.SeedSynthetic(50, 1)
	b.SeedSynthetic(50, 1)
	c.SeedSynthetic(50, 2)
	sa := a.State()
	if !reflect.DeepEqual(sa, b.State()) {
		t.Fatal("same seed, different tenants")
	}
	if reflect.DeepEqual(sa, c.State()) {
		t.Fatal("different seeds, same tenant")
	}
	if len(sa.Users) != 50 || len(sa.Roles) != 6 {
		t.Fatalf("%d users, %d roles", len(sa.Users), len(sa.Roles))
	}
	emails := map[string]bool{}
	for _, u := range sa.Users {
		if !generatedUser.MatchString(u.UserID) || len(u.Roles) < 1 || len(u.Roles) > 3 {
			t.Errorf("user %+v", u)
		}
		emails[u.Email] = true
	}
	if !emails["user1@example.com"] || !emails["user50@example.com"] || len(emails) != 50 {
		t.Errorf("emails = %v", emails)
	}
}
