package pacer

import (
	"math"
	"slices"
	"sort"
)

// bucket is the pacer's picture of the tenant's token bucket, built only from
// the x-ratelimit-* headers of the answers. It has no lock and no clock of its
// own: the Pacer calls it under its mutex, with times in float64 seconds.
//
// Prediction. The freshest answer (the latest sent) is the anchor: its
// remaining is what the tenant had left when it served it. Every request
// sent since, and every older one the tenant may have served after it
// (still in flight, or sent so close to it that they may have swapped
// places), takes a token the anchor does not show, unless answered 429. The
// refill since is predicted by one of two models:
//
//   - continuous: rate tokens a second. The unseen requests are replayed in
//     the order they reach the tenant, refilling in between and capping at
//     the limit as the tenant does, with send times as the clock (see
//     replay), so no one-way latency needs estimating;
//   - step: perSecond tokens at each x-ratelimit-reset second, all at once.
//     Inside one reset second such a bucket does not refill, so the lowest
//     remaining of that second's answers is where it stands, however the
//     answers were reordered.
//
// Learning. Q = remaining + the tokens our requests took up to that answer
// only grows by refill (others' requests make it grow slower, so what is
// learned is the refill left to us). The continuous rate is Q's growth over
// time, over "runs" of answers between answers that found the bucket full
// (refill into a full bucket is lost), each end discounted by how many
// requests may have been served in the other order. Until runs of a second
// or more exist, it is bootstrapped from the answers of single reset seconds
// (for n answers, the refill among them is n-1-(maxR-minR), whatever their
// order) and from lower bounds proven by full buckets. The step size is the
// level a step left (lowest remaining plus answers in that second) less the
// level the second before ended at.
//
// Choosing. Refill inside one reset second is impossible for a stepped
// bucket, and so is a reset that is not in the second after the one the
// request was served in: seeing either settles "continuous". An answer that
// found fewer tokens than one model promised, and not fewer than the other
// promised, votes for the other; enough votes settle "step". Until settled,
// a bucket of some size is predicted by the lower of the two models, so that
// a wrong guess costs neither 429s nor the reserve; a tiny one (Free's 2
// tokens) by the continuous model, since the lower model would let it
// overflow and it answers too rarely to settle the question otherwise: on a
// stepped bucket the continuous model's first one or two 429s settle it.
type bucket struct {
	limit int // x-ratelimit-limit; 0 until the first answer with headers

	anchor observation
	// anchorOlderOpen counts the requests older than the anchor that the
	// tenant may have served after it (see observe): they count as unseen
	// until the anchor moves on, less those among them that came back 429
	// (anchorOlderRefused).
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
	bootT          float64 // how many seconds of short runs the bootstrap came from
	perSecond      float64 // step model: tokens added at each reset second
	steps          []float64
	stepMode       bool
	// contMode says the answers proved the bucket continuous (see judgeReset
	// and learnEpoch). Until one of the modes is settled, predictions take
	// the lower of the two models (see undecided).
	contMode bool
	// contProofAt and prevProofAt are when the answers last proved that
	// the bucket does not step at the reset seconds (see judgeReset): while
	// such proofs keep coming (provenContinuous) no vote switches to the
	// step model. Steps off whole seconds (24
	// every 1.5 s) look like whole-second steps in some seconds and prove
	// otherwise in others; without this the class flips with every one.
	contProofAt, prevProofAt float64
	// contended says another client spent tokens before any refill was
	// known: the first burst is shared too (see Pacer.admitLocked).
	contended bool
	// stepVotes is the evidence for the step model (positive) against the
	// continuous one (negative), decayed.
	stepVotes float64
	// epochs gathers the answers by the reset second they named, oldest
	// first, until every request that could still name it has come back.
	epochs []epochStats
	judged epochStats // the last reset second judged

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
	at     float64 // when it left (model seconds, see Pacer.sec)
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
	sent    float64 // when its request left
	at      float64 // when the tenant served it, estimated as halfway through the round trip
	recv    float64 // when the answer came back
	rem     int     // x-ratelimit-remaining
	q       float64 // rem (+½, see observe) + tokens our requests had taken up to and including this one
	epoch   float64 // x-ratelimit-reset, in model seconds
	refused bool    // it was a 429
	full    bool    // it found the bucket full: refill just before it may have been lost
	// amb is how far q may be off because the tenant may have served
	// requests sent about the same time in another order; together says
	// some of them left at the same moment, in one burst.
	amb      float64
	together bool
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
	// skewMargin allows for the tenant's clock being off ours when a reset
	// second is compared with our times.
	skewMargin = 0.05
	// together is how close two sends must be to count as one burst, whose
	// requests the tenant may serve in any order.
	together = 0.002
	// contProofLife: see bucket.contProofAt.
	contProofLife = 30.0
)

