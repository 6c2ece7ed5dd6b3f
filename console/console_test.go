package console

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func TestETAWaitsUntilItMeansSomething(t *testing.T) {
	m := NewMeter(t0)
	// A bucket's burst: 150 of 2000 roles in the first second, then the
	// refill rate, 16 a second, sampled every 250 ms.
	m.Observe(t0.Add(time.Second), 150)
	done := int64(150)
	for tick := 5; tick <= 40; tick++ {
		done += 4
		now := t0.Add(time.Duration(tick) * 250 * time.Millisecond)
		m.Observe(now, done)
		if _, ok := m.ETA(Counts{Done: done, Total: 2000}, now); tick < 40 {
			assert.False(t, ok, "no ETA after %v, at %d%%", now.Sub(t0), done*100/2000)
		} else {
			assert.True(t, ok)
		}
	}
	eta, _ := m.ETA(Counts{Done: done, Total: 2000}, t0.Add(10*time.Second))
	// The honest answer: (2000-294)/16 ≈ 107 s, not the burst's few seconds.
	assert.InDelta(t, 107, eta.Seconds(), 2, "eta %v, rate %.1f", eta, m.Rate())
	assert.InDelta(t, 16, m.Rate(), 0.1)
	assert.LessOrEqual(t, len(m.samples), 22, "one window of samples is kept")
}

func TestETAOnceTheRateIsKnown(t *testing.T) {
	m := NewMeter(t0)
	m.Observe(t0.Add(11*time.Second), 50)
	_, ok := m.ETA(Counts{Done: 50, Total: 10000}, t0.Add(11*time.Second))
	assert.True(t, ok)
	_, ok = m.ETA(Counts{Done: 0, Total: 10000}, t0.Add(11*time.Second))
	assert.True(t, ok, "the rate is known even if this sample has done nothing new")
	stalled := NewMeter(t0)
	_, ok = stalled.ETA(Counts{Done: 0, Total: 100}, t0.Add(time.Minute))
	assert.False(t, ok, "no rate, no ETA")
}

func TestBarShowsEverything(t *testing.T) {
	m := NewMeter(t0)
	m.Observe(t0.Add(20*time.Second), 500)
	line := Bar(Counts{Done: 500, Total: 1000, Failed: 3, RateLimited: 7}, m, t0.Add(20*time.Second))
	assert.Equal(t, "[############............] 500/1000 roles · 25.0/s · 0:20 elapsed · ETA 0:20 · failed 3 · 429s 7", line)
	assert.Equal(t, "1:01:01", clock(time.Hour+time.Minute+time.Second))
}

func TestScreenKeepsLogLinesAboveTheBar(t *testing.T) {
	var out bytes.Buffer
	s := NewScreen(&out, 0)
	s.Write([]byte("before any bar\n"))
	s.Status("[bar 1]")
	s.Write([]byte("level=WARN msg=retrying\n"))
	s.Write([]byte("half a "))
	s.Write([]byte("line\n"))
	s.Status("[bar 2]")
	s.Finish("[bar 3]")
	s.Write([]byte("after\n"))
	assert.Equal(t, "before any bar\n"+
		clearLine+"[bar 1]"+
		clearLine+"level=WARN msg=retrying\n[bar 1]"+
		clearLine+"half a line\n[bar 1]"+
		clearLine+"[bar 2]"+
		clearLine+"[bar 3]\n"+
		"after\n", out.String())
	// What a terminal shows: each \r\x1b[K erases the line, so the bar is
	// never in the middle of a log line.
	assert.Equal(t, "before any bar\nlevel=WARN msg=retrying\nhalf a line\n[bar 3]\nafter\n", render(out.String()))
}

// render plays a terminal's carriage return and erase-line.
func render(s string) string {
	var lines []string
	cur := ""
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, clearLine):
			cur, s = "", s[len(clearLine):]
		case s[0] == '\n':
			lines, cur, s = append(lines, cur), "", s[1:]
		default:
			cur, s = cur+s[:1], s[1:]
		}
	}
	return strings.Join(lines, "\n") + "\n" + cur
}

func TestScreenIsSafeForConcurrentWriters(t *testing.T) {
	var out bytes.Buffer
	s := NewScreen(&out, 0)
	s.Status("[bar]")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				s.Write([]byte("a log line\n"))
				s.Status("[bar]")
			}
		})
	}
	wg.Wait()
	s.Finish("[done]")
	assert.Equal(t, strings.Repeat("a log line\n", 400)+"[done]\n", render(out.String()))
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestProgressFinishUsesTheRunsCounts(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{now: t0}
	var counts Counts
	var mu sync.Mutex
	p := &Progress{Screen: NewScreen(&out, 0), Now: clk.Now, Counts: func() Counts { mu.Lock(); defer mu.Unlock(); return counts }, Tick: make(chan time.Time)}
	p.Start()
	mu.Lock()
	counts = Counts{Done: 600, Total: 2000}
	mu.Unlock()
	clk.Advance(10 * time.Second)
	p.Update()
	assert.Contains(t, out.String(), "600/2000 roles")
	// Interrupted: the report says 480 finished, and so does the last bar.
	p.Finish(Counts{Done: 480, Total: 2000})
	p.Finish(Counts{Done: 1, Total: 1})
	last := strings.TrimSuffix(render(out.String()), "\n")
	assert.Contains(t, last, "480/2000 roles")
	assert.True(t, strings.HasSuffix(out.String(), "\n"))
}

func TestProgressLogsRecordsWithNumbers(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{now: t0}
	done := int64(0)
	p := &Progress{Log: slog.New(slog.NewJSONHandler(&out, nil)), Now: clk.Now, Every: 10 * time.Second,
		Counts: func() Counts { return Counts{Done: done, Total: 100, Failed: 1, RateLimited: 2} }, Tick: make(chan time.Time)}
	p.Start()
	defer p.Stop()
	for range 3 {
		clk.Advance(5 * time.Second)
		done += 20
		p.Update()
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 1, "one record per 10 s: %s", out.String())
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	assert.Equal(t, "progress", rec["msg"])
	assert.Equal(t, 40.0, rec["done"])
	assert.Equal(t, 4.0, rec["roles_per_second"])
	assert.Equal(t, 10.0, rec["elapsed_seconds"])
	assert.Equal(t, 15.0, rec["eta_seconds"])
	assert.Equal(t, 1.0, rec["failed"])
}

func TestScreenCutsTheStatusToTheTerminal(t *testing.T) {
	var out bytes.Buffer
	s := NewScreen(&out, 10)
	s.Status("[####] 1/2 roles · 3.0/s")
	s.Finish("short")
	assert.Equal(t, clearLine+"[####] 1/"+clearLine+"short\n", out.String())
}
