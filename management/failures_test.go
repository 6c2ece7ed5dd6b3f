package management

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPreflightReadsOneRole(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		respond(w, 200, `[{"id":"rol_NHBmr6NkzbRcHob1","name":"admin"}]`)
	})
	resp, err := newTokenClient(t, srv).Preflight(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	seen := srv.seen()
	require.Len(t, seen, 1)
	assert.Equal(t, http.MethodGet, seen[0].Method)
	assert.Equal(t, "/api/v2/roles?include_totals=false&page=0&per_page=1", seen[0].RequestURI)
	assert.Equal(t, "Bearer "+testToken, seen[0].Header.Get("Authorization"))
}

func TestPreflightTellsFailuresApart(t *testing.T) {
	answer := func(status int, body string) *fakeServer {
		return newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { respond(w, status, body) })
	}

	// 401: the credentials are rejected.
	_, err := newTokenClient(t, answer(401, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token"}`)).Preflight(context.Background())
	assert.True(t, CredentialsRejected(err), "%v", err)
	assert.False(t, IsNetwork(err))

	// 403 insufficient scope: the token was accepted.
	_, err = newTokenClient(t, answer(403, `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:roles","errorCode":"insufficient_scope"}`)).Preflight(context.Background())
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, 403, apiErr.StatusCode)
	assert.False(t, CredentialsRejected(err))
	assert.False(t, IsNetwork(err))

	// A proxy's page on a 200: a decode error naming the endpoint.
	_, err = newTokenClient(t, answer(200, `<html>maintenance `+strings.Repeat("x", 500)+`</html>`)).Preflight(context.Background())
	var de *DecodeError
	require.True(t, errors.As(err, &de), "%T %v", err, err)
	assert.Equal(t, "/api/v2/roles", de.Endpoint)
	assert.False(t, CredentialsRejected(err) || IsNetwork(err))

	// The token endpoint refuses the client: rejected too.
	ft := newFakeTenant(t)
	ft.issue = func(n int, w http.ResponseWriter, r *http.Request) {
		respond(w, 401, `{"error":"invalid_client","error_description":"Client authentication failed"}`)
	}
	_, err = newCredentialsClient(t, ft, 0, nil).Preflight(context.Background())
	assert.True(t, CredentialsRejected(err), "%v", err)
	assertNoSecret(t, err)
}

func TestPreflightUnreachableTenant(t *testing.T) {
	// A port nothing listens on: connection refused, at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	c, err := New(Config{Domain: "http://" + addr, APIToken: testToken})
	require.NoError(t, err)
	resp, err := c.Preflight(context.Background())
	assert.Equal(t, Response{}, resp)
	require.True(t, IsNetwork(err), "%T %v", err, err)
	var ne *NetworkError
	require.True(t, errors.As(err, &ne))
	assert.Equal(t, "connect", ne.Op)
	assert.Equal(t, addr, ne.Host)
	assert.Contains(t, err.Error(), addr)
	assert.False(t, CredentialsRejected(err))
	assertNoSecret(t, err)

	// The same with client credentials: the token endpoint is unreachable.
	cc, err := New(Config{Domain: "http://" + addr, ClientID: testClientID, ClientSecret: testSecret})
	require.NoError(t, err)
	fastTokenRetries(cc)
	_, err = cc.Preflight(context.Background())
	assert.True(t, IsNetwork(err), "%T %v", err, err)
	assert.ErrorIs(t, err, ErrTokenUnavailable)
	assertNoSecret(t, err)
}

func TestDNSFailureIsANetworkError(t *testing.T) {
	err := networkError("acme.invalid", &net.DNSError{Err: "no such host", Name: "acme.invalid", IsNotFound: true})
	assert.Equal(t, "dns", err.Op)
	assert.True(t, IsNetwork(err))
	var dnsErr *net.DNSError
	assert.True(t, errors.As(err, &dnsErr), "the cause stays visible")
}

func TestCancellationIsNotANetworkError(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) { respond(w, 204, "") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newTokenClient(t, srv).RemoveUserRoles(ctx, "auth0|x", []string{"rol_1"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, IsNetwork(err))
}

func TestInvalidJSONIsADecodeErrorWithAShortRedactedPrefix(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		// Echo the bearer token at the start, then a long invalid tail.
		respond(w, 200, r.Header.Get("Authorization")+` {"roles": [`+strings.Repeat("garbage ", 1000))
	})
	c := newTokenClient(t, srv)
	for _, call := range []func() error{
		func() error { _, _, err := c.UserRoles(context.Background(), "auth0|x", 0, 50); return err },
		func() error { _, _, err := c.RoleUsers(context.Background(), "rol_x", 0, 50); return err },
		func() error { _, _, err := c.RoleUsersFrom(context.Background(), "rol_x", "", 50); return err },
		func() error { _, _, err := c.Roles(context.Background(), "", 0, 50); return err },
		func() error { _, _, err := c.UsersByEmail(context.Background(), "a@example.com"); return err },
	} {
		err := call()
		var de *DecodeError
		require.True(t, errors.As(err, &de), "%T %v", err, err)
		assert.Equal(t, http.MethodGet, de.Method)
		assert.True(t, strings.HasPrefix(de.Endpoint, "/api/v2/"), de.Endpoint)
		assert.Equal(t, 200, de.StatusCode)
		assert.LessOrEqual(t, len(de.Prefix), maxDecodePrefix)
		assert.Contains(t, de.Prefix, redacted)
		assert.Less(t, len(err.Error()), 400, "the message stays short")
		assertNoSecret(t, err)
	}
}

func TestPreflightUntrustedCertificate(t *testing.T) {
	var hits atomicCounter
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.add()
		respond(w, 200, `[]`)
	}))
	t.Cleanup(srv.Close)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes

	c, err := New(Config{Domain: srv.URL, APIToken: testToken})
	require.NoError(t, err)
	_, err = c.Preflight(context.Background())
	var ne *NetworkError
	require.True(t, errors.As(err, &ne), "%T %v", err, err)
	assert.Equal(t, "tls", ne.Op)

	// With client credentials the token fetch stops at the first
	// certificate failure: it will not verify on a second try.
	cc, err := New(Config{Domain: srv.URL, ClientID: testClientID, ClientSecret: testSecret})
	require.NoError(t, err)
	_, err = cc.Preflight(context.Background())
	require.True(t, IsNetwork(err), "%T %v", err, err)
	assert.NotErrorIs(t, err, ErrTokenUnavailable)
	assert.Zero(t, hits.get(), "no request got through the handshake")
	assertNoSecret(t, err)
}

type atomicCounter struct{ n atomic.Int64 }

func (a *atomicCounter) add()       { a.n.Add(1) }
func (a *atomicCounter) get() int64 { return a.n.Load() }
