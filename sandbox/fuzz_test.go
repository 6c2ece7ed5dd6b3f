package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fuzzTenant is a tenant that already holds a role, a user, an organization
// and a client, so that seeds can replace entities and collide with names.
func fuzzTenant() *Tenant {
	tn := New(Options{ClientID: "fuzz-client", ClientSecret: "fuzz-secret", APIToken: "fuzz-token"})
	tn.AddRole("rol_AAAAAAAAAAAAAAAA", "Billing Admin")
	tn.AddRole("rol_ExistingExisting", "Existing")
	tn.AddUser("auth0|existing", "existing@example.com", "rol_ExistingExisting")
	tn.AddMember("org_ExistingExisting", "auth0|existing", "rol_AAAAAAAAAAAAAAAA")
	tn.AddClient("existing-client", "existing-secret", "read:users")
	return tn
}

// clientsOf copies the tenant's clients, which State leaves out.
func clientsOf(tn *Tenant) map[string]client {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	clients := make(map[string]client, len(tn.clients))
	for id, c := range tn.clients {
		clients[id] = *c
	}
	return clients
}

// FuzzLoadSeed loads arbitrary bytes as a YAML and as a JSON seed. LoadSeed
// must not panic; a refused seed must change nothing and name the file; an
// accepted one must leave a tenant whose State seeds a fresh tenant to the
// same State (sandbox state dumps are meant to seed other sandboxes), and an
// accepted JSON seed must be exactly one JSON value.
func FuzzLoadSeed(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"seed.yaml", "seed.json"} {
			tn := fuzzTenant()
			before, clientsBefore := tn.State(), clientsOf(tn)
			if err := tn.LoadSeed(bytes.NewReader(data), name); err != nil {
				if !strings.HasPrefix(err.Error(), name+": ") {
					t.Fatalf("%s: error does not name the file: %.300s", name, err)
				}
				if after := tn.State(); !reflect.DeepEqual(after, before) {
					t.Fatalf("%s: refused seed changed the tenant (%.300s):\n got %+v\nwant %+v", name, err, after, before)
				}
				if after := clientsOf(tn); !reflect.DeepEqual(after, clientsBefore) {
					t.Fatalf("%s: refused seed changed the clients (%.300s)", name, err)
				}
				continue
			}
			if name == "seed.json" && !json.Valid(data) {
				t.Fatalf("accepted a JSON seed that is not one JSON value: %q", data)
			}
			state := tn.State()
			fresh := New(Options{ClientID: "fuzz-client", ClientSecret: "fuzz-secret", APIToken: "fuzz-token"})
			if err := fresh.ApplySeed(state); err != nil {
				t.Fatalf("%s: the state after the seed does not seed a fresh tenant: %v\n%+v", name, err, state)
			}
			if got := fresh.State(); !reflect.DeepEqual(got, state) {
				t.Fatalf("%s: state did not round-trip:\n got %+v\nwant %+v", name, got, state)
			}
		}
	})
}

// A seed whose users alias one list of unknown roles has a problem per user
// and role: 20,000 here, from 7 KB. Only the first maxSeedProblems are
// spelled out.
func TestLoadSeedCapsAliasedProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("users:\n  - user_id: u0\n    roles: &unknown [")
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "rol_%d", i)
	}
	b.WriteString("]\n")
	for i := 1; i < 200; i++ {
		fmt.Fprintf(&b, "  - {user_id: u%d, roles: *unknown}\n", i)
	}
	tn := New(Options{})
	err := tn.LoadSeed(strings.NewReader(b.String()), "aliased.yaml")
	if err == nil {
		t.Fatal("accepted unknown roles")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxSeedProblems+1 || lines[len(lines)-1] != "... and 19900 more problems" {
		t.Fatalf("%d lines, the last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.HasSuffix(lines[0], `users[0] (u0): unknown role "rol_0"`) || lines[maxSeedProblems-1] != `users[0] (u0): unknown role "rol_99"` {
		t.Fatalf("not the first problems in order: %q … %q", lines[0], lines[maxSeedProblems-1])
	}
}
