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

// The ETA waits until it means something: this share of the run done, or
// this much time elapsed. Early in a run the bucket's burst makes the rate
// look several times faster than the refill it settles to.
const (
	etaAfterShare = 0.10
	etaAfterTime  = 10 * time.Second
	// smoothing is the time constant of the rate's exponential average: a
	// burst or a 429 pause moves it within seconds, not at once.
	smoothing = 10 * time.Second
)

// Meter turns counts sampled over time into a smoothed rate and an ETA. It
// is driven by the times it is given, never by the wall clock.
type Meter struct {
	start, lastAt time.Time
	lastDone      int64
	rate          float64 // roles per second, smoothed
	sampled       bool
}

// NewMeter starts measuring at start.
func NewMeter(start time.Time) *Meter { return &Meter{start: start, lastAt: start} }

// Observe records that done roles were finished at now.
func (m *Meter) Observe(now time.Time, done int64) {
	dt := now.Sub(m.lastAt)
	if dt <= 0 {
		return
	}
	inst := float64(done-m.lastDone) / dt.Seconds()
	if !m.sampled {
		m.rate, m.sampled = inst, true
	} else {
		alpha := 1 - math.Exp(-dt.Seconds()/smoothing.Seconds())
		m.rate += alpha * (inst - m.rate)
	}
	m.lastAt, m.lastDone = now, done
}

// Rate is the smoothed rate in roles per second.
func (m *Meter) Rate() float64 { return m.rate }

// Elapsed is the time since the start.
func (m *Meter) Elapsed(now time.Time) time.Duration { return max(0, now.Sub(m.start)) }

// ETA is the time left at the smoothed rate; false until it means something.
func (m *Meter) ETA(c Counts, now time.Time) (time.Duration, bool) {
	if c.Total <= 0 || m.rate <= 0 || c.Done >= c.Total {
		return 0, c.Total > 0 && c.Done >= c.Total
	}
	if float64(c.Done) < etaAfterShare*float64(c.Total) && m.Elapsed(now) < etaAfterTime {
		return 0, false
	}
	return time.Duration(float64(c.Total-c.Done) / m.rate * float64(time.Second)), true
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
