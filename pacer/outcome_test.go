package pacer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/management"
)

func refused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

func reset() error {
	return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

func TestUnsent(t *testing.T) {
	limited := func(now time.Time) (management.Response, error) {
		resp := headers(429, 10, 0, now.Add(time.Second))
		return resp, apiError(resp)
	}
	cases := []struct {
		name    string
		answers []func(time.Time) (management.Response, error)
		retries int
		unsent  bool
	}{
		{"success", []func(time.Time) (management.Response, error){status(204)}, 0, false},
		{"429s only", []func(time.Time) (management.Response, error){limited}, 2, true},
		{"429 then 503", []func(time.Time) (management.Response, error){limited, status(503)}, 1, false},
		{"connection refused", []func(time.Time) (management.Response, error){func(time.Time) (management.Response, error) { return management.Response{}, refused() }}, 1, true},
		{"connection reset: maybe applied", []func(time.Time) (management.Response, error){func(time.Time) (management.Response, error) { return management.Response{}, reset() }}, 0, false},
		{"no token", []func(time.Time) (management.Response, error){func(time.Time) (management.Response, error) {
			return management.Response{}, &management.TokenError{StatusCode: 500}
		}}, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newManualClock()
			p := New(Config{Clock: clock, MaxRetries: c.retries, Seed: 1})
			out := p.Call(context.Background(), (&script{clock: clock, answers: c.answers}).attempt)
			assert.Equal(t, c.unsent, out.Unsent, "%+v", out)
		})
	}
}

// A request interrupted after a 429 applied nothing: it is Unsent, so the
// caller reports it skipped, not "outcome unknown".
func TestInterruptedAfter429IsUnsent(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 5, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	out := p.Call(ctx, (&script{clock: clock, answers: []func(time.Time) (management.Response, error){
		func(now time.Time) (management.Response, error) {
			cancel() // the operator presses ^C while the 429 comes back
			resp := headers(429, 10, 0, now.Add(time.Second))
			return resp, apiError(resp)
		},
	}}).attempt)
	assert.Equal(t, Canceled, out.Class)
	assert.Equal(t, 1, out.RateLimited)
	assert.True(t, out.Unsent)

	out = p.Call(ctx, (&script{clock: clock, answers: []func(time.Time) (management.Response, error){status(204)}}).attempt)
	assert.Equal(t, 0, out.Attempts)
	assert.True(t, out.Unsent, "nothing sent at all")
}

type fixed struct {
	resp management.Response
	err  error
}

func (f fixed) attempt(context.Context) (management.Response, error) { return f.resp, f.err }

// Every worker's connection refused, with no answer in between, for more
// than unreachableSpan: the Call that crosses the threshold and every later
// one end Unreachable; later ones send nothing.
func TestUnreachableTenantStopsTheRun(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 100, Seed: 1, BaseBackoff: 200 * time.Millisecond, MaxBackoff: time.Second})
	out := p.Call(context.Background(), fixed{err: refused()}.attempt)
	require.Equal(t, Unreachable, out.Class, "%+v", out)
	assert.Equal(t, Unreachable, Classify(out.Err))
	assert.True(t, out.Unsent)
	assert.GreaterOrEqual(t, out.Attempts, unreachableAfter)
	var ue *UnreachableError
	require.True(t, errors.As(out.Err, &ue))
	assert.GreaterOrEqual(t, ue.Span, unreachableSpan)
	assert.True(t, errors.Is(out.Err, syscall.ECONNREFUSED), "the last network error is kept")

	calls := 0
	later := p.Call(context.Background(), func(context.Context) (management.Response, error) {
		calls++
		return management.Response{StatusCode: 204}, nil
	})
	assert.Equal(t, Unreachable, later.Class)
	assert.Zero(t, calls, "nothing is sent once the tenant is gone")
	assert.True(t, later.Unsent)
}

