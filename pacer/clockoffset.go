package pacer

import (
	"math"
	"time"
)

// clockOffset estimates the tenant's clock minus ours from its Date headers.
// The tenant stamped Date (whole seconds, rounded down) at some moment
// between our send and the answer's arrival, so each answer bounds the
// offset to [Date − received, Date + 1s − sent]; the intersection over the
// recent answers narrows it to about the round trip. Answers that do not
// fit the intersection (the tenant's clock stepped, or ours did) start it
// over.
type clockOffset struct {
	lo, hi float64 // seconds
	n      int
}

func (c *clockOffset) observe(date, sent, recv time.Time) {
	d := float64(date.Unix())
	lo := d - float64(recv.UnixNano())/1e9
	hi := d + 1 - float64(sent.UnixNano())/1e9
	if c.n == 0 || lo > c.hi || hi < c.lo {
		c.lo, c.hi, c.n = lo, hi, 1
		return
	}
	c.lo, c.hi = math.Max(c.lo, lo), math.Min(c.hi, hi)
	c.n++
}

// offset is the midpoint of the interval; ok once an answer was seen.
func (c *clockOffset) offset() (float64, bool) {
	if c.n == 0 {
		return 0, false
	}
	return (c.lo + c.hi) / 2, true
}
