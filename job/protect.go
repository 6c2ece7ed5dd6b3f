package job

import (
	"os"

	"github.com/rolesweep/rolesweep/report"
)

// discard closes and removes a journal that recorded nothing: the run was
// refused after the journal was created but before anything was sent, so
// there is nothing to resume and the next run must not be told there is.
// A resumed journal is kept: it still holds the earlier run.
func (jr *journalRun) discard() {
	if jr.writer == nil {
		return
	}
	_ = jr.writer.Close()
	jr.writer = nil
	if !jr.resuming {
		_ = os.Remove(jr.path)
	}
}

// nothingToRetry reports whether a finished run left nothing a resume could
// change: no failed and no skipped rows, only protected ones, which a resume
// would withhold again. Keeping their journal would only refuse the next
// scheduled run on the same report path.
func nothingToRetry(r *report.Report) bool {
	return r.Command == "apply" && r.Outcome != report.Aborted && r.Summary.Failed == 0 && r.Summary.Skipped == 0
}
