package pacer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// sharedRows are issue 12's cases in simulated time, with the default
// flags (--reserve 20, --concurrency 64): two rolesweep processes on one
// tenant, steps off whole seconds, a per-minute bucket, and a neighbour
// using 30% of the refill. Each ideal is (N − (B − reserve)) / (usable
// refill), see scenario.usable.
func sharedRows() []scenario {
	def := Config{Reserve: 0.2}
	var rows []scenario
	for _, rtt := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond} {
		ms := rtt.Milliseconds()
		rows = append(rows,
			scenario{name: fmt.Sprintf("two-instances-50/16-continuous-%dms", ms), limit: 50, refill: 16, rtt: rtt, workers: 64, requests: 200, instances: 2, cfg: def},
			scenario{name: fmt.Sprintf("two-instances-50/16-step-%dms", ms), limit: 50, refill: 16, step: true, rtt: rtt, workers: 64, requests: 200, instances: 2, cfg: def},
			scenario{name: fmt.Sprintf("off-grid-24-per-1.5s-%dms", ms), limit: 50, refill: 16, step: true, period: 1500 * time.Millisecond, rtt: rtt, workers: 64, requests: 400, cfg: def},
			scenario{name: fmt.Sprintf("per-minute-10/150-step-%dms", ms), limit: 10, refill: 2.5, step: true, rtt: rtt, workers: 64, requests: 150, cfg: def},
			scenario{name: fmt.Sprintf("per-minute-10/150-continuous-%dms", ms), limit: 10, refill: 2.5, rtt: rtt, workers: 64, requests: 150, cfg: def},
			scenario{name: fmt.Sprintf("neighbour-30%%-50/16-continuous-%dms", ms), limit: 50, refill: 16, rtt: rtt, workers: 64, requests: 400, otherRate: 4.8, cfg: def},
			scenario{name: fmt.Sprintf("neighbour-30%%-50/16-step-%dms", ms), limit: 50, refill: 16, step: true, rtt: rtt, workers: 64, requests: 400, otherRate: 4.8, cfg: def},
		)
	}
	return rows
}

func TestSimulatedSharedBuckets(t *testing.T) {
	for _, sc := range sharedRows() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			r := runScenario(t, sc)
			limit := maxRatio
			if sc.instances > 1 {
				limit = 1.10
			}
			t.Logf("%s: %.3f × ideal %v, %.2f%% 429 (%d of %d), neighbour %d requests, %d 429", sc.name, r.ratio(), r.ideal, 100*r.share429(), r.limited, r.attempts, r.other, r.otherLimited)
			assert.LessOrEqual(t, r.ratio(), limit, "ratio to the ideal")
			assert.LessOrEqual(t, r.share429(), max429, "share of 429s")
			assert.Zero(t, r.failed, "failed Calls")
			assert.Zero(t, r.otherLimited, "429s the neighbour got")
		})
	}
}