func (b *bucket) known() bool { return b.limit > 0 }

// send records a request leaving at now; spared says the model expected
// tokens to spare after it. It returns its sequence number.
func (b *bucket) send(now float64, spared bool) int64 {
	r := sent{seq: b.seq + 1, at: now, spared: spared}
	if b.known() {
		r.contLevel = math.Min(float64(b.limit), b.levelBy(now, false))
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
	for s := max(seq+1, b.seq-int64(len(b.sentAt))+1); s <= b.seq; s++ {
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

// models lists the refill models a prediction must satisfy: the settled
// one, or both while undecided.
func (b *bucket) models() []bool {
	switch {
	case b.undecided():
		return []bool{false, true}
	case b.stepMode:
		return []bool{true}
	}
	return []bool{false}
}

// fits says whether a request sent at now finds need tokens when it reaches
// the tenant, after every request already sent has taken its token, by each
// model in use, each with its own margin (see cushion); spare says it finds
// one more besides.
func (b *bucket) fits(now, need float64) (ok, spare bool) {
	ok, spare = true, true
	for _, step := range b.models() {
		level, want := b.levelBy(now, step), need+b.cushion(need, step)
		ok = ok && level >= want
		spare = spare && level >= want+1
	}
	return ok, spare
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
	if arrive := now - b.spread(); arrive > at {
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
//
// Times here are send times: wherever in its round trip the tenant serves
// a request, it does so at about the same point for every request, so the
// refill between two of them is the time between their sends, and no
// estimate of the one-way latency is needed (its error would make every
// prediction late or early). The round trips' spread is allowed for by the
// caller.
func (b *bucket) replay() (level, at float64) {
	a := b.anchor
	limit := float64(b.limit)
	level, at = float64(a.rem), a.sent
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
		served := b.sentAt[seq%int64(len(b.sentAt))]
		if served > at {
			level = math.Min(limit, level+b.rate*(served-at))
			at = served
		}
		level--
	}
	return level, at
}

// stepBase is, for the step model, the level the latest reset second is at
// after every request answered in it (requests still in flight are not
// counted), and that second: the lowest remaining among its answers. No
// refill comes inside the second, so that answer was served last of them,
// whatever order they came back in; when we are the bucket's only client it
// equals maxR+1-n, and when others take tokens too it counts what they took
// before it. While answers are missing it is lower than the truth, by the
// requests still in flight that were served before it: the safe side.
func (b *bucket) stepBase() (base, epoch float64) {
	e := b.epochs[len(b.epochs)-1]
	return float64(e.minR), e.epoch
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

// nextAt is the earliest time at which fits will hold, or +Inf when a model
// cannot tell (no refill learned yet, or the cap stands in the way).
func (b *bucket) nextAt(now, need float64) float64 {
	at := now
	for _, step := range b.models() {
		at = math.Max(at, b.nextAtBy(now, need+b.cushion(need, step), step))
	}
	return at
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
	return math.Max(now, at+(need-level)/b.rate+b.spread())
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
func (b *bucket) cushion(need float64, step bool) float64 {
	if step {
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
// begun at the tenant or the bucket is known to be continuous, a while after
// the last answer.
func (b *bucket) probeAt() float64 {
	a := b.anchor
	if a.epoch > a.at && !b.contMode { // a continuous bucket's reset second says little
		// A reset far off (a clock gone wrong, a bogus header) does not
		// park the run: no longer than a pause after a 429 would.
		return math.Min(a.epoch+stepGuard-b.oneWay, a.recv+maxPause.Seconds())
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
		seq: seq, sent: r.at, at: r.at + (recv-r.at)/2, recv: recv, rem: rem, epoch: epoch, refused: refused,
		q: float64(rem) + float64(seq) - float64(b.refusedBefore) - float64(len(b.refused)-countAbove(b.refused, seq)),
	}
	o.full = !refused && rem >= limit-1
	// Requests that left together with it may have been served in any
	// order: q may be off by all of them. Of those that left a little
	// before or after, some were overtaken and some were not: the error is
	// of the order of the square root of their number.
	close, with := b.newerClose(seq, r.at)
	with += r.olderTogether
	o.together = with > 0
	o.amb = float64(with) + math.Sqrt(float64(r.olderClose+close-with))
	if !o.full {
		// remaining is the level rounded down; a full bucket's level is
		// exact (the cap), any other is half a token more on average. Without
		// this, learning from stretches that start at a full bucket would
		// lose half a token each.
		o.q += 0.5
	}
	if !refused && b.rate == 0 && o.q-0.5+o.amb < float64(limit)-0.5 {
		// Before any refill is known, the tenant shows fewer tokens than
		// our own requests explain: someone else spends the bucket too.
		b.contended = true
	}
	if seq > b.anchor.seq || b.anchor.seq == 0 {
		b.anchor = o
		// Older requests the tenant may have served after this one: those
		// still in flight, and those that left so shortly before it that
		// they may have been overtaken, even if answered already: all that
		// left with it in one burst, half of those a little earlier.
		b.anchorOlderOpen = max(b.openBelow(seq), r.olderTogether+(r.olderClose-r.olderTogether+1)/2)
		b.anchorOlderRefused = 0
	}
	b.judgeReset(o, r.at)
	b.learnEpoch(o)
	b.learnRate(o, r.at, r.spared)
	if r.contLevel != 0 || r.stepLevel != 0 {
		b.judgeAnswer(r, o)
	}
	b.forgetRefused()
}

// judgeReset: a bucket refilled at every whole second names as its reset
// the second after the one it served the request in, always. The tenant
// served it between sentAt and the answer; a reset not after that, or more
// than a second after it, settles the model as continuous (a continuous
// bucket does both: the second of its next token, rounded down, is often the
// current one; rounded up, it is sometimes two seconds on). A full bucket
// is left out: it has no next refill, and may name the current second.
func (b *bucket) judgeReset(o observation, sentAt float64) {
	if o.rem >= b.limit-1 || b.contMode {
		return
	}
	if o.epoch <= sentAt-skewMargin || o.epoch > o.recv+1+skewMargin {
		b.settleContinuous()
		b.proveContinuous(o.at)
	}
}

// proveContinuous notes a proof that the bucket does not step at the
// reset seconds, in a reset second other than the last proof's.
func (b *bucket) proveContinuous(at float64) {
	b.contProofAt = at
}

// provenContinuous says proofs keep coming: two in seconds of their own,
// within contProofLife of each other and of now. One alone (the first
// answers of a run, served while the bucket was full) does not hold the
// step model back.
func (b *bucket) provenContinuous() bool {
	return b.contProofAt > 0 && b.anchor.at-b.contProofAt <= contProofLife
}

// settleContinuous records proof that the bucket refills continuously.
func (b *bucket) settleContinuous() {
	b.stepVotes = math.Min(b.stepVotes, -3)
	b.stepMode = false
	b.contMode = true
}

// forgetRefused folds the 429s older than anything still looked up (the
// anchor, the requests in flight) into a count.
func (b *bucket) forgetRefused() {
	oldest := b.anchor.seq
	if len(b.open) > 0 {
		oldest = min(oldest, b.open[0].seq)
	}
	k := sort.Search(len(b.refused), func(i int) bool { return b.refused[i] >= oldest })
	if k > 64 {
		b.refusedBefore += int64(k)
		b.refused = slices.Delete(b.refused, 0, k)
	}
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
			if fill := (float64(b.limit) - float64(r.lastRem) - 0.5) / b.rate; b.rate > 0 && !spared && !o.together &&
				o.at > r.lastAt && o.at-r.lastAt <= fill+0.1 {
				r.lastQ, r.lastAt, r.lastAmb = o.q, o.at, o.amb
			}
			r.closed = true
		}
		if !spared && !o.together { // a full bucket's level is exact: a good start
			b.runs = append(b.runs, run{firstQ: o.q, firstAt: o.at, firstAmb: o.amb, lastQ: o.q, lastAt: o.at, lastAmb: o.amb, lastRem: o.rem})
		}
	case spared, o.together:
		// Sent with others at once: the tenant served them in any order.
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
	b.raiseFloor(o, sentAt)
	if longT >= 1 {
		b.rate = math.Max(0, longQ/longT)
	} else {
		// Until there are long runs, the estimate is bootstrapped, erring
		// low: from the short runs, half a token low, unless they rest on
		// less observation than the estimate in use (older runs left the
		// window); and from the refill seen while the answers of one reset
		// second were served, which needs no order and so works for the
		// bursts of the first seconds (burstRate). With nothing to go on
		// (every answer finds the bucket full, as when the reserve takes all
		// but one token) the last estimate stands.
		r, evidence := 0.0, false
		if allT >= 0.2 && allT >= 0.8*b.bootT {
			r, evidence = (allQ-0.5)/allT, true
			b.bootT = allT
		}
		if burst, ok := b.burstRate(); ok {
			r, evidence = math.Max(r, burst), true
		}
		if evidence {
			b.rate = math.Max(0, r)
		}
	}
	// A lower bound proven by a full bucket lately (raiseFloor) holds
	// whatever the estimate says.
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
	drop := 0
	for drop < len(b.recent) && (b.recent[drop].at < o.at-floorLife || len(b.recent)-drop > 256) {
		drop++
	}
	b.recent = b.recent[drop:]
}

// burstRate is the refill rate seen inside the reset seconds still kept,
// from their remainings alone (see epochStats), one token low; ok is false
// when there is nothing to measure it from.
func (b *bucket) burstRate() (rate float64, ok bool) {
	var got, span float64
	for _, e := range b.epochs {
		e := *e.sinceFull
		if e.n >= 3 && e.lastAt-e.firstAt >= 0.02 {
			got += float64(e.refilled())
			span += e.lastAt - e.firstAt
		}
	}
	if span == 0 {
		return 0, false
	}
	return (got - 1) / span, true
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
		// It found between remaining+1 and remaining+2 tokens: a promise
		// above that is contradicted.
		most := float64(o.rem) + 2
		contOver, stepOver = r.contLevel-most, r.stepLevel-most
	}
	switch {
	case contOver >= tol && stepOver < tol:
		b.vote(1)
	case stepOver >= tol && contOver < tol:
		b.vote(-1)
		if o.refused {
			// A 429 where the step model promised a token: the steps are
			// not where the reset seconds put them (off whole seconds).
			b.proveContinuous(o.at)
		}
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
		b.settleContinuous()
		b.proveContinuous(o.at)
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
	// The level the step left, less the level the last second ended at.
	// Had the bucket overflowed, this is low, which is the safe side; but
	// when seconds without answers lie between and the steps filled the
	// bucket, the cap hides how much each step brought: no sample.
	if p := b.judged; p.n > 0 && e.epoch > p.epoch && (e.n > 0 || e.minR == 0) &&
		(e.epoch-p.epoch < 1.5 || e.minR+e.n < b.limit) {
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
	case !b.stepMode && b.stepVotes >= 1.5 && b.perSecond > 1 && !b.provenContinuous():
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
