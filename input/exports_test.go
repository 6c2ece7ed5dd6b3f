package input

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntraExportThroughPreset(t *testing.T) {
	data, err := os.ReadFile("../testdata/campaign/entra-review.csv")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), utf8BOM), "the example keeps Excel's BOM")
	require.Contains(t, string(data), "\r\n", "the example keeps Excel's CRLF line ends")

	src, err := Read(strings.NewReader(string(data)), "entra-review.csv", Options{Preset: "entra-review"})
	require.NoError(t, err)
	assert.Equal(t, 17, src.Records)
	assert.Equal(t, 9, src.Excluded, "Approve, NotReviewed and Not reviewed rows")
	require.Len(t, src.Rows, 8)
	for _, r := range src.Rows {
		assert.NotEmpty(t, r.UserEmail)
		assert.NotEmpty(t, r.RoleName)
		assert.Empty(t, r.UserID)
	}
	assert.Equal(t, Row{Line: 4, UserEmail: "dana.whitfield@example.com", RoleName: "Finance Viewer",
		Reason: "Left the finance team on 2026-10-31.\nHandover done, see ticket CERT-1182.\nNo access needed after that date."}, src.Rows[1])
	assert.Equal(t, "Asked for \"temporary\" deploy rights in Q2, for the migration only.\nThe migration is finished, so the access goes.", src.Rows[3].Reason)
	assert.Equal(t, "", src.Rows[6].Reason, "a Deny without justification")
}

