package input

import (
	"errors"
	"strings"
	"testing"
)

const (
	testUser   = "auth0|5f7c8ec7c33c6c004bbafe82"
	testRole   = "rol_NHBmr6NkzbRcHob1"
	testRole2  = "rol_9yRKwo2Bl0zckceV"
	testOrg    = "org_K2f8GqT1mXa9Lb3P"
	fullHeader = "user_id,user_email,role_id,role_name,organization_id,reason\n"
)

// readString reads data and returns either the source or the problems as
// they are printed; any error other than a *ValidationError fails the test.
func readString(t *testing.T, path, data string, opts Options) (*Source, []string) {
	t.Helper()
	src, err := Read(strings.NewReader(data), path, opts)
	if err == nil {
		return src, nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, want *ValidationError: %v", err, err)
	}
	if len(ve.Problems) == 0 || ve.Total < len(ve.Problems) {
		t.Fatalf("ValidationError with %d problems, total %d", len(ve.Problems), ve.Total)
	}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.Error())
	}
	return nil, got
}

type readCase struct {
	name    string
	data    string
	opts    Options
	rows    []Row    // expected rows, when the input is valid
	records int      // expected Source.Records, when the input is valid
	errs    []string // expected problems, in order
}

func runReadCases(t *testing.T, path string, cases []readCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, got := readString(t, path, tc.data, tc.opts)
			if tc.errs != nil || got != nil {
				if strings.Join(got, "\n") != strings.Join(tc.errs, "\n") {
					t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.errs, "\n"))
				}
				return
			}
			if len(src.Rows) != len(tc.rows) {
				t.Fatalf("got %d rows %+v, want %d", len(src.Rows), src.Rows, len(tc.rows))
			}
			for i := range tc.rows {
				if src.Rows[i] != tc.rows[i] {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, src.Rows[i], tc.rows[i])
				}
			}
			if src.Records != tc.records {
				t.Errorf("Records = %d, want %d", src.Records, tc.records)
			}
		})
	}
}

