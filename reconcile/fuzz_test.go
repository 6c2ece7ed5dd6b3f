package reconcile

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

// FuzzLoadProtection feeds arbitrary files to LoadProtection, which guards a
// production tenant: it must never panic, name the file in its errors, and
// protect only non-empty, trimmed ids, which is how removals name them.
func FuzzLoadProtection(f *testing.F) {
	const path = "protect.csv"
	f.Fuzz(func(t *testing.T, data []byte) {
		var loaded Protection // the zero value, as a caller may well declare it
		if err := LoadProtection(bytes.NewReader(data), path, &loaded); err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for kind, set := range map[string]map[string]bool{"user": loaded.Users, "role": loaded.Roles} {
			for v, on := range set {
				if v == "" || strings.TrimSpace(v) != v || !on {
					t.Fatalf("protected %s %q (%v) is empty or untrimmed", kind, v, on)
				}
			}
		}

		// apply loads the file on top of the --protect-user and
		// --protect-role flags: the file adds to them and removes nothing.
		flags := Protection{Users: map[string]bool{"auth0|flag": true}, Roles: map[string]bool{"rol_FlagFlagFlagFlag": true}}
		if err := LoadProtection(bytes.NewReader(data), path, &flags); err != nil {
			t.Fatalf("second load of the same file: %v", err)
		}
		wantUsers, wantRoles := maps.Clone(loaded.Users), maps.Clone(loaded.Roles)
		wantUsers["auth0|flag"], wantRoles["rol_FlagFlagFlagFlag"] = true, true
		if !maps.Equal(flags.Users, wantUsers) || !maps.Equal(flags.Roles, wantRoles) {
			t.Fatalf("loaded on top of the flags: %+v, want users %v roles %v", flags, wantUsers, wantRoles)
		}
	})
}
