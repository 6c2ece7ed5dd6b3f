package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// scopeRule is satisfied when the token holds every scope of at least one
// alternative. message is the 403 text; the real format is
// "Insufficient scope, expected any of: a,b,c" (comma, no space).
type scopeRule struct {
	alternatives [][]string
	text         string
}

func anyOf(scopes ...string) scopeRule {
	alts := make([][]string, len(scopes))
	for i, s := range scopes {
		alts[i] = []string{s}
	}
	return scopeRule{alternatives: alts, text: "Insufficient scope, expected any of: " + strings.Join(scopes, ",")}
}

func allOf(scopes ...string) scopeRule {
	return scopeRule{alternatives: [][]string{scopes}, text: "Insufficient scope, expected all of: " + strings.Join(scopes, ",")}
}

// or adds an alternative without changing the message.
func (r scopeRule) or(scopes ...string) scopeRule {
	r.alternatives = append(append([][]string(nil), r.alternatives...), scopes)
	return r
}

func (r scopeRule) message() string { return r.text }

func (r scopeRule) allows(held map[string]bool) bool {
	for _, alt := range r.alternatives {
		ok := true
		for _, s := range alt {
			if !held[s] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// authenticate checks the bearer token of an /api/v2 request.
//
// The 401 texts: "Invalid token" with WWW-Authenticate `Token error="Invalid
// token"` is recorded (facts §1); "Missing authentication" is what hapi, on
// which the Management API runs, says when no credentials came; "Expired
// token received for JSON Web Token validation" is the real text for an
// expired token (seen in SDK issues), although our tokens are opaque.
func (t *Tenant) authenticateLocked(r *http.Request, now time.Time) (map[string]bool, *reply) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	token = strings.TrimSpace(token)
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		rep := missingAuthentication()
		return nil, &rep
	}
	g, found := t.tokens[token]
	if !found {
		rep := unauthorized("Invalid token")
		return nil, &rep
	}
	if !g.expires.IsZero() && !now.Before(g.expires) {
		rep := unauthorized("Expired token received for JSON Web Token validation")
		return nil, &rep
	}
	return g.scopes, nil
}

// serveToken is POST /oauth/token, client-credentials grant only. Bodies may
// be form-encoded (documented) or JSON (accepted in practice); the client may
// also authenticate with HTTP Basic. Error shapes follow the Authentication
// API OAS; the exact real texts for a wrong secret or audience are
// UNVERIFIED.
func (t *Tenant) serveToken(w http.ResponseWriter, r *http.Request) {
	const routeKey = "POST /oauth/token"
	if r.Method != http.MethodPost {
		t.finish(w, r.Method+" (no route)", notFoundRoute())
		return
	}
	body, rep := readBody(r, 64<<10)
	if rep != nil {
		t.finish(w, routeKey, *rep)
		return
	}
	params, rep := tokenParams(r.Header.Get("Content-Type"), body)
	if rep != nil {
		t.finish(w, routeKey, *rep)
		return
	}
	if id, secret, ok := r.BasicAuth(); ok {
		params.Set("client_id", id)
		params.Set("client_secret", secret)
	}

	t.mu.Lock()
	latency := t.opts.TokenLatency
	t.mu.Unlock()
	if latency > 0 {
		t.sleep(r.Context(), latency)
	}

	t.mu.Lock()
	var answer reply
	if status := t.opts.TokenStatus; status != 0 {
		t.stats.Faults.TokenFailed++
		answer = tokenFaultReply(status)
	} else {
		answer = t.issueTokenLocked(r, params)
	}
	t.mu.Unlock()
	t.finish(w, routeKey, answer)
}

func (t *Tenant) issueTokenLocked(r *http.Request, p url.Values) reply {
	grantType := p.Get("grant_type")
	switch {
	case grantType == "":
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
	case grantType != "client_credentials":
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+grantType)
	case p.Get("client_id") == "":
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing required parameter: client_id")
	}
	c := t.clients[p.Get("client_id")]
	if c == nil || subtle.ConstantTimeCompare([]byte(c.secret), []byte(p.Get("client_secret"))) != 1 {
		return oauthError(http.StatusUnauthorized, "invalid_client", "Client authentication failed")
	}
	audience := p.Get("audience")
	if audience == "" {
		audience = p.Get("resource")
	}
	if audience == "" {
		return oauthError(http.StatusForbidden, "access_denied", "No audience parameter was provided, and no default audience has been configured")
	}
	if !t.acceptsAudience(r, audience) {
		return oauthError(http.StatusForbidden, "access_denied", "Service not enabled within domain: "+audience)
	}
	if len(c.scopes) == 0 {
		return oauthError(http.StatusForbidden, "access_denied",
			`Client is not authorized to access "`+audience+`". You need to create a "client-grant" associated to this API.`)
	}
	// A scope parameter narrows the token to the requested granted scopes
	// (how Auth0 treats requested-but-not-granted scopes is UNVERIFIED).
	scopes := c.scopes
	if requested := strings.Fields(p.Get("scope")); len(requested) > 0 {
		want := scopeSet(requested)
		scopes = nil
		for _, s := range c.scopes {
			if want[s] {
				scopes = append(scopes, s)
			}
		}
	}
	token := randomHex(32)
	ttl := t.opts.TokenTTL
	t.sweepExpiredLocked()
	t.tokens[token] = grant{scopes: scopeSet(scopes), expires: t.clock.Now().Add(ttl)}
	t.stats.TokensIssued++
	rep := jsonReply(http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Scope       string `json:"scope"`
		TokenType   string `json:"token_type"`
	}{token, int64(ttl / time.Second), strings.Join(scopes, " "), "Bearer"})
	rep.setHeader("Cache-Control", "no-store")
	rep.setHeader("Pragma", "no-cache")
	return rep
}

// acceptsAudience: the audience is the Management API identifier of the
// domain the client talks to, with the trailing slash.
func (t *Tenant) acceptsAudience(r *http.Request, audience string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if audience == scheme+"://"+r.Host+"/api/v2/" {
		return true
	}
	return t.opts.PublicURL != "" && audience == strings.TrimSuffix(t.opts.PublicURL, "/")+"/api/v2/"
}

// sweepExpiredLocked keeps a long-running sandbox from accumulating tokens.
func (t *Tenant) sweepExpiredLocked() {
	if len(t.tokens) < 1024 {
		return
	}
	now := t.clock.Now()
	for k, g := range t.tokens {
		if !g.expires.IsZero() && !now.Before(g.expires) {
			delete(t.tokens, k)
		}
	}
}

func tokenParams(contentType string, body []byte) (url.Values, *reply) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			rep := oauthError(http.StatusBadRequest, "invalid_request", "Invalid request body")
			return nil, &rep
		}
		return v, nil
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			rep := oauthError(http.StatusBadRequest, "invalid_request", "Invalid request body")
			return nil, &rep
		}
		v := url.Values{}
		for k, val := range m {
			if s, ok := val.(string); ok {
				v.Set(k, s)
			}
		}
		return v, nil
	}
	rep := oauthError(http.StatusBadRequest, "invalid_request",
		"Content-Type must be application/x-www-form-urlencoded or application/json")
	return nil, &rep
}
