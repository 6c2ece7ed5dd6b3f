// Package sandbox is a simulated Auth0 tenant served over loopback HTTP, for
// rehearsals, demos and tests of rolesweep. It answers the parts of the
// Management API v2 that rolesweep uses (user roles and organization member
// roles: read, remove and assign; roles; users-by-email; a role's holders
// with page-based and checkpoint paging) and the client-credentials token
// endpoint with the status codes, JSON bodies and headers that the real API
// was recorded or documented to send (shared/reference/auth0-api-facts.md).
// It also reproduces Auth0's token-bucket rate limiting, and can add latency,
// random faults (FailRate, DropRate, ApplyThenFailRate) and deterministic
// ones (ReadFault, TokenStatus, TokenLatency).
//
// It deliberately shares no code with rolesweep's management client: the
// sandbox is the client's opponent in tests, and a shared type or helper
// would hide exactly the misunderstandings the tests are there to catch.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Clock tells the sandbox the time. Rate-limit and token-expiry arithmetic
// read it, so tests inject a fake clock and assert exact values.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Refill modes of the rate-limit bucket.
const (
	// RefillContinuous adds Refill tokens per second smoothly, as a token
	// bucket does in theory.
	RefillContinuous = "continuous"
	// RefillStep adds the whole per-second refill at each whole-second
	// boundary, which is what a per-second counter looks like to a client.
	RefillStep = "step"
)

// Options configure a Tenant. The zero value is a tenant without rate
// limiting, latency or faults, with a random client and API token that hold
// every scope the sandbox knows.
type Options struct {
	// Bucket is the burst size (x-ratelimit-limit). 0 disables rate limiting
	// and the x-ratelimit-* headers altogether.
	Bucket int
	// Refill is the sustained rate in tokens per second. 0 with Bucket > 0
	// means Refill = Bucket (Auth0's free plan: burst 2, 2/second).
	Refill float64
	// RefillMode is RefillContinuous (default) or RefillStep.
	RefillMode string
	// TruncateReset reports x-ratelimit-reset in continuous mode as the next
	// refill truncated to the second instead of rounded up. That reproduces
	// what Auth0 was seen to send (a reset equal to the current second,
	// facts §3, go-auth0#501), which a client must survive with a minimum
	// wait.
	TruncateReset bool
	// StepPeriod is the time between steps in RefillStep mode (default 1s);
	// each step adds Refill × StepPeriod tokens. A period that is not a
	// whole second (24 tokens every 1.5s) puts steps between whole seconds,
	// while x-ratelimit-reset still names whole seconds. A fractional
	// Refill models a per-minute limit refilled by the second (150 per
	// minute: Refill 2.5).
	StepPeriod time.Duration
	// RateHeaders is HeadersFull (default), HeadersNone (no rate-limit
	// headers at all) or HeadersRetryAfter (a 429 carries Retry-After only).
	RateHeaders string
	// ClockSkew puts the tenant's clock this far ahead of the real one (behind
	// when negative): its Date and x-ratelimit-reset headers move with it.
	ClockSkew time.Duration

	// TokenTTL is the lifetime of tokens from /oauth/token (default 86400s,
	// Auth0's default). The pre-issued API token does not expire; only
	// RevokeTokens invalidates it.
	TokenTTL time.Duration

	// Latency is added before every /api/v2 answer, plus a uniformly random
	// extra in [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration
	// FailRate, DropRate and ApplyThenFailRate are probabilities in [0,1]
	// (their sum at most 1) for each /api/v2 request that passes the rate
	// limiter: FailRate answers 500, 502 or 503 without applying anything,
	// DropRate closes the connection without an answer (nothing applied),
	// ApplyThenFailRate applies the request and then answers 503.
	FailRate          float64
	DropRate          float64
	ApplyThenFailRate float64
	// FaultSeed makes faults and jitter reproducible. Faults are drawn from
	// one pseudo-random stream per route ("DELETE /api/v2/users/{id}/roles"
	// and so on), seeded from FaultSeed and the route: the n-th request to a
	// route that reaches the fault stage (it passed the rate limiter and no
	// forced failure was pending) always gets the same fault for the same
	// seed and rates, whatever the traffic on other routes. Under concurrency
	// "n-th" is the order in which requests take the tenant's lock.
	FaultSeed int64

	// Clock defaults to the real time.
	Clock Clock
	// Sleep waits for the injected latency; it defaults to a timer that also
	// stops when ctx is done. Tests replace it to avoid real sleeping.
	Sleep func(ctx context.Context, d time.Duration)

	// ClientID, ClientSecret and Scopes describe the default client for the
	// client-credentials grant. Empty ClientID or ClientSecret are replaced
	// by random values; empty Scopes by every scope the sandbox knows.
	ClientID     string
	ClientSecret string
	Scopes       []string
	// APIToken is the pre-issued Management API token holding every known
	// scope; empty means a random 32-byte hex string.
	APIToken string
	// PublicURL, if set (e.g. "http://127.0.0.1:4000"), is accepted as the
	// token audience base in addition to the scheme and Host of the request.
	PublicURL string

	// Deterministic faults (readfaults.go). ReadFault is "" or one of
	// ReadFaults(): ReadFaultEndless, ReadFaultLowTotal, ReadFaultInvalidJSON.
	// TokenStatus, when not 0, answers every POST /oauth/token with that
	// 4xx/5xx status and no token; TokenLatency delays every /oauth/token
	// answer (through Sleep, so it ends when the client gives up).
	ReadFault    string
	TokenStatus  int
	TokenLatency time.Duration
}

