package management

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalDomainIsWhatTheClientReports(t *testing.T) {
	for _, in := range []string{"acme.eu.auth0.com", "ACME.eu.Auth0.com", "https://acme.eu.auth0.com", "https://acme.eu.auth0.com/", "  acme.eu.auth0.com  "} {
		got, err := CanonicalDomain(in)
		require.NoError(t, err, in)
		assert.Equal(t, "acme.eu.auth0.com", got, in)
		c, err := New(Config{Domain: in, APIToken: testToken})
		require.NoError(t, err)
		assert.Equal(t, got, c.Domain(), in)
	}
	got, err := CanonicalDomain("http://127.0.0.1:8443")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8443", got)
}

func TestCanonicalDomainRefusesWithTheFieldName(t *testing.T) {
	_, err := CanonicalDomain("https://user:pw-DO-NOT-LEAK@acme.eu.auth0.com")
	var ce *ConfigError
	require.True(t, errors.As(err, &ce), "%T %v", err, err)
	assert.Equal(t, "domain", ce.Field)
	assert.NotContains(t, err.Error(), "pw-DO-NOT-LEAK")
}