func TestReadCSVSyntax(t *testing.T) {
	row := func(line int) Row { return Row{Line: line, UserID: testUser, RoleID: testRole} }
	runReadCases(t, "r.csv", []readCase{
		{
			name:    "minimal",
			data:    "user_id,role_id\n" + testUser + "," + testRole + "\n",
			rows:    []Row{row(2)},
			records: 1,
		},
		{
			name: "all columns, values trimmed",
			data: fullHeader + "  " + testUser + " , dana@example.com ," + testRole + ", Billing Admin ," + testOrg + ", 2026-Q4 review \n",
			rows: []Row{{Line: 2, UserID: testUser, UserEmail: "dana@example.com", RoleID: testRole,
				RoleName: "Billing Admin", OrganizationID: testOrg, Reason: "2026-Q4 review"}},
			records: 1,
		},
		{
			name:    "BOM, CRLF, no final line break",
			data:    "\ufeffuser_id,role_id\r\n" + testUser + "," + testRole + "\r\n" + testUser + "," + testRole2,
			rows:    []Row{row(2), {Line: 3, UserID: testUser, RoleID: testRole2}},
			records: 2,
		},
		{
			name:    "BOM before a quoted header",
			data:    "\ufeff\"user_id\",\"role_id\"\n" + testUser + "," + testRole + "\n",
			rows:    []Row{row(2)},
			records: 1,
		},
		{
			name:    "header names: case, spaces, any order",
			data:    " Role_ID ,USER_ID\n" + testRole + "," + testUser + "\n",
			rows:    []Row{row(2)},
			records: 1,
		},
		{
			name: "quoted fields with commas and line breaks: a row's line is where it starts",
			data: "user_id,role_id,reason\n" +
				testUser + "," + testRole + ",\"ticket, CERT-1\"\n" +
				"\"" + testUser + "\n\"," + testRole2 + ",\n" +
				testUser + ",rol_x,\n",
			errs: []string{`r.csv:5:32: role_id "rol_x" is not a role id (expected rol_ followed by 16 letters or digits)`},
		},
		{
			name:    "quoted line break in a reason is kept",
			data:    "user_id,role_id,reason\n" + testUser + "," + testRole + ",\"line one\nline two\"\n",
			rows:    []Row{{Line: 2, UserID: testUser, RoleID: testRole, Reason: "line one\nline two"}},
			records: 1,
		},
		{
			name: "quoted line break in a role name is a control character",
			data: "user_id,role_name\n" + testUser + ",\"Billing\nAdmin\"\n",
			errs: []string{`r.csv:2:32: role_name "Billing\nAdmin" contains a control character (U+000A)`},
		},
		{
			name: "rows after a multi-line record",
			data: "user_id,role_id,reason\n" + testUser + "," + testRole + ",\"a\n\"\n" + testUser + "," + testRole2 + ",\n",
			rows: []Row{{Line: 2, UserID: testUser, RoleID: testRole, Reason: "a"},
				{Line: 4, UserID: testUser, RoleID: testRole2}},
			records: 2,
		},
		{
			name:    "blank lines and spreadsheet filler rows are skipped",
			data:    "\n\nuser_id,role_id\n\n" + testUser + "," + testRole + "\n,\n   \n \t, \n\n",
			rows:    []Row{row(5)},
			records: 1,
		},
		{
			name:    "header only",
			data:    fullHeader,
			records: 0,
		},
		{
			name: "empty file",
			data: "",
			errs: []string{"r.csv: empty file, expected a header row"},
		},
		{
			name: "only blank lines",
			data: "\n\r\n\n",
			errs: []string{"r.csv: no header row: the file holds only blank lines"},
		},
		{
			name: "UTF-16",
			data: "\xff\xfeu\x00s\x00",
			errs: []string{"r.csv: file is UTF-16 encoded; save it as UTF-8 (in Excel: CSV UTF-8)"},
		},
		{
			name: "unknown column",
			data: "user_id,role_id,department\n" + testUser + "," + testRole + ",eng\n",
			errs: []string{`r.csv:1:17: unknown column "department"; known columns are user_id, user_email, role_id, role_name, organization_id, reason (--allow-extra-columns ignores others)`},
		},
		{
			name: "unnamed column",
			data: "user_id,role_id,\n" + testUser + "," + testRole + ",\n",
			errs: []string{`r.csv:1:17: unknown column ""; known columns are user_id, user_email, role_id, role_name, organization_id, reason (--allow-extra-columns ignores others)`},
		},
		{
			name:    "extra columns allowed and ignored, even with junk in them",
			data:    "Department,user_id,Manager,role_id,,Manager\neng,\"" + testUser + "\",\"Smith, J\x00\",\"" + testRole + "\",x,\n",
			opts:    Options{AllowExtraColumns: true},
			rows:    []Row{row(2)},
			records: 1,
		},
		{
			name: "spreadsheet-style names are refused with a hint, even among extra columns",
			data: "User ID,role-name,Notes\n" + testUser + ",Billing Admin,\n",
			opts: Options{AllowExtraColumns: true},
			errs: []string{
				`r.csv:1: the header has neither a user_id nor a user_email column`,
				`r.csv:1: the header has neither a role_id nor a role_name column`,
				`r.csv:1:1: unknown column "User ID" (did you mean user_id?)`,
				`r.csv:1:9: unknown column "role-name" (did you mean role_name?)`,
			},
		},
		{
			name: "duplicate column",
			data: "user_id,role_id, User_ID \n" + testUser + "," + testRole + "," + testUser + "\n",
			errs: []string{`r.csv:1:17: duplicate column "User_ID" (first at column 1)`},
		},
		{
			name: "no user column",
			data: "user,role_id\nx," + testRole + "\n",
			opts: Options{AllowExtraColumns: true},
			errs: []string{"r.csv:1: the header has neither a user_id nor a user_email column"},
		},
		{
			name: "no role column, header after blank lines",
			data: "\n\nuser_email,reason\n",
			errs: []string{"r.csv:3: the header has neither a role_id nor a role_name column"},
		},
		{
			name: "header problems stop before the rows",
			data: "user,role\nx,y\n",
			errs: []string{
				`r.csv:1: the header has neither a user_id nor a user_email column`,
				`r.csv:1: the header has neither a role_id nor a role_name column`,
				`r.csv:1:1: unknown column "user"; known columns are user_id, user_email, role_id, role_name, organization_id, reason (--allow-extra-columns ignores others)`,
				`r.csv:1:6: unknown column "role"; known columns are user_id, user_email, role_id, role_name, organization_id, reason (--allow-extra-columns ignores others)`,
			},
		},
		{
			name: "wrong number of fields",
			data: "user_id,role_id\n" + testUser + "," + testRole + ",extra\n" + testUser + "\n" + testUser + "," + testRole + "\n",
			errs: []string{
				"r.csv:2: row has 3 fields, the header has 2",
				"r.csv:3: row has 1 fields, the header has 2",
			},
		},
		{
			name: "bad quoting, and reading goes on",
			data: "user_id,role_id\n" +
				"auth0|ab\"c," + testRole + "\n" +
				"\"" + testUser + "\"x," + testRole + "\n" +
				testUser + ",rol_1\n",
			errs: []string{
				`r.csv:2:9: quote in an unquoted field: quote the whole field and double the quotes inside it ("a ""b"" c")`,
				`r.csv:3:32: extraneous or missing quote in a quoted field`,
				`r.csv:4:32: role_id "rol_1" is not a role id (expected rol_ followed by 16 letters or digits)`,
			},
		},
		{
			name: "unterminated quote",
			data: "user_id,role_id\n" + testUser + ",\"" + testRole + "\n" + testUser + "," + testRole2 + "\n",
			errs: []string{`r.csv:3:53: extraneous or missing quote in a quoted field (the record starts on line 2)`},
		},
		{
			name: "quoting error in the header",
			data: "user_id,\"role_id\n",
			errs: []string{`r.csv:1:18: extraneous or missing quote in a quoted field`},
		},
		{
			name: "NUL bytes",
			data: "user_id,role_id\nauth0|\x00\x00\x00," + testRole + "\n",
			errs: []string{`r.csv:2:1: user_id "auth0|\x00\x00\x00" contains a control character (U+0000)`},
		},
		{
			name: "invalid UTF-8",
			data: "user_id,role_id,reason\n" + testUser + "," + testRole + ",caf\xe9\n",
			errs: []string{`r.csv:2:53: reason "caf\xe9" is not valid UTF-8`},
		},
		{
			name: "binary junk instead of a header",
			data: "PK\x03\x04\x14\x00\x06\x00,\x00\n",
			errs: []string{
				`r.csv:1: the header has neither a user_id nor a user_email column`,
				`r.csv:1: the header has neither a role_id nor a role_name column`,
				`r.csv:1:1: unknown column "PK\x03\x04\x14\x00\x06\x00"; known columns are user_id, user_email, role_id, role_name, organization_id, reason (--allow-extra-columns ignores others)`,
				`r.csv:1:10: unknown column "\x00"; known columns are user_id, user_email, role_id, role_name, organization_id, reason (--allow-extra-columns ignores others)`,
			},
		},
	})
}