// A flaky network (a failure, then an answer) never adds up to unreachable.
func TestFlakyNetworkIsNotUnreachable(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 3, Seed: 1})
	for range 50 {
		out := p.Call(context.Background(), (&script{clock: clock, answers: []func(time.Time) (management.Response, error){
			func(time.Time) (management.Response, error) { return management.Response{}, reset() },
			status(204),
		}}).attempt)
		require.Equal(t, Success, out.Class)
		clock.Sleep(context.Background(), 500*time.Millisecond)
	}
}

// The tenant's clock 120 s ahead: its Date header shows it, so a 429's reset
// (on its clock) is read as one second away, not two minutes.
func TestSkewedResetIsReadOnTheTenantsClock(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 2, Seed: 1})
	const skew = 120 * time.Second
	answer := func(code int) func(time.Time) (management.Response, error) {
		return func(now time.Time) (management.Response, error) {
			resp := headers(code, 10, 0, now.Add(skew+time.Second))
			resp.Date = time.Unix(now.Add(skew).Unix(), 0)
			if code == 429 {
				return resp, apiError(resp)
			}
			return resp, nil
		}
	}
	s := &script{clock: clock, answers: []func(time.Time) (management.Response, error){answer(204), answer(429), answer(204)}}
	require.Equal(t, Success, p.Call(context.Background(), s.attempt).Class)
	out := p.Call(context.Background(), s.attempt)
	require.Equal(t, Success, out.Class)
	require.Len(t, s.starts, 3)
	assert.Less(t, s.starts[2].Sub(s.starts[1]), 3*time.Second, "paused for the reset on the tenant's clock")
}

// Without rate-limit headers the 429s make a shared AIMD rate: the
// attempts after a 429 are spread out, not sent together.
func TestBlindModeSpreadsRestarts(t *testing.T) {
	clock := newManualClock()
	p := New(Config{Clock: clock, MaxRetries: 3, Seed: 1})
	for range 20 {
		require.Equal(t, Success, p.Call(context.Background(), (&script{clock: clock, answers: []func(time.Time) (management.Response, error){status(204)}}).attempt).Class)
		clock.Sleep(context.Background(), 100*time.Millisecond)
	}
	out := p.Call(context.Background(), (&script{clock: clock, answers: []func(time.Time) (management.Response, error){status(429), status(204)}}).attempt)
	require.Equal(t, Success, out.Class)
	p.mu.Lock()
	blind, r := p.blind, p.blindRate
	p.mu.Unlock()
	assert.True(t, blind)
	assert.InDelta(t, 5, r, 0.6, "half the 10/s that succeeded before")
	var starts []time.Time
	for range 5 {
		p.Call(context.Background(), func(context.Context) (management.Response, error) {
			starts = append(starts, clock.Now())
			return management.Response{StatusCode: 204}, nil
		})
	}
	for i := 1; i < len(starts); i++ {
		assert.GreaterOrEqual(t, starts[i].Sub(starts[i-1]), 150*time.Millisecond, "spaced by the blind rate")
	}
}

func TestTokenUnavailableIsFatal(t *testing.T) {
	err := fmt.Errorf("remove roles: %w", management.ErrTokenUnavailable)
	assert.Equal(t, Auth, Classify(err))
	assert.True(t, notApplied(management.Response{}, err), "no token: nothing was sent")
}

func TestNetworkErrorsBeforeSendingAreNotApplied(t *testing.T) {
	connect := &management.NetworkError{Op: "connect", Host: "127.0.0.1:1", Err: refused()}
	assert.True(t, notApplied(management.Response{}, connect))
	assert.True(t, isNetworkFailure(connect))
	lost := &management.NetworkError{Op: "request", Host: "127.0.0.1:1", Err: reset()}
	assert.False(t, notApplied(management.Response{}, lost), "a request lost mid-way may have been applied")
	assert.True(t, isNetworkFailure(lost))
}
