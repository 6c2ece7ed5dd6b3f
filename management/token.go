package management

import (
	"context"
	"errors"
	"fmt"
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

// accessToken returns the token to send. stale, when set, is a token the API
// has just answered 401 to: it is renewed unless another caller already has.
// With a static API token there is nothing to renew; the caller returns the
// 401 as it is.
func (c *Client) accessToken(ctx context.Context, stale string) (string, Response, error) {
	if c.credentials == nil {
		return c.staticToken, Response{}, nil
	}
	for {
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
			// works: only the renewing caller waits.
			c.mu.Unlock()
			return cur.value, Response{}, nil
		}
		joined := r != nil
		if !joined {
			r = &renewal{done: make(chan struct{})}
			c.inflight = r
		}
		c.mu.Unlock()

		if joined {
			if c.onJoinRenewal != nil {
				c.onJoinRenewal()
			}
			select {
			case <-r.done:
			case <-ctx.Done():
				return "", Response{}, ctx.Err()
			}
		} else {
			c.renew(ctx, r)
		}
		if r.err == nil {
			return r.token.value, Response{}, nil
		}

		c.mu.Lock()
		cur, now = c.current, c.now()
		c.mu.Unlock()
		if cur != nil && !cur.unusable(now) {
			// An early renewal failed, but the token still works: use it
			// and let a later call try again.
			return cur.value, Response{}, nil
		}
		if joined && ctx.Err() == nil && isContextError(r.err) {
			// The caller that fetched gave up (its context ended), not us.
			continue
		}
		return "", r.resp, r.err
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// renew fetches a token with the client credentials and publishes the
// outcome to every caller waiting on r.
func (c *Client) renew(ctx context.Context, r *renewal) {
	start := c.now()
	tok, err := c.credentials.Token(context.WithValue(ctx, oauth2.HTTPClient, c.tokenHTTP))

	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(r.done)
	c.inflight = nil
	if err != nil {
		r.resp, r.err = c.tokenFailure(err)
		c.retryAt = c.now().Add(earlyRenewalRetryGap)
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
	c.renewals++
	r.token = ct
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
	return Response{}, fmt.Errorf("management: requesting a token from %s: %w", c.credentials.TokenURL, err)
}
