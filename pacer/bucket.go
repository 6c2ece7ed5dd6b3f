package pacer

import (
	"math"
	"slices"
	"sort"
)

// bucket is the pacer's picture of the tenant's token bucket, built only from
// the x-ratelimit-* headers of the answers. It has no lock and no clock of its
// own: the Pacer calls it under its mutex and passes times in as Unix seconds
// (float64, client clock).
//
// The picture is anchored on the freshest answer: it said how many tokens
// were left (remaining) when the tenant served that request. Every request
// sent after it, or still in flight when it came back, is assumed to take a
// token the anchor did not see, unless it came back 429 (a refused request
// takes none). What the tenant added since the anchor is predicted by one of
// two refill models, chosen by which one the answers contradict less:
//
//   - continuous: rate tokens a second, smoothly;
//   - step: perSecond tokens at once at every x-ratelimit-reset second.
//
// The refill is learned from Q = remaining + (tokens our own requests have
// taken up to that answer): Q only grows by refill, so its slope over time
// is the refill rate, and whether it grows inside one reset second or only
// from one reset second to the next tells the two models apart.
type bucket struct {
	limit int // x-ratelimit-limit; 0 until the first answer with headers

	anchor observation
	// anchorOlderOpen counts the requests older than the anchor that were
	// still in flight when it came back: the tenant may have served them
	// after it, so they count as unseen until the anchor moves on, less
	// those among them that came back 429 (anchorOlderRefused).
	anchorOlderOpen, anchorOlderRefused int

	// seq is the sequence number of the latest send (1-based, in send order).
	seq int64
	// open holds the requests in flight, by sequence number.
	open []sent
	// refused holds the sequence numbers of requests answered 429 (sorted):
	// they took no token.
	refused []int64
	// refusedBefore counts 429s dropped from refused, all older than any
	// sequence number still looked up.
	refusedBefore int64

	// runs are stretches of answers (in arrival order) between answers that
	// found the bucket full; refill into a full bucket is lost, so Q's growth
	// only measures the refill inside a run. The last one is still growing.
	runs []run

	rate float64 // continuous model: tokens per second
	// recent keeps the last answers' levels, to bound the rate from below
	// when one finds the bucket full; floor is the best such bound lately.
	recent         []levelAt
	floor, floorAt float64
	runTime        float64 // how many seconds of runs the rate comes from
	perSecond      float64 // step model: tokens added at each reset second
	steps          []float64
	stepMode       bool
	// contMode says refill was seen inside a reset second: the bucket is
	// continuous. Until one of the modes is settled, predictions take the
	// lower of the two models.
	contMode bool
	// stepVotes is the evidence for the step model (positive) against the
	// continuous one (negative), decayed.
	stepVotes float64
	// epochs gathers the answers by the reset second they named, oldest
	// first, until every request that could still name it has come back.
	epochs []epochStats
	judged epochStats // the last reset second judged

	last observation // the latest answer, in arrival order

	sentAt [1024]float64 // send times of recent requests, by sequence number

	rtts   [32]float64
	rttN   int
	oneWay float64 // conservative one-way latency (s)
	rttLo  float64
	rttHi  float64
}

// levelAt is an answer's remaining and when the tenant served it.
type levelAt struct {
	at, recv float64
	rem      int
}

// run is a stretch of answers between two that found the bucket full.
// Its ends' Q are each uncertain by the requests that may have been served
// in the other order (firstAmb, lastAmb).
type run struct {
	firstQ, firstAt, firstAmb float64
	lastQ, lastAt, lastAmb    float64
	lastRem                   int
	closed                    bool
}

// sent is a request in flight.
type sent struct {
	seq    int64
	at     float64 // when it left (Unix s)
	spared bool    // it left with tokens to spare: one of a burst
	// The tokens each refill model predicted it would find: a 429 tells
	// which of them was wrong.
	contLevel, stepLevel float64
	// olderClose counts the older requests in flight when it left that had
	// left so shortly before it that the tenant may serve them after it;
	// olderTogether those among them that left with it, in one burst.
	olderClose, olderTogether int
}

