// Package notify tells someone how a run ended: it POSTs a JSON summary of a
// report to a webhook, or a Slack message to a Slack incoming-webhook URL.
// It carries counts and paths only, never a secret, and never shows a
// webhook's path (for Slack, the path is the secret) in an error.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/rolesweep/rolesweep/report"
)

// Timeout bounds one notification, whatever the caller's context allows: a
// slow webhook must not hold up the end of a run.
const Timeout = 10 * time.Second

// maxRedirects bounds redirects, which are followed only on the same host.
const maxRedirects = 3

// Payload is the JSON summary POSTed to a generic webhook.
type Payload struct {
	Tool        string         `json:"tool"`
	Command     string         `json:"command"`
	Domain      string         `json:"domain"`
	Outcome     string         `json:"outcome"`
	AbortReason string         `json:"abort_reason,omitempty"`
	ExitCode    int            `json:"exit_code"`
	StartedAt   time.Time      `json:"started_at"`
	FinishedAt  time.Time      `json:"finished_at"`
	Summary     report.Summary `json:"summary"`
	Reports     []string       `json:"reports"`
}

// NewPayload summarises r; the report paths are r.FullReports.
func NewPayload(r *report.Report, exitCode int) Payload {
	reports := r.FullReports
	if reports == nil {
		reports = []string{}
	}
	return Payload{
		Tool: r.Tool, Command: r.Command, Domain: r.Domain, Outcome: r.Outcome, AbortReason: r.AbortReason,
		ExitCode: exitCode, StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(),
		Summary: r.Summary, Reports: reports,
	}
}

// IsSlack reports whether u is a Slack incoming-webhook URL.
func IsSlack(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	return (host == "hooks.slack.com" || host == "hooks.slack-gov.com") && strings.HasPrefix(u.Path, "/services/")
}

// SlackMessage is the text of the Slack message for r.
func SlackMessage(r *report.Report, exitCode int) string {
	p := NewPayload(r, exitCode)
	icon := ":white_check_mark:"
	switch {
	case p.Outcome == report.Aborted:
		icon = ":octagonal_sign:"
	case exitCode != 0:
		icon = ":warning:"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s rolesweep %s on %s: %s (exit %d)", icon, orDash(p.Command), orDash(p.Domain), orDash(p.Outcome), exitCode)
	if p.AbortReason != "" {
		fmt.Fprintf(&b, ": %s", p.AbortReason)
	}
	b.WriteString("\n")
	var counts []string
	for _, st := range report.Statuses(commandKind(r)) {
		if n := p.Summary.Count(st); n > 0 || st == report.Failed {
			counts = append(counts, fmt.Sprintf("%s %d", st, n))
		}
	}
	fmt.Fprintf(&b, "%d users, %d roles: %s", p.Summary.Users, p.Summary.Roles, strings.Join(counts, ", "))
	if p.Summary.Excluded > 0 {
		fmt.Fprintf(&b, "; %d rows excluded", p.Summary.Excluded)
	}
	fmt.Fprintf(&b, "\n%d requests, %d rate limited, %s", p.Summary.Requests, p.Summary.RateLimited,
		p.FinishedAt.Sub(p.StartedAt).Round(time.Second))
	if len(p.Reports) > 0 {
		fmt.Fprintf(&b, "\nreports: %s", strings.Join(p.Reports, ", "))
	}
	// Slack reads <, > and & as markup: escape them as its docs ask.
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(b.String())
}

func commandKind(r *report.Report) string {
	switch {
	case r.IsPlan():
		return report.CommandPlan
	case r.IsUndo():
		return report.CommandUndo
	default:
		return report.CommandApply
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// tokenLike matches what a bearer token looks like (a JWT: three base64url
// parts, the first a JSON header). The report holds none; this is the
// assertion that it stays so.
var tokenLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// ErrSecretInPayload refuses a notification that would carry a token.
var ErrSecretInPayload = errors.New("notify: the summary looks like it holds a token; not sent")

// Send POSTs the summary of r to rawURL: a Slack message ({"text": …}) to a
// Slack incoming webhook, else the JSON Payload. It gives up after Timeout,
// follows redirects only on the same host, and succeeds only on a 2xx
// answer. Errors name the URL's scheme and host, never its path or query.
// A nil client means a plain one; a given client is copied, not changed.
func Send(ctx context.Context, rawURL string, r *report.Report, exitCode int, client *http.Client) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("notify: the URL must be an http:// or https:// URL")
	}
	where := u.Scheme + "://" + u.Host + "/…"

	var body any = NewPayload(r, exitCode)
	if IsSlack(u) {
		body = map[string]string{"text": SlackMessage(r, exitCode)}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("notify %s: %w", where, err)
	}
	if tokenLike.Match(data) {
		return ErrSecretInPayload
	}

	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("notify %s: %s", where, redact(err, u))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rolesweep")

	c := http.Client{Timeout: Timeout}
	if client != nil {
		c = *client
	}
	c.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errors.New("too many redirects")
		}
		if !strings.EqualFold(next.URL.Host, u.Host) || next.URL.Scheme != u.Scheme {
			return fmt.Errorf("refused a redirect to another host (%s)", next.URL.Host)
		}
		return nil
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("notify %s: %s", where, redact(err, u))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode/100 != 2 {
		detail := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, strings.TrimSpace(string(snippet)))
		if detail != "" {
			detail = ": " + redactString(detail, u)
		}
		return fmt.Errorf("notify %s: %s%s", where, resp.Status, detail)
	}
	return nil
}

// redact renders err without the URL: *url.Error carries the full URL (the
// Slack secret), so only its cause is kept, with any copy of the path or
// query removed.
func redact(err error, u *url.URL) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return redactString(err.Error(), u)
}

func redactString(s string, u *url.URL) string {
	for _, secret := range []string{u.String(), u.EscapedPath(), u.Path, u.RawQuery} {
		if len(secret) > 1 {
			s = strings.ReplaceAll(s, secret, "/…")
		}
	}
	return s
}
