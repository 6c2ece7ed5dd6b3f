package input

import (
	"strings"
	"testing"
)

func TestReadYAML(t *testing.T) {
	const knownKeysMsg = "known keys are user_id, user_email, roles, role_names, organization_id, reason"
	runReadCases(t, "r.yaml", []readCase{
		{
			name: "entry expands to one row per role, each on its item's line",
			data: `# removals for Q4
removals:
  - user_id: "` + testUser + `"
    user_email: dana@example.com
    roles:
      - ` + testRole + `
      - ` + testRole2 + `
    role_names: [Billing Admin, "Support Agent"]
    organization_id: ` + testOrg + `
    reason: "2026-Q4 access review"
  - user_email: " marcus@example.com "
    role_names:
      - Read Only Auditor
`,
			rows: []Row{
				{Line: 6, UserID: testUser, UserEmail: "dana@example.com", RoleID: testRole, OrganizationID: testOrg, Reason: "2026-Q4 access review"},
				{Line: 7, UserID: testUser, UserEmail: "dana@example.com", RoleID: testRole2, OrganizationID: testOrg, Reason: "2026-Q4 access review"},
				{Line: 8, UserID: testUser, UserEmail: "dana@example.com", RoleName: "Billing Admin", OrganizationID: testOrg, Reason: "2026-Q4 access review"},
				{Line: 8, UserID: testUser, UserEmail: "dana@example.com", RoleName: "Support Agent", OrganizationID: testOrg, Reason: "2026-Q4 access review"},
				{Line: 13, UserEmail: "marcus@example.com", RoleName: "Read Only Auditor"},
			},
			records: 2,
		},
		{
			name:    "flow style, BOM, CRLF, numbers and nulls as text",
			data:    "\ufeff{removals: [{user_id: '" + testUser + "', roles: [" + testRole + "], reason: 2026, organization_id: ~}]}\r\n",
			rows:    []Row{{Line: 1, UserID: testUser, RoleID: testRole, Reason: "2026"}},
			records: 1,
		},
		{
			name: "empty list",
			data: "removals: []\n",
		},
		{
			name: "empty file",
			data: "",
			errs: []string{`r.yaml: empty file, expected "removals:" followed by a list of entries`},
		},
		{
			name: "only comments",
			data: "# nothing yet\n",
			errs: []string{`r.yaml: no removals in the file, expected "removals:" followed by a list of entries`},
		},
		{
			name: "empty document",
			data: "---\n",
			errs: []string{`r.yaml: no removals in the file, expected "removals:" followed by a list of entries`},
		},
		{
			name: "multiple documents",
			data: "removals: []\n---\nremovals: []\n",
			errs: []string{`r.yaml:2: a second YAML document: put all removals in one document`},
		},
		{
			name: "top level is a list",
			data: "- user_id: x\n",
			errs: []string{`r.yaml:1:1: expected "removals:" followed by a list of entries, found a list`},
		},
		{
			name: "top level is a string",
			data: "removals\n",
			errs: []string{`r.yaml:1:1: expected "removals:" followed by a list of entries, found "removals"`},
		},
		{
			name: "unknown top-level key",
			data: "version: 1\nremovals: []\n",
			errs: []string{`r.yaml:1:1: unknown key "version" at the top level; only "removals" is allowed`},
		},
		{
			name: "missing removals",
			data: "removal: []\n",
			errs: []string{`r.yaml:1:1: unknown key "removal" at the top level; only "removals" is allowed`},
		},
		{
			name: "removals in capitals",
			data: "Removals: []\n",
			errs: []string{`r.yaml:1:1: unknown key "Removals" at the top level; only "removals" is allowed (did you mean removals?)`},
		},
		{
			name: "removals is null",
			data: "removals:\n",
			errs: []string{`r.yaml:1:10: removals must be a list of entries, found nothing`},
		},
		{
			name: "removals is a mapping",
			data: "removals:\n  user_id: x\n",
			errs: []string{`r.yaml:2:3: removals must be a list of entries, found a mapping`},
		},
		{
			name: "duplicate removals",
			data: "removals: []\nremovals: []\n",
			errs: []string{`r.yaml:2:1: duplicate key "removals"`},
		},
		{
			name: "entry is not a mapping",
			data: "removals:\n  - " + testUser + "\n  - [a]\n",
			errs: []string{
				`r.yaml:2:5: a removal entry must be a mapping with user_id or user_email, and roles or role_names; found "auth0|5f7c8ec7c33c6c004bbafe82"`,
				`r.yaml:3:5: a removal entry must be a mapping with user_id or user_email, and roles or role_names; found a list`,
			},
		},
		{
			name: "unknown and duplicate keys in an entry",
			data: "removals:\n  - user_id: \"" + testUser + "\"\n    role: " + testRole + "\n    roles: [" + testRole + "]\n    User_Email: a@b.co\n    roles: []\n",
			errs: []string{
				`r.yaml:3:5: unknown key "role" in a removal entry; ` + knownKeysMsg,
				`r.yaml:5:5: unknown key "User_Email" (did you mean user_email?)`,
				`r.yaml:6:5: duplicate key "roles"`,
			},
		},
		{
			name: "wrong types",
			data: `removals:
  - user_id: {provider: auth0}
    user_email: [a@b.co]
    roles: ` + testRole + `
    role_names: [[Billing Admin], {a: b}]
    reason: !!binary aGVsbG8=
    organization_id: !custom org_x
`,
			errs: []string{
				`r.yaml:2:14: user_id must be a single value, found a mapping`,
				`r.yaml:3:17: user_email must be a single value, found a list`,
				`r.yaml:4:12: roles must be a list (roles: [a, b]), found "rol_NHBmr6NkzbRcHob1"`,
				`r.yaml:5:18: role_names item must be a single value, found a list`,
				`r.yaml:5:35: role_names item must be a single value, found a mapping`,
				`r.yaml:6:13: reason has the unsupported tag !!binary`,
				`r.yaml:7:22: organization_id has the unsupported tag !custom`,
			},
		},
		{
			name: "entry without user or role",
			data: "removals:\n  - reason: why\n  - user_id: \"\"\n    roles: []\n    role_names: ~\n",
			errs: []string{
				`r.yaml:2:5: entry names no user: add user_id or user_email`,
				`r.yaml:2:5: entry names no role: add roles or role_names`,
				`r.yaml:3:5: entry names no user: add user_id or user_email`,
				`r.yaml:3:5: entry names no role: add roles or role_names`,
			},
		},
		{
			name: "empty role items",
			data: "removals:\n  - user_id: \"" + testUser + "\"\n    roles: [~, '', \" \"]\n    role_names:\n      -\n",
			errs: []string{
				`r.yaml:3:13: empty item in roles`,
				`r.yaml:3:16: empty item in roles`,
				`r.yaml:3:20: empty item in roles`,
				`r.yaml:5:8: empty item in role_names`,
			},
		},
		{
			name: "invalid values point at their item",
			data: `removals:
  - user_id: auth0
    user_email: dana
    roles:
      - ` + testRole + `
      - rol_123
    role_names: ["Billing` + "\\t" + `Admin"]
    organization_id: acme
    reason: "a` + "\\u0007" + `"
`,
			errs: []string{
				`r.yaml:2:14: user_id "auth0" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`,
				`r.yaml:3:17: user_email "dana" is not an email address`,
				`r.yaml:6:9: roles item "rol_123" is not a role id (expected rol_ followed by 16 letters or digits)`,
				`r.yaml:7:18: role_names item "Billing\tAdmin" contains a control character (U+0009)`,
				`r.yaml:8:22: organization_id "acme" is not an organization id (expected org_ followed by 1 to 46 letters or digits)`,
				`r.yaml:9:13: reason "a\a" contains a control character (U+0007)`,
			},
		},
		{
			name: "role name too long",
			data: "removals:\n  - user_id: \"" + testUser + "\"\n    role_names: [" + strings.Repeat("n", 256) + "]\n",
			errs: []string{`r.yaml:3:18: role_names item is 256 characters long (at most 255)`},
		},
		{
			name: "syntax error, line from the scanner",
			data: "removals:\n  - user_id: x\n    roles [a]\n",
			errs: []string{`r.yaml:3: invalid YAML: could not find expected ':'`},
		},
		{
			name: "syntax error, line from the parser",
			data: "removals:\n  - user_id: x\n    roles: [a\n",
			errs: []string{`r.yaml:3: invalid YAML: did not find expected ',' or ']'`},
		},
		{
			name: "tab indentation",
			data: "removals:\n\t- user_id: x\n",
			errs: []string{`r.yaml:2: invalid YAML: found character that cannot start any token`},
		},
		{
			name: "anchor and alias",
			data: "removals:\n  - &entry\n    user_id: \"" + testUser + "\"\n    roles: [" + testRole + "]\n  - *entry\n",
			errs: []string{`r.yaml:2:5: aliases are not allowed (nor anchors): write every value out`},
		},
		{
			name: "alias to an undefined anchor",
			data: "removals: *nothing\n",
			errs: []string{`r.yaml: invalid YAML: unknown anchor 'nothing' referenced`},
		},
		{
			name: "billion laughs",
			data: billionLaughs,
			errs: []string{`r.yaml:1:4: aliases are not allowed (nor anchors): write every value out`},
		},
		{
			name: "nesting too deep",
			data: "removals:\n  - user_id: " + strings.Repeat("[", 25) + strings.Repeat("]", 25) + "\n",
			errs: []string{`r.yaml:2:31: nesting is deeper than 20 levels`},
		},
		{
			name: "NUL byte",
			data: "removals:\n  - user_id: \"auth0|\x00\"\n",
			errs: []string{`r.yaml:2:21: control character U+0000: this is not a text file`},
		},
		{
			name: "invalid UTF-8",
			data: "removals:\n  - reason: caf\xe9\n",
			errs: []string{`r.yaml:2:16: invalid UTF-8: this is not a text file`},
		},
		{
			name: "a list as a key",
			data: "removals:\n  - ? [user_id]\n    : x\n",
			errs: []string{
				"r.yaml:2:5: entry names no user: add user_id or user_email",
				"r.yaml:2:5: entry names no role: add roles or role_names",
				"r.yaml:2:7: unknown key (a list) in a removal entry; " + knownKeysMsg,
			},
		},
		{
			name: "lines end at CR, LF, NEL, LS and PS, as the parser counts them",
			data: "# a\r# b\r\n# c\u0085# d\u2028# e\u2029removals: [\x01]\n",
			errs: []string{"r.yaml:6:12: control character U+0001: this is not a text file"},
		},
		{
			name: "UTF-16",
			data: "\xff\xfer\x00e\x00",
			errs: []string{`r.yaml: file is UTF-16 encoded; save it as UTF-8`},
		},
	})
}

// billionLaughs expands to a billion strings when decoded into values.
const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
removals: *i
`

func TestReadYAMLDeepDocument(t *testing.T) {
	// Deeper than the parser allows: refused by the parser itself, quickly.
	_, errs := readString(t, "r.yaml", strings.Repeat("[", 100000), Options{})
	if len(errs) != 1 || !strings.Contains(errs[0], "exceeded max depth of 10000") {
		t.Fatalf("problems %q", errs)
	}
	// Deep block nesting, within the parser's limit.
	var b strings.Builder
	for i := range 200 {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	_, errs = readString(t, "r.yaml", b.String(), Options{})
	if want := []string{"r.yaml:20:20: nesting is deeper than 20 levels"}; strings.Join(errs, "\n") != want[0] {
		t.Fatalf("problems %q, want %q", errs, want)
	}
}