// epochStats sums up the answers that named one reset second. Inside one
// reset second a stepped bucket does not refill, so whatever order the
// tenant served them in, their remainings are exactly, … X-n, X
// being the level the step left: minR+n is X, and n-1-(maxR-minR) is the
// refill seen inside the second (0 for a stepped bucket).
type epochStats struct {
	epoch           float64
	n               int // answers that took a token
	minR, maxR      int
	firstAt, lastAt float64
	// sinceFull counts the same from the latest answer that found the
	// bucket full (full set), for measuring the refill rate: refill into a
	// full bucket is lost. The other counts keep every answer, for the step
	// model: dropping answers would make it think more tokens are left.
	sinceFull *epochStats
	full      bool
	contSeen  bool // refill was seen inside this second
}

// refilled is the refill seen inside the second (see epochStats): exact for
// a stepped bucket (0) and for a burst; for a continuous bucket off by how
// much the remainings wandered.
func (e epochStats) refilled() int { return (e.n - 1) - (e.maxR - e.minR) }

type observation struct {
	seq     int64
	at      float64 // estimated server time (Unix s) at which the tenant served it
	recv    float64 // when the answer came back (Unix s)
	rem     int     // x-ratelimit-remaining
	q       float64 // rem (+½, see observe) + tokens our requests had taken up to and including this one
	epoch   float64 // x-ratelimit-reset (Unix s)
	refused bool    // it was a 429
	full    bool    // it found the bucket full: refill just before it may have been lost
	// amb is how far q may be off because the tenant may have served
	// requests sent about the same time in another order.
	amb float64
}

const (
	// histSpan is how much history (server seconds) the rate windows use:
	// long enough that one token of rounding is a small error, short enough
	// to follow another client starting to use the same bucket.
	histSpan = 15.0
	// stepGuard is how long after a reset second a request should reach the
	// tenant before the step model counts that second's refill.
	stepGuard = 0.02
	// probeGap is the least time between probes while the refill is unknown.
	probeGap = 0.5
	// floorLife is how long a lower bound on the rate from a full bucket
	// counts (see raiseFloor); the tenant's refill may change.
	floorLife = 3.0
	// minCautiousLimit is the smallest bucket predicted by the lower of the
	// two refill models until one is settled (see undecided).
	minCautiousLimit = 8
	// together is how close two sends must be to count as one burst, whose
	// requests the tenant may serve in any order.
	together = 0.002
)

func (b *bucket) known() bool { return b.limit > 0 }

// send records a request leaving at now; spared says the model expected
// tokens to spare after it. It returns its sequence number.
func (b *bucket) send(now float64, spared bool) int64 {
	r := sent{seq: b.seq + 1, at: now, spared: spared}
	if b.known() {
		r.contLevel = b.levelBy(now, false)
		r.stepLevel = b.levelBy(now, true)
	}
	spread := b.spread()
	r.olderClose = len(b.open) - sort.Search(len(b.open), func(i int) bool { return b.open[i].at >= now-spread })
	r.olderTogether = len(b.open) - sort.Search(len(b.open), func(i int) bool { return b.open[i].at >= now-together })
	b.seq++
	b.open = append(b.open, r) // in increasing order
	b.sentAt[b.seq%int64(len(b.sentAt))] = now
	return b.seq
}

// spread is how much sooner one request may reach the tenant than another
// sent at the same time: the spread of recent round trips, plus a little so
// that requests sent together always count.
func (b *bucket) spread() float64 { return (b.rttHi-b.rttLo)/2 + 0.002 }

// newerClose counts the requests sent after seq (left at at) so shortly
// after it that the tenant may have served them before it, and those among
// them that left with it.
func (b *bucket) newerClose(seq int64, at float64) (close, with int) {
	spread := b.spread()
	for s := seq + 1; s <= b.seq && s-seq < int64(len(b.sentAt)); s++ {
		t := b.sentAt[s%int64(len(b.sentAt))]
		if t > at+spread {
			break
		}
		close++
		if t <= at+together {
			with++
		}
	}
	return close, with
}

