package management

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// earlyRenewalRetryGap is how long the client keeps using a still-valid token
// after an early renewal failed, before it asks the token endpoint again.
const earlyRenewalRetryGap = 10 * time.Second

// maxTokenLifetime bounds expires_in so that absurd values cannot overflow.
const maxTokenLifetime = 10 * 365 * 24 * time.Hour

type cachedToken struct {
	value   string
	expiry  time.Time // zero: unknown; the token is used until a 401
	renewAt time.Time // zero: never renewed early
	revoked bool      // the API answered 401 to it
}

func (t *cachedToken) unusable(now time.Time) bool {
	return t.revoked || (!t.expiry.IsZero() && !now.Before(t.expiry))
}

func (t *cachedToken) renewalDue(now time.Time) bool {
	return !t.renewAt.IsZero() && !now.Before(t.renewAt)
}

// renewal is one token fetch; callers that need a token while it runs wait
// for it instead of fetching their own.
type renewal struct {
	done  chan struct{}
	token *cachedToken
	resp  Response
	err   error
}

// DefaultTokenTries is how many times one shared token fetch asks
// /oauth/token before it gives up with ErrTokenUnavailable.
const DefaultTokenTries = 5

// DefaultTokenTryTimeout bounds one token request. It is longer than a
// caller's attempt timeout on purpose: a slow token endpoint must still be
// able to answer, and the fetch runs on its own, whoever gave up waiting.
const DefaultTokenTryTimeout = 60 * time.Second

// DefaultTokenFetchBudget bounds one shared token fetch, all its tries and
// pauses together, so that an endpoint that hangs on every try is given up
// on in minutes, not DefaultTokenTries × DefaultTokenTryTimeout.
const DefaultTokenFetchBudget = 2 * time.Minute

// accessToken returns the token to send. stale, when set, is a token the API
// has just answered 401 to: it is renewed unless another caller already has.
// With a static API token there is nothing to renew; the caller returns the
// 401 as it is.
//
// A token is fetched by one detached fetch that every caller needing it
// waits on with its own ctx: a caller that gives up (its attempt timed out,
// the run is cancelled) stops waiting, but the fetch carries on for the
// others and for the next caller.
func (c *Client) accessToken(ctx context.Context, stale string) (string, Response, error) {
	if c.credentials == nil {
		return c.staticToken, Response{}, nil
	}
	c.mu.Lock()
	now := c.now()
	cur := c.current
	if cur != nil && stale != "" && cur.value == stale {
		cur.revoked = true
	}
	if cur != nil && !cur.unusable(now) && (!cur.renewalDue(now) || now.Before(c.retryAt)) {
		c.mu.Unlock()
		return cur.value, Response{}, nil
	}
	r := c.inflight
	if r != nil && stale == "" && cur != nil && !cur.unusable(now) {
		// An early renewal is under way and the current token still
		// works: nobody needs to wait for it.
		c.mu.Unlock()
		return cur.value, Response{}, nil
	}
	if r == nil && c.unavailable != nil && now.Before(c.unavailableUntil) && (cur == nil || cur.unusable(now)) {
		err := c.unavailable
		c.mu.Unlock()
		return "", Response{}, err
	}
	joined := r != nil
	if !joined {
		r = &renewal{done: make(chan struct{})}
		c.inflight = r
		go c.renew(context.WithoutCancel(ctx), r)
	}
	early := cur != nil && !cur.unusable(now)
	c.mu.Unlock()

	if joined && c.onJoinRenewal != nil {
		c.onJoinRenewal()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return "", Response{}, ctx.Err()
	}
	if r.err == nil {
		return r.token.value, Response{}, nil
	}
	if early {
		c.mu.Lock()
		cur, now = c.current, c.now()
		c.mu.Unlock()
		if cur != nil && !cur.unusable(now) {
			// An early renewal failed, but the token still works: use it
			// and let a later call try again.
			return cur.value, Response{}, nil
		}
	}
	return "", r.resp, r.err
}