func TestMapAndWhere(t *testing.T) {
	const bom = "\ufeff"
	entraHeader := "PrincipalUPN,ResourceDisplayName,ReviewResult,Justification\r\n"
	cases := []struct {
		name     string
		data     string
		opts     Options
		rows     []Row
		records  int
		excluded int
		errs     []string
	}{
		{
			name: "preset with BOM, CRLF and a quoted multi-line justification with commas and quotes",
			data: bom + entraHeader +
				"a@example.com,Billing Admin,Deny,\"left, see \"\"HR-1\"\"\nsecond line\"\r\n" +
				"b@example.com,Billing Admin,Approve,\"kept,\nfine\"\r\n" +
				"c@example.com,Support Agent, deny ,\r\n",
			opts: Options{Preset: "entra-review"},
			rows: []Row{
				{Line: 2, UserEmail: "a@example.com", RoleName: "Billing Admin", Reason: "left, see \"HR-1\"\nsecond line"},
				{Line: 6, UserEmail: "c@example.com", RoleName: "Support Agent"},
			},
			records: 3, excluded: 1,
		},
		{
			name:    "preset name is case-insensitive",
			data:    entraHeader + "a@example.com,Billing Admin,DENY,x\r\n",
			opts:    Options{Preset: "Entra-Review"},
			rows:    []Row{{Line: 2, UserEmail: "a@example.com", RoleName: "Billing Admin", Reason: "x"}},
			records: 1,
		},
		{
			name:    "explicit where overrides the preset's filter on the same column",
			data:    entraHeader + "a@example.com,Billing Admin,Deny,\r\nb@example.com,Billing Admin,NotReviewed,\r\n",
			opts:    Options{Preset: "entra-review", Where: []Filter{{Column: "reviewresult", Values: []string{"NotReviewed", "Not reviewed"}}}},
			rows:    []Row{{Line: 3, UserEmail: "b@example.com", RoleName: "Billing Admin"}},
			records: 2, excluded: 1,
		},
		{
			name: "explicit map overrides the preset's",
			data: "PrincipalUPN,ReviewerUPN,ResourceDisplayName,ReviewResult,Justification\n" +
				"a@example.com,boss@example.com,Billing Admin,Deny,\n",
			opts:    Options{Preset: "entra-review", Map: map[Field]string{FieldUserEmail: "ReviewerUPN"}},
			rows:    []Row{{Line: 2, UserEmail: "boss@example.com", RoleName: "Billing Admin"}},
			records: 1,
		},
		{
			name:     "all rows outside the filter: valid, nothing to do",
			data:     entraHeader + "a@example.com,Billing Admin,Approve,\r\nnot an email,,Approve,\r\n",
			opts:     Options{Preset: "entra-review"},
			records:  2,
			excluded: 2,
		},
		{
			name: "excluded rows are never validated; included ones are, naming the file's column",
			data: entraHeader + "not an email,,Approve,\r\nnot an email,Billing Admin,Deny,\r\n",
			opts: Options{Preset: "entra-review"},
			errs: []string{`r.csv:3:1: PrincipalUPN (user_email) "not an email" is not an email address`},
		},
		{
			name:    "map without where; unmapped columns ignored, known ones still read",
			data:    "Login,Entitlement,reason,Whatever\n" + testUser + ",Billing Admin,r,zzz\n",
			opts:    Options{Map: map[Field]string{FieldUserID: " login ", FieldRoleName: "ENTITLEMENT"}},
			rows:    []Row{{Line: 2, UserID: testUser, RoleName: "Billing Admin", Reason: "r"}},
			records: 1,
		},
		{
			name:    "where on a plain rolesweep file",
			data:    "user_id,role_id,status\n" + testUser + "," + testRole + ",revoke\n" + testUser + "," + testRole2 + ",keep\n",
			opts:    Options{Where: []Filter{{Column: "Status", Values: []string{"Revoke"}}}},
			rows:    []Row{{Line: 2, UserID: testUser, RoleID: testRole}},
			records: 2, excluded: 1,
		},
		{
			name:    "several filters must all hold",
			data:    "user_id,role_id,a,b\n" + testUser + "," + testRole + ",1,x\n" + testUser + "," + testRole2 + ",1,y\n",
			opts:    Options{Where: []Filter{{Column: "a", Values: []string{"1"}}, {Column: "b", Values: []string{"y", "z"}}}},
			rows:    []Row{{Line: 3, UserID: testUser, RoleID: testRole2}},
			records: 2, excluded: 1,
		},
		{
			name: "a where column the file lacks names the file's columns",
			data: "PrincipalUPN,ResourceDisplayName,Decision,Justification\n",
			opts: Options{Preset: "entra-review"},
			errs: []string{`r.csv:1: no column "ReviewResult" (filtered by ReviewResult=Deny); the file's columns are "PrincipalUPN", "ResourceDisplayName", "Decision", "Justification"`},
		},
		{
			name: "a mapped column the file lacks",
			data: "user_id,role_id\n",
			opts: Options{Map: map[Field]string{FieldReason: "Comment"}},
			errs: []string{`r.csv:1: no column "Comment" (mapped to reason); the file's columns are "user_id", "role_id"`},
		},
		{
			name: "a duplicated mapped column",
			data: "PrincipalUPN,ResourceDisplayName,ReviewResult,Justification,PrincipalUPN\n",
			opts: Options{Preset: "entra-review"},
			errs: []string{`r.csv:1:61: duplicate column "PrincipalUPN" (first at column 1): which one mapped to user_email reads is unclear`},
		},
		{
			name: "mapping leaves no role",
			data: "Mail,ReviewResult\nx@example.com,Deny\n",
			opts: Options{Map: map[Field]string{FieldUserEmail: "Mail"}},
			errs: []string{`r.csv:1: no column gives role_id or role_name: map one of them to a column of the file`},
		},
		{
			name: "a short row is reported, not filtered",
			data: entraHeader + "a@example.com,Billing Admin\r\n",
			opts: Options{Preset: "entra-review"},
			errs: []string{`r.csv:2: row has 2 fields, the header has 4`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var delivered []Row
			opts := tc.opts
			opts.Each = func(r Row) { delivered = append(delivered, r) }
			src, err := Read(strings.NewReader(tc.data), "r.csv", opts)
			if tc.errs != nil {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				var got []string
				for _, p := range ve.Problems {
					got = append(got, p.Error())
				}
				assert.Equal(t, tc.errs, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.rows, delivered)
			assert.Equal(t, tc.records, src.Records)
			assert.Equal(t, tc.excluded, src.Excluded)
		})
	}
}

func TestMappingOptionErrors(t *testing.T) {
	csvData := "user_id,role_id\n"
	yamlData := "removals: []\n"
	cases := []struct {
		name   string
		path   string
		data   string
		opts   Options
		target any
		want   string
	}{
		{"unknown preset", "r.csv", csvData, Options{Preset: "okta"}, new(*UnknownPresetError),
			`unknown preset "okta": known presets are entra-review, vanta-access`},
		{"map to an unknown field", "r.csv", csvData, Options{Map: map[Field]string{"email": "Mail"}}, new(*UnknownFieldError),
			`unknown field "email": map one of user_id, user_email, role_id, role_name, organization_id, reason`},
		{"map to an empty column", "r.csv", csvData, Options{Map: map[Field]string{FieldReason: " "}}, new(*SpecError),
			`map "reason=": empty column name`},
		{"where without values", "r.csv", csvData, Options{Where: []Filter{{Column: "x"}}}, new(*SpecError),
			`where "x=": expected COLUMN=VALUE[,VALUE...]`},
		{"map on YAML", "r.yaml", yamlData, Options{Map: map[Field]string{FieldReason: "x"}}, new(*NotCSVError),
			"map applies to CSV input only; this input is yaml"},
		{"where on YAML", "r.yaml", yamlData, Options{Where: []Filter{{Column: "x", Values: []string{"y"}}}}, new(*NotCSVError),
			"where applies to CSV input only; this input is yaml"},
		{"preset on YAML", "r.yaml", yamlData, Options{Preset: "entra-review"}, new(*NotCSVError),
			"preset applies to CSV input only; this input is yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.data), tc.path, tc.opts)
			require.Error(t, err)
			assert.True(t, errors.As(err, tc.target), "error %T", err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestParseMapAndWhere(t *testing.T) {
	field, column, err := ParseMap(" User_Email = PrincipalUPN ")
	require.NoError(t, err)
	assert.Equal(t, FieldUserEmail, field)
	assert.Equal(t, "PrincipalUPN", column)

	f, err := ParseWhere("ReviewResult=Deny, Not reviewed")
	require.NoError(t, err)
	assert.Equal(t, Filter{Column: "ReviewResult", Values: []string{"Deny", "Not reviewed"}}, f)

	for _, tc := range []struct {
		spec   string
		where  bool
		target any
		want   string
	}{
		{"user_email", false, new(*SpecError), `map "user_email": expected FIELD=COLUMN, e.g. user_email=PrincipalUPN`},
		{"=Mail", false, new(*SpecError), `map "=Mail": expected FIELD=COLUMN, e.g. user_email=PrincipalUPN`},
		{"mail=Mail", false, new(*UnknownFieldError), `unknown field "mail": map one of user_id, user_email, role_id, role_name, organization_id, reason`},
		{"ReviewResult", true, new(*SpecError), `where "ReviewResult": expected COLUMN=VALUE[,VALUE...], e.g. ReviewResult=Deny`},
		{"ReviewResult=", true, new(*SpecError), `where "ReviewResult=": empty value: list the values a row must hold, separated by commas`},
		{"ReviewResult=Deny,,x", true, new(*SpecError), `where "ReviewResult=Deny,,x": empty value: list the values a row must hold, separated by commas`},
	} {
		var err error
		if tc.where {
			_, err = ParseWhere(tc.spec)
		} else {
			_, _, err = ParseMap(tc.spec)
		}
		require.Error(t, err, tc.spec)
		assert.True(t, errors.As(err, tc.target), "%s: error %T", tc.spec, err)
		assert.Equal(t, tc.want, err.Error())
	}
}

func TestPresetsTable(t *testing.T) {
	ps := Presets()
	require.NotEmpty(t, ps)
	for _, p := range ps {
		assert.NotEmpty(t, p.Tool, p.Name)
		assert.True(t, strings.HasPrefix(p.Doc, "https://"), p.Name)
		assert.NotEmpty(t, p.Where, "%s: a preset without a decision filter would remove approved rows", p.Name)
		for field := range p.Map {
			assert.GreaterOrEqual(t, field.kind(), 0, "%s maps %q", p.Name, field)
		}
	}
	ps[0].Map[FieldUserID] = "tampered"
	ps[0].Where[0].Values[0] = "Approve"
	again, err := LookupPreset(ps[0].Name)
	require.NoError(t, err)
	assert.NotContains(t, again.Map, FieldUserID, "Presets hands out copies")
	assert.Equal(t, "Deny", again.Where[0].Values[0])
	assert.Equal(t, Fields()[0], FieldUserID)
}

func TestMultiLineReasonOnly(t *testing.T) {
	cases := []struct {
		name, path, data string
		reason           string
		err              string
	}{
		{name: "YAML literal block", path: "r.yaml",
			data:   "removals:\n  - user_id: \"" + testUser + "\"\n    roles: [" + testRole + "]\n    reason: |\n      Left, see \"HR-1\".\n      Second line.\n",
			reason: "Left, see \"HR-1\".\nSecond line."},
		{name: "YAML folded block keeps its one break", path: "r.yaml",
			data:   "removals:\n  - user_id: \"" + testUser + "\"\n    roles: [" + testRole + "]\n    reason: >\n      a\n      b\n\n      c\n",
			reason: "a b\nc"},
		{name: "YAML with CRLF line ends", path: "r.yaml",
			data:   "removals:\r\n  - user_id: \"" + testUser + "\"\r\n    roles: [" + testRole + "]\r\n    reason: |\r\n      one\r\n      two\r\n",
			reason: "one\ntwo"},
		{name: "CSV tab in a reason", path: "r.csv",
			data:   "user_id,role_id,reason\n" + testUser + "," + testRole + ",\"a\tb\"\n",
			reason: "a\tb"},
		{name: "YAML line break in a user id", path: "r.yaml",
			data: "removals:\n  - user_id: \"auth0|a\\nb\"\n    roles: [" + testRole + "]\n",
			err:  `r.yaml:2:14: user_id "auth0|a\nb" contains a control character (U+000A)`},
		{name: "YAML lone carriage return in a reason", path: "r.yaml",
			data: "removals:\n  - user_id: \"" + testUser + "\"\n    roles: [" + testRole + "]\n    reason: \"a\\rb\"\n",
			err:  `r.yaml:4:13: reason "a\rb" contains a control character (U+000D)`},
		{name: "CSV escape character in a reason", path: "r.csv",
			data: "user_id,role_id,reason\n" + testUser + "," + testRole + ",\"a\x1b[2Jb\"\n",
			err:  `r.csv:2:53: reason "a\x1b[2Jb" contains a control character (U+001B)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Read(strings.NewReader(tc.data), tc.path, Options{})
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, tc.err, err.Error())
				return
			}
			require.NoError(t, err)
			require.Len(t, src.Rows, 1)
			assert.Equal(t, tc.reason, src.Rows[0].Reason)
		})
	}
}

func TestVantaPreset(t *testing.T) {
	data := "Account name,Account owner,Role,Status,Access Appropriate,Date created (UTC),Date deactivated (UTC)\n" +
		"dana,dana.whitfield@example.com,Finance Viewer,Active,No,2025-01-02,\n" +
		"priya,priya.raman@example.com,Support Agent,Active,Yes,2025-01-02,\n" +
		"omar,omar.haddad@example.com,Data Exporter,Active,,2025-01-02,\n" +
		"bot,Not a person,Deploy Operator,Active,Yes,2025-01-02,\n"
	src, err := Read(strings.NewReader(data), "access.csv", Options{Preset: "vanta-access"})
	require.NoError(t, err)
	assert.Equal(t, []Row{{Line: 2, UserEmail: "dana.whitfield@example.com", RoleName: "Finance Viewer"}}, src.Rows)
	assert.Equal(t, 3, src.Excluded, "Yes and not yet reviewed (blank) rows stay")
}