// Validate reports options that New would reject.
func (o Options) Validate() error {
	switch {
	case o.Bucket < 0:
		return fmt.Errorf("sandbox: bucket must not be negative (got %d)", o.Bucket)
	case o.Refill < 0:
		return fmt.Errorf("sandbox: refill must not be negative (got %g)", o.Refill)
	case o.RefillMode != "" && o.RefillMode != RefillContinuous && o.RefillMode != RefillStep:
		return fmt.Errorf("sandbox: refill mode must be %q or %q (got %q)", RefillContinuous, RefillStep, o.RefillMode)
	case o.StepPeriod < 0:
		return fmt.Errorf("sandbox: step period must not be negative (got %s)", o.StepPeriod)
	case o.RateHeaders != "" && o.RateHeaders != HeadersFull && o.RateHeaders != HeadersNone && o.RateHeaders != HeadersRetryAfter:
		return fmt.Errorf("sandbox: rate headers must be %q, %q or %q (got %q)", HeadersFull, HeadersNone, HeadersRetryAfter, o.RateHeaders)
	case o.TokenTTL < 0:
		return fmt.Errorf("sandbox: token TTL must not be negative (got %s)", o.TokenTTL)
	case o.Latency < 0 || o.Jitter < 0:
		return fmt.Errorf("sandbox: latency and jitter must not be negative")
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"fail rate", o.FailRate}, {"drop rate", o.DropRate}, {"apply-then-fail rate", o.ApplyThenFailRate}} {
		if r.v < 0 || r.v > 1 || math.IsNaN(r.v) {
			return fmt.Errorf("sandbox: %s must be between 0 and 1 (got %g)", r.name, r.v)
		}
	}
	if o.FailRate+o.DropRate+o.ApplyThenFailRate > 1 {
		return fmt.Errorf("sandbox: fail, drop and apply-then-fail rates add up to more than 1")
	}
	if err := validateReadFault(o.ReadFault); err != nil {
		return err
	}
	return validateTokenFault(o.TokenStatus, o.TokenLatency)
}

type role struct {
	id, name, description string
}

type user struct {
	id, email, name string
	roles           map[string]struct{}
}

type organization struct {
	id, name string
	members  map[string]map[string]struct{} // user id -> role ids
}