// renew runs one shared token fetch and publishes the outcome to every
// caller waiting on r. ctx carries values only (it is never cancelled); each
// try has its own timeout.
func (c *Client) renew(ctx context.Context, r *renewal) {
	start := c.now()
	tok, resp, err := c.fetchToken(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(r.done)
	c.inflight = nil
	if err != nil {
		r.resp, r.err = resp, err
		c.retryAt = c.now().Add(earlyRenewalRetryGap)
		if errors.Is(err, ErrTokenUnavailable) {
			c.unavailable = err
			c.unavailableUntil = c.now().Add(c.tokenFailureHold)
		}
		return
	}
	ct := &cachedToken{value: tok.AccessToken}
	if life := tokenLifetime(tok); life > 0 {
		// Counting from before the request errs on the early side.
		ct.expiry = start.Add(life)
		ct.renewAt = ct.expiry.Add(-min(c.renewBefore, life/2))
	}
	c.current = ct
	c.retryAt = time.Time{}
	c.unavailable = nil
	c.renewals++
	r.token = ct
}

// fetchToken asks /oauth/token up to tokenTries times. An answer that
// refuses the client (4xx) or rate-limits it (429) is returned at once: the
// former will not change, the latter is the pacer's to wait out. A 5xx, a
// timeout or a network failure is tried again after a backoff; when every
// try failed, the error wraps ErrTokenUnavailable.
func (c *Client) fetchToken(ctx context.Context) (*oauth2.Token, Response, error) {
	ctx, cancelBudget := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, c.tokenHTTP), c.tokenFetchBudget)
	defer cancelBudget()
	tries := max(c.tokenTries, 1)
	var resp Response
	var last error
	try := 1
	for ; ; try++ {
		tctx, cancel := context.WithTimeout(ctx, c.tokenTryTimeout)
		tok, err := c.credentials.Token(tctx)
		cancel()
		if err == nil {
			return tok, Response{}, nil
		}
		resp, last = c.tokenFailure(err)
		var te *TokenError
		if errors.As(last, &te) && te.StatusCode < 500 && te.StatusCode != http.StatusRequestTimeout {
			return nil, resp, last
		}
		var ne *NetworkError
		if errors.As(last, &ne) && ne.Op == "tls" {
			// A certificate that does not verify will not on the next try.
			return nil, resp, last
		}
		if try >= tries {
			break
		}
		pause := time.NewTimer(c.tokenRetryDelay(try, resp))
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
		}
		if ctx.Err() != nil {
			break // the fetch's whole budget is spent
		}
	}
	return nil, resp, &tokenUnavailableError{endpoint: c.credentials.TokenURL, tries: try, last: last}
}

// tokenRetryDelay is the pause after the try-th failed token request: the
// endpoint's Retry-After when it gave one, else exponential backoff; both
// capped, with jitter so that clients sharing a tenant do not retry in step.
func (c *Client) tokenRetryDelay(try int, resp Response) time.Duration {
	d := c.tokenBackoff << min(try-1, 20)
	if resp.RetryAfter > 0 {
		d = resp.RetryAfter
	}
	d = min(d, c.tokenBackoffMax)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// tokenLifetime reads expires_in from the token response. The oauth2 package
// turns it into an Expiry on the real clock; reading the raw value lets the
// client's own clock decide.
func tokenLifetime(tok *oauth2.Token) time.Duration {
	var secs float64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = v
	case string: // a form-encoded answer, or a JSON string
		secs, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
	}
	switch {
	case secs <= 0:
		return 0
	case secs > maxTokenLifetime.Seconds():
		return maxTokenLifetime
	default:
		return time.Duration(secs * float64(time.Second))
	}
}

// tokenFailure turns an oauth2 error into a *TokenError when the token
// endpoint answered, and into a wrapped error when it could not be reached
// (callers may retry those). Neither carries the secret: oauth2's own
// messages are not used for answers, and what the server said is redacted.
func (c *Client) tokenFailure(err error) (Response, error) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{
			ErrorCode:   excerpt([]byte(c.redact.clean(re.ErrorCode))),
			Description: excerpt([]byte(c.redact.clean(re.ErrorDescription))),
		}
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
			te.Response = responseOf(re.Response, c.now())
		}
		if te.ErrorCode == "" && te.Description == "" {
			if strings.Contains(string(re.Body), "access_token") {
				te.Description = "(response body withheld: it mentions an access token)"
			} else {
				te.Description = excerpt([]byte(c.redact.clean(string(re.Body))))
			}
		}
		return te.Response, te
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// No answer at all; the *url.Error names the token URL.
		return Response{}, networkError(c.base.Host, err)
	}
	return Response{}, fmt.Errorf("management: requesting a token from %s: %w", c.credentials.TokenURL, err)
}
