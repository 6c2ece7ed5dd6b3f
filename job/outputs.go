package job

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/rolesweep/rolesweep/notify"
	"github.com/rolesweep/rolesweep/report"
)

// Outputs are what a run that changes the tenant (apply, undo) leaves for
// cron and CI once its exit code is known: report targets (written by the
// run itself), a metrics file and a notification.
type Outputs struct {
	Reports     []string // [FORMAT:]FILE; "-" is the JSON report on standard output
	MetricsFile string
	Notify      string // webhook URL; never echoed (for Slack, its path is the secret)
}

// Check refuses, before anything is sent, what could only fail at the end,
// and spells a bare "-" as json:-. Errors are *ConfigError (fields
// reports, metrics_file, notify).
func (o *Outputs) Check() error {
	toStdout := 0
	for i, r := range o.Reports {
		if r == "-" {
			o.Reports[i] = "json:-" // a bare - has no extension to name a format; JSON is the report
		}
		t, err := report.ParseTarget(o.Reports[i])
		if err != nil {
			return configErrorf("reports", "%v", err)
		}
		if t.Stdout() {
			toStdout++
		}
	}
	if toStdout > 1 {
		return configErrorf("reports", "only one report can go to standard output (-)")
	}
	if o.MetricsFile != "" {
		if err := report.CheckWritable(o.MetricsFile); err != nil {
			return configErrorf("metrics_file", "%v", err)
		}
	}
	if o.Notify != "" {
		u, err := url.Parse(o.Notify)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return configErrorf("notify", "must be an http:// or https:// URL")
		}
	}
	return nil
}

// ToStdout says whether a report goes to standard output, which then holds
// nothing else.
func (o Outputs) ToStdout() bool {
	for _, r := range o.Reports {
		if t, err := report.ParseTarget(r); err == nil && t.Stdout() {
			return true
		}
	}
	return false
}

// Deliver writes the metrics file and sends the notification of a finished
// run. Neither can change the run's exit code: what fails is logged.
func (o Outputs) Deliver(ctx context.Context, r *report.Report, exitCode int, log *slog.Logger) {
	if o.MetricsFile != "" {
		if err := report.WriteMetricsFile(o.MetricsFile, r, exitCode); err != nil {
			log.Warn("the metrics file was not written", "path", o.MetricsFile, "error", err.Error())
		}
	}
	if o.Notify != "" {
		if err := notify.Send(ctx, o.Notify, r, exitCode, nil); err != nil {
			log.Warn("the notification was not sent", "error", err.Error())
		}
	}
}

// LogEnd is the last record of a run's log: how it ended, in numbers (the
// report's summary with its JSON names), how long it took and where its
// evidence is.
func LogEnd(ctx context.Context, log *slog.Logger, command string, s Summary, o Outputs, exitCode int, took time.Duration) {
	r := s.Report
	level := slog.LevelInfo
	if exitCode != 0 {
		level = slog.LevelWarn
	}
	reports := s.Reports
	if reports == nil {
		reports = []string{}
	}
	attrs := []slog.Attr{
		slog.String("event", "end"), slog.String("command", command), slog.String("outcome", r.Outcome),
		slog.Int("exit_code", exitCode), slog.Float64("duration_seconds", took.Seconds()),
		slog.Any("summary", r.Summary), slog.Any("reports", reports),
	}
	if r.AbortReason != "" {
		attrs = append(attrs, slog.String("abort_reason", r.AbortReason))
	}
	if s.Journal != "" {
		attrs = append(attrs, slog.String("journal", s.Journal))
	}
	if o.MetricsFile != "" {
		attrs = append(attrs, slog.String("metrics_file", o.MetricsFile))
	}
	log.LogAttrs(ctx, level, fmt.Sprintf("%s ended: %s", command, r.Outcome), attrs...)
}
