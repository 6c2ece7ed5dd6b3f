package input

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadKeep(t *testing.T) {
	cases := []struct {
		name    string
		path    string
		data    string
		entries []KeepEntry
		errs    []string
	}{
		{
			name: "CSV with BOM, CRLF, spreadsheet headers and a blank row",
			path: "keep.csv",
			data: "\ufeff User_ID ,role_name,Reason\r\n" + testUser + ",Billing Admin,audit\r\n,,\r\n" + testUser + ",,\"all roles,\nwhy\"\r\n",
			entries: []KeepEntry{
				{Line: 2, UserID: testUser, RoleName: "Billing Admin"},
				{Line: 4, UserID: testUser},
			},
		},
		{
			name:    "CSV with emails and role ids",
			path:    "keep.csv",
			data:    "user_email,role_id\nA.Person@Example.com," + testRole + "\n",
			entries: []KeepEntry{{Line: 2, UserEmail: "A.Person@Example.com", RoleID: testRole}},
		},
		{
			name:    "CSV header only keeps nobody",
			path:    "keep.csv",
			data:    "user_id\n",
			entries: []KeepEntry{},
		},
		{
			name: "CSV unknown columns",
			path: "keep.csv",
			data: "user_id,Role ID,team\n",
			errs: []string{
				`keep.csv:1:9: unknown column "Role ID" (did you mean role_id?); a keep list has user_id, user_email, role_id, role_name, reason, note, comment`,
				`keep.csv:1:17: unknown column "team"; a keep list has user_id, user_email, role_id, role_name, reason, note, comment`,
			},
		},
		{
			name: "CSV without a user column",
			path: "keep.csv",
			data: "role_id\n" + testRole + "\n",
			errs: []string{`keep.csv:1: the header has neither a user_id nor a user_email column`},
		},
		{
			name: "CSV bad ids and missing users, every one with its line",
			path: "keep.csv",
			data: "user_id,role_id\nnot-an-id,rol_x\n\"\nx\",\n," + testRole + "\n",
			errs: []string{
				`keep.csv:2: user_id "not-an-id" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`,
				`keep.csv:2: role_id "rol_x" is not a role id (expected rol_ followed by 16 letters or digits)`,
				`keep.csv:3: user_id "x" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`,
				`keep.csv:5: no user: fill user_id or user_email`,
			},
		},
		{
			name: "CSV short row",
			path: "keep.csv",
			data: "user_id,role_id\n" + testUser + "\n",
			errs: []string{`keep.csv:2: row has 1 fields, the header has 2`},
		},
		{
			name: "YAML entries with and without roles",
			path: "keep.yaml",
			data: "keep:\n  - user_email: a@example.com\n  - user_id: \"" + testUser + "\"\n    roles: [" + testRole + "]\n    role_names:\n      - Billing Admin\n    reason: |\n      two\n      lines\n",
			entries: []KeepEntry{
				{Line: 2, UserEmail: "a@example.com"},
				{Line: 4, UserID: testUser, RoleID: testRole},
				{Line: 6, UserID: testUser, RoleName: "Billing Admin"},
			},
		},
		{
			name: "YAML problems",
			path: "keep.yaml",
			data: "keep:\n  - user_id: nope\n  - roles: [" + testRole + "]\n  - user_email: a@example.com\n    team: x\n",
			errs: []string{
				`keep.yaml:2:14: user_id "nope" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`,
				`keep.yaml:3:5: entry names no user: add user_id or user_email`,
				`keep.yaml:5:5: unknown key "team" in a keep entry; known keys are user_id, user_email, roles, role_names, reason`,
			},
		},
		{
			name: "YAML without keep",
			path: "keep.yaml",
			data: "removals: []\n",
			errs: []string{`keep.yaml:1:1: unknown key "removals" at the top level; only "keep" is allowed`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, err := ReadKeep(strings.NewReader(tc.data), tc.path, "")
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
			assert.Equal(t, tc.entries, list.Entries)
			sum := sha256.Sum256([]byte(tc.data))
			assert.Equal(t, hex.EncodeToString(sum[:]), list.SHA256)
		})
	}
}

func TestReadKeepExample(t *testing.T) {
	list, err := ReadKeepFile("../testdata/campaign/keep.yaml", "")
	require.NoError(t, err)
	assert.Equal(t, YAML, list.Format)
	require.Len(t, list.Entries, 3)
	assert.True(t, list.Entries[0].AllRoles())
	assert.Equal(t, "Read Only Auditor", list.Entries[1].RoleName)
	data, err := os.ReadFile("../testdata/campaign/keep.yaml")
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Equal(t, hex.EncodeToString(sum[:]), list.SHA256)
}
