package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
)

func finishedReport() *report.Report {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r := &report.Report{
		Version: report.Version, Tool: "rolesweep v0.2.0", Command: report.CommandApply, Domain: "acme.eu.auth0.com",
		StartedAt: start, FinishedAt: start.Add(62 * time.Second),
		Run:     &report.Run{Operator: "cron@batch", ClientID: "client-id-not-secret", Checked: true},
		Summary: report.Summary{Requests: 3, RateLimited: 1, Excluded: 2},
		Results: []report.Result{
			{UserID: "auth0|a", RoleID: "rol_1", Status: report.Removed},
			{UserID: "auth0|b", RoleID: "rol_1", Status: report.Failed, Error: "503"},
		},
		FullReports: []string{"run.json", "run.md"},
	}
	r.Tally()
	r.SetOutcome()
	return r
}

type recorder struct {
	mu     sync.Mutex
	bodies []string
	types  []string
}

func (rec *recorder) handler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		data, _ := io.ReadAll(req.Body)
		rec.mu.Lock()
		rec.bodies = append(rec.bodies, req.Method+" "+string(data))
		rec.types = append(rec.types, req.Header.Get("Content-Type"))
		rec.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "no_service")
	}
}

func TestSendPostsOneJSONSummary(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec.handler(http.StatusOK))
	defer srv.Close()

	r := finishedReport()
	require.NoError(t, Send(context.Background(), srv.URL+"/hook", r, 1, srv.Client()))
	require.Len(t, rec.bodies, 1, "exactly one POST")
	assert.Equal(t, "application/json", rec.types[0])
	method, body, _ := strings.Cut(rec.bodies[0], " ")
	assert.Equal(t, http.MethodPost, method)

	var got Payload
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, "apply", got.Command)
	assert.Equal(t, "acme.eu.auth0.com", got.Domain)
	assert.Equal(t, report.CompletedWithFailures, got.Outcome)
	assert.Equal(t, 1, got.ExitCode)
	assert.Equal(t, 1, got.Summary.Removed)
	assert.Equal(t, 1, got.Summary.Failed)
	assert.Equal(t, 2, got.Summary.Excluded)
	assert.Equal(t, []string{"run.json", "run.md"}, got.Reports)
	assert.Equal(t, r.FinishedAt, got.FinishedAt)
	for _, secret := range []string{"client-id-not-secret", "token", "secret", "Bearer"} {
		assert.NotContains(t, body, secret, "no credentials, not even the client id")
	}
}

// toServer sends every request to srv, whatever its URL: it stands in for
// hooks.slack.com so the test stays on loopback.
type toServer struct{ srv *httptest.Server }

func (ts toServer) RoundTrip(req *http.Request) (*http.Response, error) {
	target, _ := url.Parse(ts.srv.URL)
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = target.Scheme, target.Host
	return http.DefaultTransport.RoundTrip(req)
}

const slackURL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"

func TestSendSlackMessage(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec.handler(http.StatusOK))
	defer srv.Close()
	client := &http.Client{Transport: toServer{srv}}

	require.NoError(t, Send(context.Background(), slackURL, finishedReport(), 1, client))
	require.Len(t, rec.bodies, 1)
	_, body, _ := strings.Cut(rec.bodies[0], " ")
	var msg map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &msg))
	require.Contains(t, msg, "text")
	assert.Contains(t, msg["text"], "rolesweep apply on acme.eu.auth0.com: completed_with_failures (exit 1)")
	assert.Contains(t, msg["text"], "removed 1")
	assert.Contains(t, msg["text"], "failed 1")
	assert.Contains(t, msg["text"], "reports: run.json, run.md")
}

func TestSendErrorsNeverShowTheWebhookPath(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec.handler(http.StatusNotFound))
	defer srv.Close()
	client := &http.Client{Transport: toServer{srv}}

	err := Send(context.Background(), slackURL, finishedReport(), 0, client)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")
	assert.Contains(t, err.Error(), "no_service")
	assert.NotContains(t, err.Error(), "XXXXXXXX")
	assert.NotContains(t, err.Error(), "/services/")

	// A transport failure: *url.Error would print the whole URL.
	srv.Close()
	err = Send(context.Background(), slackURL, finishedReport(), 0, client)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "XXXXXXXX")
	assert.Contains(t, err.Error(), "https://hooks.slack.com/…")
}

func TestSendRefusesRedirectsToOtherHosts(t *testing.T) {
	other := &recorder{}
	elsewhere := httptest.NewServer(other.handler(http.StatusOK))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	err := Send(context.Background(), redirector.URL+"/secret-path", finishedReport(), 0, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirect")
	assert.NotContains(t, err.Error(), "secret-path")
	assert.Empty(t, other.bodies, "nothing reached the other host")
}

func TestSendStopsWhenTheContextEnds(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.ReadAll(req.Body)
		close(arrived)
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	err := Send(ctx, srv.URL, finishedReport(), 0, nil)
	require.Error(t, err)
	assert.ErrorContains(t, err, "context canceled")
}

func TestSendRefusesBadURLsAndTokens(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "hooks.slack.com/services/x", "http://"} {
		assert.Error(t, Send(context.Background(), u, finishedReport(), 0, nil), u)
	}
	r := finishedReport()
	r.AbortReason = "got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJlLWhlcmU back"
	assert.ErrorIs(t, Send(context.Background(), "http://127.0.0.1:1/x", r, 0, nil), ErrSecretInPayload)
}

func TestIsSlack(t *testing.T) {
	for raw, want := range map[string]bool{
		slackURL: true, "https://HOOKS.slack.com/services/a": true,
		"https://hooks.slack.com/workflows/a": false, "https://example.com/services/a": false,
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		assert.Equal(t, want, IsSlack(u), raw)
	}
}
