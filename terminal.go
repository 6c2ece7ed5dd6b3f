package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
	"golang.org/x/time/rate"

	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
)

// isTerminal reports whether a stream is an interactive terminal: apply asks
// for confirmation and draws a live progress bar only there.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
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
				fmt.Fprintf(e.stderr, "\nrolesweep: %v: stopping; requests in flight may finish within %s (interrupt again to stop now)\n", sig, reconcile.GracePeriod)
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

// startProgress shows how far a run is: a live line on a terminal, a log
// line every so often otherwise. It returns the function that stops it.
func startProgress(e env, log *slog.Logger, p *reconcile.Progress, stats func() pacer.Stats) (stop func()) {
	live := e.terminal(e.stderr)
	poll := min(e.progressEvery, 250*time.Millisecond)
	every := rate.Sometimes{Interval: e.progressEvery}
	start := e.now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(poll)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if live {
					drawProgress(e.stderr, p, stats, start, e.now())
					fmt.Fprintln(e.stderr)
				}
				return
			case <-tick.C:
			}
			if live {
				drawProgress(e.stderr, p, stats, start, e.now())
				continue
			}
			every.Do(func() {
				if e.now().Sub(start) < e.progressEvery {
					return // Sometimes runs its first call at once; the first line waits a period
				}
				done, total := p.Done.Load(), p.Total.Load()
				elapsed := e.now().Sub(start).Seconds()
				log.Info("progress", "done", done, "total", total,
					"roles_per_second", fmt.Sprintf("%.1f", float64(done)/max(elapsed, 0.001)),
					"rate_limited", stats().RateLimited)
			})
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func drawProgress(w io.Writer, p *reconcile.Progress, stats func() pacer.Stats, start, now time.Time) {
	done, total := p.Done.Load(), p.Total.Load()
	elapsed := now.Sub(start).Seconds()
	perSecond := float64(done) / max(elapsed, 0.001)
	const width = 30
	filled := 0
	if total > 0 {
		filled = int(float64(width) * float64(done) / float64(total))
	}
	eta := "--:--"
	if perSecond > 0 && total >= done {
		secs := int(float64(total-done) / perSecond)
		eta = fmt.Sprintf("%d:%02d", secs/60, secs%60)
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d roles · %.1f/s · ETA %s · 429s %d ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, perSecond, eta, stats().RateLimited)
}

// interruptible returns a context that ends at the first interrupt (the
// sandbox command's graceful shutdown).
func interruptible(parent context.Context, signals <-chan os.Signal) (context.Context, context.CancelFunc) {
	ctx, _, stop := env{signals: signals, prompting: new(atomic.Bool)}.interrupts(parent, false)
	return ctx, stop
}