type client struct {
	id, secret string
	scopes     []string
}

// grant is what a bearer token allows; a zero expires means it never expires.
type grant struct {
	scopes  map[string]bool
	expires time.Time
}

// Tenant is a simulated Auth0 tenant; it is an http.Handler. All state sits
// behind one mutex, which is plenty for a loopback sandbox.
type Tenant struct {
	opts  Options
	clock Clock
	sleep func(ctx context.Context, d time.Duration)

	mu             sync.Mutex
	roles          map[string]*role
	users          map[string]*user
	orgs           map[string]*organization
	clients        map[string]*client
	tokens         map[string]grant
	apiToken       string
	defaultClient  string
	ignoreRemovals map[string]bool
	bucket         *bucket // nil without rate limiting
	faults         *faultInjector
	forced         forcedFailures
	inFlight       int
	stats          Stats
	// assignGen counts changes of users' roles; holderCache entries of an
	// older generation are stale.
	assignGen   uint64
	holderCache map[string]holderList
}

// New creates an empty tenant with the default client and the pre-issued API
// token. It panics when opts.Validate fails: callers that take options from
// flags should call Validate first and report the error.
func New(opts Options) *Tenant {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.Bucket > 0 && opts.Refill == 0 {
		opts.Refill = float64(opts.Bucket)
	}
	if opts.RefillMode == "" {
		opts.RefillMode = RefillContinuous
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 86400 * time.Second
	}
	if opts.ClientID == "" {
		opts.ClientID = randomAlnum(32)
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = randomAlnum(64)
	}
	if len(opts.Scopes) == 0 {
		opts.Scopes = KnownScopes()
	}
	if opts.APIToken == "" {
		opts.APIToken = randomHex(32)
	}
	t := &Tenant{
		opts:           opts,
		clock:          opts.Clock,
		sleep:          opts.Sleep,
		roles:          map[string]*role{},
		users:          map[string]*user{},
		orgs:           map[string]*organization{},
		clients:        map[string]*client{},
		tokens:         map[string]grant{},
		apiToken:       opts.APIToken,
		defaultClient:  opts.ClientID,
		ignoreRemovals: map[string]bool{},
		faults:         newFaultInjector(opts),
		stats:          newStats(),
		holderCache:    map[string]holderList{},
	}
	if t.clock == nil {
		t.clock = realClock{}
	}
	if t.sleep == nil {
		t.sleep = sleepContext
	}
	if opts.Bucket > 0 {
		t.bucket = newBucket(bucketConfig{
			limit: opts.Bucket, refill: opts.Refill, step: opts.RefillMode == RefillStep, period: opts.StepPeriod,
			truncate: opts.TruncateReset, headers: opts.RateHeaders, skew: opts.ClockSkew,
		}, t.clock.Now())
	}
	t.clients[opts.ClientID] = &client{id: opts.ClientID, secret: opts.ClientSecret, scopes: sortedUnique(opts.Scopes)}
	t.tokens[t.apiToken] = grant{scopes: scopeSet(KnownScopes())}
	return t
}

