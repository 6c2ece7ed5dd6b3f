package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
)

// MetricsFilePerm is the metrics file's mode: node_exporter's textfile
// collector runs as its own user, and the file names no user (only counts).
const MetricsFilePerm os.FileMode = 0o644

// WriteMetrics writes the Prometheus text exposition format (version 0.0.4)
// of a finished run, for node_exporter's textfile collector: when it ended,
// how long it took, its exit code, the roles per status (every status of the
// command, zeros included, so an alert on failed > 0 sees the series), and
// the requests it made. Times come from the report, never from the clock.
func WriteMetrics(w io.Writer, r *Report, exitCode int) error {
	bw := bufio.NewWriter(w)
	metric := func(name, kind, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	}
	value := func(name, labels string, v float64) {
		fmt.Fprintf(bw, "%s%s %s\n", name, labels, strconv.FormatFloat(v, 'f', -1, 64))
	}
	finished := float64(r.FinishedAt.UnixMilli()) / 1000
	duration := max(r.FinishedAt.Sub(r.StartedAt).Seconds(), 0)
	success := 0.0
	if exitCode == 0 {
		success = 1
	}

	metric("rolesweep_last_run_timestamp_seconds", "gauge", "When the last rolesweep run finished, in Unix seconds.")
	value("rolesweep_last_run_timestamp_seconds", "", finished)
	metric("rolesweep_last_run_duration_seconds", "gauge", "How long the last rolesweep run took.")
	value("rolesweep_last_run_duration_seconds", "", duration)
	metric("rolesweep_last_run_exit_code", "gauge", "Exit code of the last rolesweep run (0 success, 1 failures, 2 usage, 3 aborted).")
	value("rolesweep_last_run_exit_code", "", float64(exitCode))
	metric("rolesweep_last_run_success", "gauge", "1 if the last rolesweep run exited 0, else 0.")
	value("rolesweep_last_run_success", "", success)
	metric("rolesweep_roles", "gauge", "Roles (user, organization, role triples) of the last run, by status.")
	for _, st := range Statuses(r.kindCommand()) {
		value("rolesweep_roles", `{status="`+string(st)+`"}`, float64(r.Summary.Count(st)))
	}
	metric("rolesweep_users", "gauge", "Distinct (organization, user) pairs of the last run.")
	value("rolesweep_users", "", float64(r.Summary.Users))
	metric("rolesweep_excluded_rows", "gauge", "Input rows the last run left out by --where.")
	value("rolesweep_excluded_rows", "", float64(r.Summary.Excluded))
	metric("rolesweep_requests_total", "counter", "Management API requests the last run made.")
	value("rolesweep_requests_total", "", float64(r.Summary.Requests))
	metric("rolesweep_retries_total", "counter", "Requests the last run retried.")
	value("rolesweep_retries_total", "", float64(r.Summary.Retries))
	metric("rolesweep_rate_limited_total", "counter", "Requests of the last run answered 429.")
	value("rolesweep_rate_limited_total", "", float64(r.Summary.RateLimited))
	return bw.Flush()
}

// WriteMetricsFile writes the metrics to path atomically (temporary file in
// the same directory, then rename), so the collector never reads half a file.
func WriteMetricsFile(path string, r *Report, exitCode int) error {
	return AtomicWrite(path, MetricsFilePerm, func(w io.Writer) error {
		return WriteMetrics(w, r, exitCode)
	})
}
