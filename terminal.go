package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/rolesweep/rolesweep/reconcile"
)

// isTerminal reports whether a stream is an interactive terminal: apply asks
// for confirmation and draws a live progress bar only there.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is the width of a terminal stream; 0 when unknown.
func terminalWidth(stream any) int {
	if f, ok := stream.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			return w
		}
	}
	return 0
}

// interrupts turns the first SIGINT/SIGTERM into the end of ctx (its cause
// an *reconcile.AbortError naming the signal) and the second into closing
// hurry, which ends the grace period of requests on the wire. announce says
// the grace period out loud, past apply's confirmation prompt.
func (e env) interrupts(parent context.Context, announce bool) (ctx context.Context, hurry <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	hurried := make(chan struct{})
	done := make(chan struct{})
	go func() {
		if e.signals == nil {
			return
		}
		select {
		case sig := <-e.signals:
			if announce && !e.prompting.Load() {
				e.notice(fmt.Sprintf("rolesweep: %v: stopping; requests in flight may finish within %s (interrupt again to stop now)", sig, reconcile.GracePeriod))
			}
			cancel(&reconcile.AbortError{Reason: "interrupted by " + sig.String()})
		case <-done:
			return
		}
		select {
		case <-e.signals:
			close(hurried)
		case <-done:
		}
	}()
	return ctx, hurried, func() {
		close(done)
		cancel(nil)
	}
}

// interruptible returns a context that ends at the first interrupt (the
// sandbox command's graceful shutdown).
func interruptible(parent context.Context, signals <-chan os.Signal) (context.Context, context.CancelFunc) {
	ctx, _, stop := env{signals: signals, prompting: new(atomic.Bool), state: &runState{}}.interrupts(parent, false)
	return ctx, stop
}