func sleepContext(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// Token returns the pre-issued Management API token (it holds every known
// scope and stays valid until RevokeTokens).
func (t *Tenant) Token() string { return t.apiToken }

// ClientID returns the default client's id.
func (t *Tenant) ClientID() string { return t.opts.ClientID }

// ClientSecret returns the default client's secret. It is made up by the
// sandbox (or given in Options) and protects nothing real.
func (t *Tenant) ClientSecret() string { return t.opts.ClientSecret }

// AddRole creates the role, or renames it when it exists.
func (t *Tenant) AddRole(id, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.roles[id]; r != nil {
		r.name = name
		return
	}
	t.roles[id] = &role{id: id, name: name}
}

// AddUser creates the user (or updates its email) and assigns the roles.
// Unknown role ids are created with the name "Role <id>".
func (t *Tenant) AddUser(id, email string, roleIDs ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.ensureUserLocked(id, email)
	u.email = email
	if u.name == "" {
		u.name = email
	}
	for _, rid := range roleIDs {
		t.ensureRoleLocked(rid)
		u.roles[rid] = struct{}{}
	}
	t.assignmentsChangedLocked()
}

// AddOrganization creates the organization, or renames it when it exists.
func (t *Tenant) AddOrganization(id, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.orgs[id]; o != nil {
		o.name = name
		return
	}
	t.orgs[id] = &organization{id: id, name: name, members: map[string]map[string]struct{}{}}
}

// AddMember makes the user a member of the organization and assigns the
// roles in it. A missing organization, user or role is created on the way
// (the user with an email derived from its id).
func (t *Tenant) AddMember(orgID, userID string, roleIDs ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.orgs[orgID]
	if o == nil {
		o = &organization{id: orgID, name: orgID, members: map[string]map[string]struct{}{}}
		t.orgs[orgID] = o
	}
	t.ensureUserLocked(userID, derivedEmail(userID, 0))
	m := o.members[userID]
	if m == nil {
		m = map[string]struct{}{}
		o.members[userID] = m
	}
	for _, rid := range roleIDs {
		t.ensureRoleLocked(rid)
		m[rid] = struct{}{}
	}
}

// AddClient registers a client for the client-credentials grant with the
// scopes it was granted on the Management API.
func (t *Tenant) AddClient(id, secret string, scopes ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clients[id] = &client{id: id, secret: secret, scopes: sortedUnique(scopes)}
}

// Roles returns the role ids the user holds (outside organizations), sorted;
// nil for an unknown user.
func (t *Tenant) Roles(userID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.users[userID]
	if u == nil {
		return nil
	}
	return sortedKeys(u.roles)
}

// MemberRoles returns the role ids the user holds in the organization,
// sorted; nil when the organization or the membership does not exist.
func (t *Tenant) MemberRoles(orgID, userID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.orgs[orgID]
	if o == nil {
		return nil
	}
	m, ok := o.members[userID]
	if !ok {
		return nil
	}
	return sortedKeys(m)
}

// IgnoreRemovals makes role DELETEs for the user (its own roles and its
// organization roles) answer 204 while changing nothing: a tenant that lies,
// for testing read-back verification.
func (t *Tenant) IgnoreRemovals(userID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ignoreRemovals[userID] = true
}

// RevokeTokens invalidates every token issued so far, the pre-issued API
// token included: later requests with them get 401. New tokens can still be
// obtained from /oauth/token.
func (t *Tenant) RevokeTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.tokens)
}

func (t *Tenant) ensureRoleLocked(id string) *role {
	r := t.roles[id]
	if r == nil {
		r = &role{id: id, name: "Role " + id}
		t.roles[id] = r
	}
	return r
}

func (t *Tenant) ensureUserLocked(id, email string) *user {
	u := t.users[id]
	if u == nil {
		u = &user{id: id, email: email, name: email, roles: map[string]struct{}{}}
		t.users[id] = u
	}
	return u
}

// KnownScopes lists the Management API scopes the sandbox checks, sorted.
func KnownScopes() []string {
	return []string{
		"create:organization_member_roles",
		"create:role_members",
		"delete:organization_member_roles",
		"delete:role_members",
		"read:organization_member_roles",
		"read:role_members",
		"read:roles",
		"read:users",
		"update:users",
	}
}

func scopeSet(scopes []string) map[string]bool {
	m := make(map[string]bool, len(scopes))
	for _, s := range scopes {
		m[s] = true
	}
	return m
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	return alnumFrom(randomBytes(n), n)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("sandbox: no randomness: " + err.Error())
	}
	return b
}

// alnumFrom maps bytes onto letters and digits; the slight modulo bias does
// not matter for made-up identifiers.
func alnumFrom(b []byte, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = alnum[int(b[i%len(b)])%len(alnum)]
	}
	return string(out)
}
