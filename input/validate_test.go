package input

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidationRulesCSV checks every rule, and its message, on a one-row
// CSV file with all columns.
func TestValidationRulesCSV(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	type fields [fieldCount]string
	valid := fields{testUser, "", testRole, "", "", ""}
	with := func(kind int, v string) fields {
		f := valid
		f[kind] = v
		return f
	}
	cases := []struct {
		name   string
		fields fields
		// problems as field kind (-1: the row) and message
		want []string
		at   []int
	}{
		{"valid provider|id forms", with(userIDField, "samlp|acme|john/doe"), nil, nil},
		{"id with a slash", with(userIDField, "oidc|corp/123"), nil, nil},
		{"provider with dash", with(userIDField, "google-oauth2|104288386251234567890"), nil, nil},
		{"custom connection with underscore", with(userIDField, "oauth2|my_conn-2|abc"), nil, nil},
		{"space inside the id", with(userIDField, "auth0|john doe"), nil, nil},
		{"user id of 1024 characters", with(userIDField, "auth0|"+long(1018)), nil, nil},
		{"user id without provider", with(userIDField, "5f7c8ec7c33c6c004bbafe82"),
			[]string{`user_id "5f7c8ec7c33c6c004bbafe82" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`}, []int{userIDField}},
		{"user id with empty provider", with(userIDField, "|abc"),
			[]string{`user_id "|abc" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`}, []int{userIDField}},
		{"user id with empty id", with(userIDField, "auth0|"),
			[]string{`user_id "auth0|" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`}, []int{userIDField}},
		{"user id with a space in the provider", with(userIDField, "auth 0|abc"),
			[]string{`user_id "auth 0|abc" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`}, []int{userIDField}},
		{"user id with space at the start of the id", with(userIDField, "auth0| abc"),
			[]string{`user_id "auth0| abc" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`}, []int{userIDField}},
		{"no-break spaces around a value are trimmed", with(userIDField, "\u00a0auth0|abc\u00a0"), nil, nil},
		{"email in user_id", with(userIDField, "dana@example.com"),
			[]string{`user_id "dana@example.com" is not an Auth0 user id but looks like an email address: put it in user_email`}, []int{userIDField}},
		{"user id too long", with(userIDField, "auth0|"+long(1019)),
			[]string{`user_id is 1025 characters long (at most 1024)`}, []int{userIDField}},
		{"user id with a tab", with(userIDField, "auth0|a\tb"),
			[]string{`user_id "auth0|a\tb" contains a control character (U+0009)`}, []int{userIDField}},
		{"user id with DEL", with(userIDField, "auth0|a\x7fb"),
			[]string{`user_id "auth0|a\x7fb" contains a control character (U+007F)`}, []int{userIDField}},

		{"email and id both filled", fields{testUser, "dana.whitfield@example.com", testRole, "", "", ""}, nil, nil},
		{"email only", fields{"", "dana.whitfield@example.com", testRole, "", "", ""}, nil, nil},
		{"email of 320 characters", fields{"", long(64) + "@" + long(251) + ".com", testRole, "", "", ""}, nil, nil},
		{"email without @", fields{"", "dana.example.com", testRole, "", "", ""},
			[]string{`user_email "dana.example.com" is not an email address`}, []int{userEmailField}},
		{"email with two @", fields{"", "dana@corp@example.com", testRole, "", "", ""},
			[]string{`user_email "dana@corp@example.com" is not an email address`}, []int{userEmailField}},
		{"email without local part", fields{"", "@example.com", testRole, "", "", ""},
			[]string{`user_email "@example.com" is not an email address`}, []int{userEmailField}},
		{"email without dot in the domain", fields{"", "dana@localhost", testRole, "", "", ""},
			[]string{`user_email "dana@localhost" is not an email address`}, []int{userEmailField}},
		{"email with domain ending in a dot", fields{"", "dana@example.", testRole, "", "", ""},
			[]string{`user_email "dana@example." is not an email address`}, []int{userEmailField}},
		{"email with a space", fields{"", "dana whitfield@example.com", testRole, "", "", ""},
			[]string{`user_email "dana whitfield@example.com" is not an email address`}, []int{userEmailField}},
		{"email too long", fields{"", long(65) + "@" + long(251) + ".com", testRole, "", "", ""},
			[]string{`user_email is 321 characters long (at most 320)`}, []int{userEmailField}},
		{"bad id and bad email are both reported", fields{"auth0", "dana", testRole, "", "", ""},
			[]string{`user_id "auth0" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`,
				`user_email "dana" is not an email address`}, []int{userIDField, userEmailField}},

		{"short role id", with(roleIDField, "rol_123"),
			[]string{`role_id "rol_123" is not a role id (expected rol_ followed by 16 letters or digits)`}, []int{roleIDField}},
		{"long role id", with(roleIDField, testRole+"x"),
			[]string{`role_id "rol_NHBmr6NkzbRcHob1x" is not a role id (expected rol_ followed by 16 letters or digits)`}, []int{roleIDField}},
		{"role id in capitals", with(roleIDField, "ROL_NHBmr6NkzbRcHob1"),
			[]string{`role_id "ROL_NHBmr6NkzbRcHob1" is not a role id (expected rol_ followed by 16 letters or digits)`}, []int{roleIDField}},
		{"role id with a dash", with(roleIDField, "rol_NHBmr6Nkzb-cHob1"),
			[]string{`role_id "rol_NHBmr6Nkzb-cHob1" is not a role id (expected rol_ followed by 16 letters or digits)`}, []int{roleIDField}},
		{"role name in the role_id column", with(roleIDField, "Billing Admin"),
			[]string{`role_id "Billing Admin" is not a role id (expected rol_ followed by 16 letters or digits)`}, []int{roleIDField}},

		{"role name only", fields{testUser, "", "", "Billing Admin", "", ""}, nil, nil},
		{"role name of 255 characters", fields{testUser, "", "", long(255), "", ""}, nil, nil},
		{"role name too long", fields{testUser, "", "", long(256), "", ""},
			[]string{`role_name is 256 characters long (at most 255)`}, []int{roleNameField}},
		{"role name with a control character", fields{testUser, "", "", "Billing\x1bAdmin", "", ""},
			[]string{`role_name "Billing\x1bAdmin" contains a control character (U+001B)`}, []int{roleNameField}},
		{"role name with invalid UTF-8", fields{testUser, "", "", "Billing\xc3", "", ""},
			[]string{`role_name "Billing\xc3" is not valid UTF-8`}, []int{roleNameField}},
		{"role name with unicode", fields{testUser, "", "", "Fakturierung – Admin", "", ""}, nil, nil},

		{"organization", with(organizationIDField, testOrg), nil, nil},
		{"organization id of 50 characters", with(organizationIDField, "org_"+strings.Repeat("A", 46)), nil, nil},
		{"organization id too long", with(organizationIDField, "org_"+strings.Repeat("A", 47)),
			[]string{`organization_id "org_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" is not an organization id (expected org_ followed by 1 to 46 letters or digits)`}, []int{organizationIDField}},
		{"organization id without suffix", with(organizationIDField, "org_"),
			[]string{`organization_id "org_" is not an organization id (expected org_ followed by 1 to 46 letters or digits)`}, []int{organizationIDField}},
		{"organization name instead of id", with(organizationIDField, "acme-corp"),
			[]string{`organization_id "acme-corp" is not an organization id (expected org_ followed by 1 to 46 letters or digits)`}, []int{organizationIDField}},

		{"reason with unicode", with(reasonField, "Überprüfung ✓ 2026-Q4"), nil, nil},
		{"reason of 1024 characters", with(reasonField, strings.Repeat("é", 1024)), nil, nil},
		{"reason too long", with(reasonField, strings.Repeat("é", 1025)),
			[]string{`reason is 1025 characters long (at most 1024)`}, []int{reasonField}},
		{"reason with a C1 control", with(reasonField, "a\u009b31mb"),
			[]string{`reason "a\u009b31mb" contains a control character (U+009B)`}, []int{reasonField}},
		{"long value is shortened in the message", with(roleIDField, "rol_"+long(200)),
			[]string{`role_id "rol_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... is not a role id (expected rol_ followed by 16 letters or digits)`}, []int{roleIDField}},

		{"neither user nor role", fields{"", "", "", "", testOrg, "why"},
			[]string{"row names no user and no role: fill user_id or user_email, and role_id or role_name"}, []int{-1}},
		{"user without role", fields{testUser, "", "", "", "", ""},
			[]string{"no role: fill role_id or role_name"}, []int{-1}},
		{"role without user", fields{"", "", testRole, "", "", ""},
			[]string{"no user: fill user_id or user_email"}, []int{-1}},
		{"a bad role is not also missing", fields{testUser, "", "rol_1", "", "", ""},
			[]string{`role_id "rol_1" is not a role id (expected rol_ followed by 16 letters or digits)`}, []int{roleIDField}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line := strings.Join(tc.fields[:], ",")
			src, got := readString(t, "r.csv", fullHeader+line+"\n", Options{})
			var want []string
			for i, msg := range tc.want {
				pos := "r.csv:2"
				if kind := tc.at[i]; kind >= 0 {
					col := 1
					for _, f := range tc.fields[:kind] {
						col += len(f) + 1
					}
					pos += fmt.Sprintf(":%d", col)
				}
				want = append(want, pos+": "+msg)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if src != nil {
				r := src.Rows[0]
				if r.Line != 2 || r.UserID+r.UserEmail+r.RoleID+r.RoleName+r.OrganizationID+r.Reason == "" {
					t.Fatalf("row %+v", r)
				}
			}
		})
	}
}

func TestBothIDAndNameAreKept(t *testing.T) {
	src, errs := readString(t, "r.csv", fullHeader+testUser+",dana@example.com,"+testRole+",Billing Admin,,\n", Options{})
	if errs != nil {
		t.Fatal(errs)
	}
	want := Row{Line: 2, UserID: testUser, UserEmail: "dana@example.com", RoleID: testRole, RoleName: "Billing Admin"}
	if src.Rows[0] != want {
		t.Fatalf("got %+v, want %+v", src.Rows[0], want)
	}
}

func TestDuplicatesAreKept(t *testing.T) {
	line := testUser + "," + testRole + "\n"
	src, errs := readString(t, "r.csv", "user_id,role_id\n"+line+line+line, Options{})
	if errs != nil {
		t.Fatal(errs)
	}
	if len(src.Rows) != 3 || src.Rows[2].Line != 4 {
		t.Fatalf("rows %+v, want 3 rows, the last on line 4", src.Rows)
	}
}
