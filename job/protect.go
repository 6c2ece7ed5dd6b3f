package job

import "os"

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
