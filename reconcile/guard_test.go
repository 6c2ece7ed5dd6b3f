package reconcile

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadProtection(t *testing.T) {
	var pr Protection
	list := "\ufeffUser_ID ,role_id,reason\nauth0|admin,,break-glass\n, rol_BREAKGLASS00000 ,login\n"
	require.NoError(t, LoadProtection(strings.NewReader(list), "protect.csv", &pr))
	assert.Equal(t, map[string]bool{"auth0|admin": true}, pr.Users)
	assert.Equal(t, map[string]bool{"rol_BREAKGLASS00000": true}, pr.Roles)

	for list, want := range map[string]string{
		"user_id,owner\nauth0|a,x\n": `protect.csv:1:9: unknown column "owner"`,
		"reason\nx\n":                `protect.csv:1: the header names neither user_id nor role_id`,
		"user_id\n":                  "",
		"user_id,role_id\nauth0|a\n": "protect.csv:2: row has 1 fields, the header has 2",
	} {
		err := LoadProtection(strings.NewReader(list), "protect.csv", &Protection{})
		if want == "" {
			assert.NoError(t, err, list)
			continue
		}
		require.Error(t, err, list)
		assert.Contains(t, err.Error(), want)
	}
}