// done removes a request from the in-flight set and returns it; for a 429 it
// remembers that it took no token.
func (b *bucket) done(seq int64, refused bool) sent {
	var s sent
	if i, ok := slices.BinarySearchFunc(b.open, seq, func(o sent, seq int64) int { return cmpInt(o.seq, seq) }); ok {
		s = b.open[i]
		b.open = slices.Delete(b.open, i, i+1)
	}
	if refused {
		i, _ := slices.BinarySearch(b.refused, seq)
		b.refused = slices.Insert(b.refused, i, seq)
		if seq < b.anchor.seq {
			b.anchorOlderRefused++
		}
	}
	return s
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// openBelow is how many requests in flight are older than seq.
func (b *bucket) openBelow(seq int64) int {
	return sort.Search(len(b.open), func(i int) bool { return b.open[i].seq >= seq })
}

// countAbove is how many of the sorted seqs are > seq.
func countAbove(seqs []int64, seq int64) int {
	return len(seqs) - sort.Search(len(seqs), func(i int) bool { return seqs[i] > seq })
}

// countBelow is how many of the sorted seqs are < seq.
func countBelow(seqs []int64, seq int64) int {
	return sort.Search(len(seqs), func(i int) bool { return seqs[i] >= seq })
}

// unseen is how many tokens our requests have taken, or may yet take, that
// the anchor's remaining does not reflect: everything sent after it that was
// not refused, and, in case the tenant served them after the anchor, the
// older requests that were in flight when it came back.
func (b *bucket) unseen() float64 {
	a := b.anchor
	return float64(b.seq-a.seq) - float64(countAbove(b.refused, a.seq)) + float64(b.anchorOlderOpen-b.anchorOlderRefused)
}

// seen is how many tokens the answers show are left for the next request,
// with no refill predicted.
func (b *bucket) seen() float64 {
	cont := float64(b.anchor.rem) - b.unseen()
	if len(b.epochs) == 0 || !(b.stepMode || b.undecided()) {
		return cont
	}
	base, _ := b.stepBase()
	step := math.Min(float64(b.limit), base) - float64(len(b.open))
	if b.stepMode {
		return step
	}
	return math.Min(cont, step)
}

// level predicts the tokens a request sent at now finds when it reaches the
// tenant, after every request already sent has taken its token: by the
// settled model, or the lower of the two.
func (b *bucket) level(now float64) float64 {
	if b.undecided() {
		return math.Min(b.levelBy(now, false), b.levelBy(now, true))
	}
	return b.levelBy(now, b.stepMode)
}

func (b *bucket) levelBy(now float64, step bool) float64 {
	if step && len(b.epochs) > 0 {
		base, epoch := b.stepBase()
		n := stepsBetween(epoch-1, epoch, now+b.oneWay)
		return math.Min(float64(b.limit), base+b.stepRefill(n)) - float64(len(b.open))
	}
	// Not capped at the end: compared with a need up to the limit, that
	// changes nothing, and a need above it asks how long the bucket has been
	// full (see cushion).
	level, at := b.replay()
	if arrive := now + b.oneWay; arrive > at {
		level += b.rate * (arrive - at)
	}
	return level
}

// replay runs the continuous model forward from the anchor through every
// unseen request, in the order the tenant is expected to serve them (each
// when it reaches it), refilling in between and capping at the limit as the
// tenant does. It returns the level after the last of them and when that
// is. Applying the cap only once, at the end, would assume every token of
// refill came before any of those requests, and so call the bucket full
// when requests in flight keep draining it.
func (b *bucket) replay() (level, at float64) {
	a := b.anchor
	limit := float64(b.limit)
	level, at = float64(a.rem), a.at
	if b.seq-a.seq >= int64(len(b.sentAt)) {
		return level - b.unseen(), at // far behind: no send times kept
	}
	// Older requests that may have been served after the anchor: at once.
	level -= float64(b.anchorOlderOpen - b.anchorOlderRefused)
	r := sort.Search(len(b.refused), func(i int) bool { return b.refused[i] > a.seq })
	for seq := a.seq + 1; seq <= b.seq; seq++ {
		if r < len(b.refused) && b.refused[r] == seq {
			r++
			continue // refused: took nothing
		}
		served := b.sentAt[seq%int64(len(b.sentAt))] + b.oneWay
		if served > at {
			level = math.Min(limit, level+b.rate*(served-at))
			at = served
		}
		level--
	}
	return level, at
}

// stepBase is, for the step model, the level the latest reset second will
// end at once every request answered in it is counted (requests still in
// flight are not), and that second. Its answers' remainings are, …
// in whatever order the tenant served them, so the highest is at most one
// below the level X the step left: the estimate never runs high, however
// much the answers were reordered.
func (b *bucket) stepBase() (base, epoch float64) {
	e := b.epochs[len(b.epochs)-1]
	if e.n == 0 {
		return 0, e.epoch // only 429s: nothing was left
	}
	return float64(e.maxR + 1 - e.n), e.epoch
}

// stepRefill is what n steps add by the step model: one token short, because
// a refill overestimated by one would have the last request of a reset
// second's burst refused, and its 429 would pause everybody until the next
// second. The answers to the others show that token anyway, one round trip
// later.
func (b *bucket) stepRefill(n int) float64 {
	if n == 0 {
		return 0
	}
	return math.Max(0, b.perSecond*float64(n)-1)
}

// stepsBetween counts the reset seconds (epoch, epoch+1, …) that fall after
// server time from and no later than to (less the guard).
func stepsBetween(from, epoch, to float64) int {
	first := epoch
	if first <= from {
		first += math.Floor(from-first) + 1
	}
	last := to - stepGuard
	if last < first {
		return 0
	}
	return int(math.Floor(last-first)) + 1
}

// nextAt is the earliest time at which level reaches need, or +Inf when the
// model cannot tell (no refill learned yet, or the cap stands in the way).
func (b *bucket) nextAt(now, need float64) float64 {
	if b.undecided() {
		return math.Max(b.nextAtBy(now, need, false), b.nextAtBy(now, need, true))
	}
	return b.nextAtBy(now, need, b.stepMode)
}

func (b *bucket) nextAtBy(now, need float64, step bool) float64 {
	if step && len(b.epochs) > 0 {
		open := float64(len(b.open))
		base, epoch := b.stepBase()
		if need+open > float64(b.limit) || b.perSecond <= 1 {
			return math.Inf(1)
		}
		n := math.Max(1, math.Ceil((need+open-base+1)/b.perSecond))
		return math.Max(now, epoch+(n-1)+stepGuard-b.oneWay)
	}
	level, at := b.replay()
	switch {
	case level >= need:
		return now
	case b.rate <= 0:
		return math.Inf(1) // no rate yet: wait for answers
	}
	return math.Max(now, at+(need-level)/b.rate-b.oneWay)
}

// cushion is how many tokens, beyond need, a request should find by the
// continuous model: what the prediction may be off by, from the timing
// of the answers it rests on (the spread of round trips). A 429 from a
// continuous bucket names the current second as its reset and so costs
// every worker MinWait; tokens left in a bucket that is not full cost
// nothing. It stays well below the limit, so that the bucket never
// overflows because of it, except when the reserve leaves no room below
// the limit (20% of a bucket of 2): then every request must wait for a full
// bucket, and the cushion is time past the moment it fills.
func (b *bucket) cushion(need float64) float64 {
	if b.stepMode {
		return 0 // the step model is exact; stepRefill already keeps a token back
	}
	c := 0.5 + b.rate*2*b.spread()
	if need >= float64(b.limit) {
		return c
	}
	return math.Max(0, math.Min(c, 0.1*(float64(b.limit)-need)))
}

// settled says the continuous rate comes from enough observation to be
// trusted over a probe.
func (b *bucket) settled() bool { return b.runTime >= 1 }

// probeAt is when a lone request may go out to find out what the model cannot
// predict: at the reset the anchor named, or, when that second had already
// begun at the tenant, a while after the last answer.
func (b *bucket) probeAt() float64 {
	a := b.anchor
	if a.epoch > a.at {
		return a.epoch + stepGuard - b.oneWay
	}
	return a.recv + probeGap
}

// observe takes in an answer with rate-limit headers to request r (just
// removed by done), answered at recv.
func (b *bucket) observe(r sent, recv float64, limit, rem int, epoch float64, refused bool) {
	b.noteRTT(recv - r.at)
	if limit != b.limit {
		if b.limit != 0 {
			// Another bucket (the tenant's plan changed, or another endpoint's
			// limit): what was learned is about something else.
			b.runs = b.runs[:0]
			b.rate, b.perSecond, b.stepMode, b.contMode, b.stepVotes = 0, 0, false, false, 0
			b.steps = b.steps[:0]
			b.epochs = b.epochs[:0]
			b.judged = epochStats{}
		}
		b.limit = limit
	}
	seq := r.seq
	o := observation{
		seq: seq, at: r.at + (recv-r.at)/2, recv: recv, rem: rem, epoch: epoch, refused: refused,
		q: float64(rem) + float64(seq) - float64(b.refusedBefore) - float64(len(b.refused)-countAbove(b.refused, seq)),
	}
	o.full = !refused && rem >= limit-1
	// Requests that left together with it may have been served in any
	// order: q may be off by all of them. Of those that left a little
	// before or after, some were overtaken and some were not: the error is
	// of the order of the square root of their number.
	close, with := b.newerClose(seq, r.at)
	with += r.olderTogether
	o.amb = float64(with) + math.Sqrt(float64(r.olderClose+close-with))
	if !o.full {
		// remaining is the level rounded down; a full bucket's level is
		// exact (the cap), any other is half a token more on average. Without
		// this, learning from stretches that start at a full bucket would
		// lose half a token each.
		o.q += 0.5
	}
	if seq > b.anchor.seq || b.anchor.seq == 0 {
		b.anchor = o
		b.anchorOlderOpen = b.openBelow(seq)
		b.anchorOlderRefused = 0
	}
	b.learnEpoch(o)
	b.learnRate(o, r.at, r.spared)
	if r.contLevel != 0 || r.stepLevel != 0 {
		b.judgeAnswer(r, o)
	}
	b.last = o
}

func (b *bucket) noteRTT(rtt float64) {
	if rtt < 0 {
		rtt = 0
	}
	b.rtts[b.rttN%len(b.rtts)] = rtt
	b.rttN++
	n := min(b.rttN, len(b.rtts))
	lo, hi := b.rtts[0], b.rtts[0]
	for _, r := range b.rtts[1:n] {
		lo = math.Min(lo, r)
		hi = math.Max(hi, r)
	}
	b.rttLo, b.rttHi = lo, hi
	// Less than half the fastest recent round trip: a request may reach the
	// tenant sooner than average, and then finds less refill.
	b.oneWay = 0.4 * lo
}

// reorder is how many of our requests the tenant may have served in another
// order than we sent them: those within the spread of recent round trips.
func (b *bucket) reorder() float64 {
	return b.rate * (b.rttHi - b.rttLo)
}

// learnRate updates the continuous refill estimate from a new answer.
func (b *bucket) learnRate(o observation, sentAt float64, spared bool) {
	// Runs: a full answer closes the current stretch; the next starts at the
	// next answer that can serve as an end. Answers to a burst cannot: the
	// tenant served a burst in any order, so how many of our requests it
	// had served before one of them is unknown.
	n := len(b.runs)
	open := n > 0 && !b.runs[n-1].closed
	switch {
	case o.full:
		if open {
			r := &b.runs[n-1]
			// A full bucket's level is exact, so ending the run here, not
			// at the answer before, loses nothing to rounding, provided
			// the bucket cannot have sat full for long: no longer than
			// the model takes to fill it from that answer.
			if fill := (float64(b.limit) - float64(r.lastRem) - 0.5) / b.rate; b.rate > 0 && !spared &&
				o.at > r.lastAt && o.at-r.lastAt <= fill+0.1 {
				r.lastQ, r.lastAt, r.lastAmb = o.q, o.at, o.amb
			}
			r.closed = true
		}
		if !spared { // a full bucket's level is exact: a good start
			b.runs = append(b.runs, run{firstQ: o.q, firstAt: o.at, firstAmb: o.amb, lastQ: o.q, lastAt: o.at, lastAmb: o.amb, lastRem: o.rem})
		}
	case spared:
	case !open:
		b.runs = append(b.runs, run{firstQ: o.q, firstAt: o.at, firstAmb: o.amb, lastQ: o.q, lastAt: o.at, lastAmb: o.amb, lastRem: o.rem})
	case o.at > b.runs[n-1].lastAt:
		r := &b.runs[n-1]
		r.lastQ, r.lastAt, r.lastAmb, r.lastRem = o.q, o.at, o.amb, o.rem
	}
	for len(b.runs) > 1 && b.runs[0].lastAt < o.at-histSpan {
		b.runs = b.runs[1:]
	}
	// Q's growth over time, over the runs of the last histSpan seconds.
	// Each run's ends are off by the requests served out of order, so when
	// there are runs long enough for that not to matter, only they count.
	var longQ, longT, allQ, allT float64
	for _, r := range b.runs {
		// Count each end's uncertainty against the growth: a rate learned
		// low costs little, one learned high costs 429s.
		dq := r.lastQ - r.firstQ - r.firstAmb - r.lastAmb
		dt := r.lastAt - r.firstAt
		if dt <= 0 {
			continue
		}
		allQ += dq
		allT += dt
		if dt >= 0.5 {
			longQ += dq
			longT += dt
		}
	}
	b.runTime = allT
	if longT >= 1 {
		b.rate = math.Max(0, longQ/longT)
		return
	}
	b.raiseFloor(o, sentAt)
	// Short runs only bootstrap the estimate, half a token low so that it
	// errs slow rather than into 429s; so does the refill seen while the
	// answers of one reset second were served, which needs no order, and so
	// works for the bursts of the first seconds.
	r := 0.0
	if allT >= 0.2 {
		r = (allQ - 0.5) / allT
	}
	b.rate = math.Max(0, math.Max(r, b.burstRate()))
	if o.at-b.floorAt <= floorLife {
		b.rate = math.Max(b.rate, b.floor)
	}
}

// raiseFloor bounds the refill rate from below when answer o (to a request
// sent at sentAt) found the bucket full: after an earlier answer p the level
// was below remaining+1, and by o it was the limit, so at least that many
// tokens came in between, whatever else happened (other clients, our own
// requests, in any order, only took tokens). Only answers that came back
// before o's request left count: those were surely served before it. The
// times are estimates, so the interval is widened by the spread of the
// round trips (at least a tenth of one, before that spread is known).
func (b *bucket) raiseFloor(o observation, sentAt float64) {
	if o.full {
		widen := 2 * math.Max(b.spread(), 0.1*b.rttLo)
		best := 0.0
		for _, p := range b.recent {
			if gap := o.at - p.at; gap > 0 && p.recv <= sentAt {
				best = math.Max(best, float64(b.limit-p.rem-1)/(gap+widen))
			}
		}
		if best > b.floor || o.at-b.floorAt > floorLife {
			b.floor, b.floorAt = best, o.at
		}
	}
	b.recent = append(b.recent, levelAt{at: o.at, recv: o.recv, rem: o.rem})
	if len(b.recent) > 256 {
		b.recent = b.recent[len(b.recent)-128:]
	}
}

// burstRate is the refill rate seen inside the reset seconds still kept,
// from their remainings alone (see epochStats), one token low.
func (b *bucket) burstRate() float64 {
	var got, span float64
	for _, e := range b.epochs {
		e := *e.sinceFull
		if e.n >= 3 && e.lastAt-e.firstAt >= 0.02 {
			got += float64(e.refilled())
			span += e.lastAt - e.firstAt
		}
	}
	if span == 0 {
		return 0
	}
	return (got - 1) / span
}

// judgeAnswer weighs an answer against the two refill models' predictions
// for its request. A model that promised more tokens than the tenant had
// (beyond what the answer's reordering can explain) is contradicted; if the
// other one was not, that one gains a vote. A 429 is exact (less than one
// token was left).
func (b *bucket) judgeAnswer(r sent, o observation) {
	contOver, stepOver, tol := 0.0, 0.0, 0.5+o.amb
	if o.refused {
		contOver, stepOver, tol = r.contLevel, r.stepLevel, 1
	} else {
		had := float64(o.rem) + 2 // more than the level it found
		contOver, stepOver = r.contLevel-had+1, r.stepLevel-had+1
	}
	switch {
	case contOver >= tol && stepOver < tol:
		b.vote(1)
	case stepOver >= tol && contOver < tol:
		b.vote(-1)
	}
}

// learnEpoch adds an answer to its reset second's summary, and judges the
// seconds no request in flight can still add to.
func (b *bucket) learnEpoch(o observation) {
	i := sort.Search(len(b.epochs), func(i int) bool { return b.epochs[i].epoch >= o.epoch })
	if i == len(b.epochs) || b.epochs[i].epoch != o.epoch {
		if i == 0 && len(b.epochs) > 0 {
			return // older than anything kept: already judged
		}
		start := epochStats{epoch: o.epoch, minR: o.rem, maxR: o.rem, firstAt: o.at, lastAt: o.at}
		start.sinceFull = &epochStats{epoch: o.epoch, minR: o.rem, maxR: o.rem, firstAt: o.at, lastAt: o.at}
		b.epochs = slices.Insert(b.epochs, i, start)
	}
	e := &b.epochs[i]
	e.add(o)
	b.stepFloor(i)
	if e.refilled() >= 1 && !e.contSeen {
		// A stepped bucket cannot refill inside a reset second, whatever
		// order its answers came in: this settles it.
		e.contSeen = true
		b.stepVotes = math.Min(b.stepVotes, -3)
		b.stepMode = false
		b.contMode = true
	}
	if o.full {
		// Refill before a full bucket was lost: the refill rate is
		// measured from here.
		*e.sinceFull = epochStats{epoch: o.epoch, minR: o.rem, maxR: o.rem, firstAt: o.at, lastAt: o.at, full: true}
	}
	e.sinceFull.add(o)
	b.trimEpochs()
}

// stepFloor raises the step size to what reset second i already proves: its
// highest remaining plus one is at most the level its step left, and the
// previous second's lowest remaining so far is at least the level before
// the step.
func (b *bucket) stepFloor(i int) {
	e := b.epochs[i]
	prev := b.judged
	if i > 0 {
		prev = b.epochs[i-1]
	}
	if e.n == 0 || prev.n == 0 || e.epoch <= prev.epoch {
		return
	}
	if floor := (float64(e.maxR+1) - float64(prev.minR)) / (e.epoch - prev.epoch); floor > b.perSecond {
		b.perSecond = floor
	}
}

func (e *epochStats) add(o observation) {
	e.minR = min(e.minR, o.rem)
	if !o.refused {
		e.n++
		e.maxR = max(e.maxR, o.rem)
	}
	e.firstAt = math.Min(e.firstAt, o.at)
	e.lastAt = math.Max(e.lastAt, o.at)
}

// trimEpochs judges the reset seconds no request in flight can add to.
func (b *bucket) trimEpochs() {
	// A second is complete once a later one has answers and nothing sent
	// before it ended is still in flight (a request sent later reaches the
	// tenant in a later second).
	oldestOpen := math.Inf(1)
	if len(b.open) > 0 {
		oldestOpen = b.open[0].at
	}
	for len(b.epochs) >= 2 && (oldestOpen >= b.epochs[0].epoch || len(b.epochs) > 8) {
		b.judgeEpoch(b.epochs[0])
		b.epochs = b.epochs[1:]
	}
}

// judgeEpoch judges a complete reset second: it votes for the model its
// answers support, and measures the step it began with, from the second
// judged before it.
func (b *bucket) judgeEpoch(e epochStats) {
	if e.n >= 2 {
		refilled := e.refilled()
		expect := b.rate * (e.lastAt - e.firstAt)
		if refilled == 0 && expect >= 3 {
			b.vote(1) // a continuous bucket would have shown refill
		}
	}
	if p := b.judged; p.n > 0 && e.epoch > p.epoch && (e.n > 0 || e.minR == 0) {
		// The level the step left, less the level the last second ended at.
		// Had the bucket overflowed, this is low, which is the safe side.
		step := (float64(e.minR+e.n) - float64(p.minR)) / (e.epoch - p.epoch)
		b.steps = append(b.steps, step)
		if len(b.steps) > 7 {
			b.steps = b.steps[1:]
		}
		b.perSecond = median(b.steps)
		if len(b.epochs) > 1 {
			b.stepFloor(len(b.epochs) - 1)
		}
	}
	b.judged = e
}

func (b *bucket) vote(v float64) {
	b.stepVotes = 0.8*b.stepVotes + v
	switch {
	case !b.stepMode && b.stepVotes >= 1.5 && b.perSecond > 1:
		b.stepMode, b.contMode = true, false
	case b.stepMode && b.stepVotes <= -1.5:
		b.stepMode, b.contMode = false, true
	}
}

// undecided says neither refill model has been settled yet and predictions
// should take the lower of the two, so that a wrong guess cannot cost 429s
// or dig into the reserve. A bucket of some size settles it within a
// second or two: several answers come back within each reset second, and a
// continuous bucket shows refill among them. A tiny bucket (Free's 2) gives
// too few answers per second for that, and there the lower model would
// leave it to overflow; the continuous model goes first, and the first 429s
// against it settle the matter.
func (b *bucket) undecided() bool {
	return !b.stepMode && !b.contMode && len(b.epochs) > 0 && b.limit >= minCautiousLimit
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// learnedRate is the refill rate of the model in use, tokens per second.
func (b *bucket) learnedRate() float64 {
	if b.stepMode {
		return b.perSecond
	}
	return b.rate
}
