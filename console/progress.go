package console

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
)

// Counts is how far a run is, in roles.
type Counts struct {
	Done, Total, Failed int64
	RateLimited         int
}

const (
	// window is what the rate is averaged over: long enough to smooth the
	// ticks and a 429's pause, short enough that the bucket's first burst
	// (a rate several times the refill it settles to) soon leaves it.
	window = 5 * time.Second
	// etaAfter is when the ETA starts to mean something: the burst is out
	// of the window by then. Before, the bar says --:--.
	etaAfter = 2 * window
)

type sample struct {
	at   time.Time
	done int64
}

// Meter turns counts sampled over time into a rate averaged over the last
// few seconds and an ETA. It is driven by the times it is given, never by
// the wall clock, and keeps only the samples of one window.
type Meter struct {
	start   time.Time
	samples []sample // oldest first; the first is at or before the window's start
}

// NewMeter starts measuring at start.
func NewMeter(start time.Time) *Meter { return &Meter{start: start, samples: []sample{{start, 0}}} }

// Observe records that done roles were finished at now.
func (m *Meter) Observe(now time.Time, done int64) {
	if last := m.samples[len(m.samples)-1]; !now.After(last.at) {
		return
	}
	m.samples = append(m.samples, sample{now, done})
	cut := 0
	for cut+1 < len(m.samples) && !m.samples[cut+1].at.After(now.Add(-window)) {
		cut++
	}
	m.samples = append(m.samples[:0], m.samples[cut:]...)
}

// Rate is roles per second over the last window.
func (m *Meter) Rate() float64 {
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	if dt := last.at.Sub(first.at).Seconds(); dt > 0 {
		return float64(last.done-first.done) / dt
	}
	return 0
}

// Elapsed is the time since the start.
func (m *Meter) Elapsed(now time.Time) time.Duration { return max(0, now.Sub(m.start)) }

// ETA is the time left at the current rate; false until it means something.
func (m *Meter) ETA(c Counts, now time.Time) (time.Duration, bool) {
	if c.Total > 0 && c.Done >= c.Total {
		return 0, true
	}
	rate := m.Rate()
	if c.Total <= 0 || rate <= 0 || m.Elapsed(now) < etaAfter {
		return 0, false
	}
	return time.Duration(float64(c.Total-c.Done) / rate * float64(time.Second)), true
}

// Bar is the status line: done/total, rate, elapsed, ETA, failed, 429s.
func Bar(c Counts, m *Meter, now time.Time) string {
	const width = 24
	filled := 0
	if c.Total > 0 {
		filled = int(min(1, float64(c.Done)/float64(c.Total)) * width)
	}
	eta := "ETA --:--"
	if d, ok := m.ETA(c, now); ok {
		eta = "ETA " + clock(d)
	}
	return fmt.Sprintf("[%s%s] %d/%d roles · %.1f/s · %s elapsed · %s · failed %d · 429s %d",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), c.Done, c.Total,
		m.Rate(), clock(m.Elapsed(now)), eta, c.Failed, c.RateLimited)
}

// clock is m:ss, or h:mm:ss past an hour.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// Progress shows a run's progress: on a Screen, a bar redrawn every Poll;
// otherwise a "progress" log record every Every.
type Progress struct {
	Screen *Screen      // nil when standard error is not a terminal
	Log    *slog.Logger // for the records when Screen is nil
	Now    func() time.Time
	Every  time.Duration
	Poll   time.Duration
	Counts func() Counts
	// Tick, when set, replaces the ticker (tests).
	Tick <-chan time.Time

	meter    *Meter
	lastLog  time.Time
	stop     chan struct{}
	wg       sync.WaitGroup
	finished sync.Once
}

// Start begins showing; Stop ends it. The final line is drawn by Finish
// with the run's own counts, so that it agrees with the summary.
func (p *Progress) Start() {
	start := p.Now()
	p.meter, p.lastLog, p.stop = NewMeter(start), start, make(chan struct{})
	p.wg.Go(func() {
		tick := p.Tick
		if tick == nil {
			t := time.NewTicker(p.Poll)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-p.stop:
				return
			case <-tick:
				p.Update()
			}
		}
	})
}

// Update samples the counts and shows them, as one tick does.
func (p *Progress) Update() {
	now, c := p.Now(), p.Counts()
	p.meter.Observe(now, c.Done)
	if p.Screen != nil {
		p.Screen.Status(Bar(c, p.meter, now))
		return
	}
	if now.Sub(p.lastLog) < p.Every {
		return
	}
	p.lastLog = now
	attrs := []any{"done", c.Done, "total", c.Total, "failed", c.Failed, "rate_limited", c.RateLimited,
		"roles_per_second", math.Round(p.meter.Rate()*10) / 10, "elapsed_seconds", math.Round(p.meter.Elapsed(now).Seconds())}
	if eta, ok := p.meter.ETA(c, now); ok {
		attrs = append(attrs, "eta_seconds", math.Round(eta.Seconds()))
	}
	p.Log.Info("progress", attrs...)
}

// Stop ends the updates; the last bar stays until Finish.
func (p *Progress) Stop() {
	if p.stop == nil {
		return
	}
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}

// Finish stops and, on a terminal, draws the last bar with c, the counts
// of the run's report, and ends its line. Later calls do nothing.
func (p *Progress) Finish(c Counts) {
	p.Stop()
	p.finished.Do(func() {
		if p.Screen == nil || p.meter == nil {
			return
		}
		now := p.Now()
		p.meter.Observe(now, c.Done)
		p.Screen.Finish(Bar(c, p.meter, now))
	})
}
