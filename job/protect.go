package job

import "github.com/rolesweep/rolesweep/report"

// nothingToRetry reports whether a finished run left nothing a resume could
// change: no failed and no skipped rows, only protected ones, which a resume
// would withhold again. Keeping their journal would only refuse the next
// scheduled run on the same report path.
func nothingToRetry(r *report.Report) bool {
	return r.Command == "apply" && r.Outcome != report.Aborted && r.Summary.Failed == 0 && r.Summary.Skipped == 0
}
