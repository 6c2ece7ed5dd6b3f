package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/notify"
	"github.com/rolesweep/rolesweep/report"
)

// runState is what one invocation learns while its command runs and needs
// once the exit code is known: how to talk on stderr, and what a run left
// behind for the summary, the metrics file, the notification and the
// end-of-run event.
type runState struct {
	log     *slog.Logger // the command's logger, once it has one
	json    bool         // --log-format json: every stderr line is a JSON record
	quiet   bool
	command string // the run's command (apply, undo), once it started
	out     outputs
	started time.Time
	summary *job.Summary // set when the run wrote its report
}

// outputs are the evidence flags (outputFlags) of a run that changes the
// tenant: apply and undo.
type outputs struct {
	Reports     []string
	MetricsFile string
	Notify      string
}

// parseOutputs reads outputFlags and refuses, before anything is sent, what
// could only fail at the end. The notify URL is never echoed: for Slack its
// path is the secret.
func parseOutputs(c *cli.Context) (outputs, error) {
	o := outputs{Reports: c.StringSlice("report"), MetricsFile: c.String("metrics-file"), Notify: c.String("notify")}
	toStdout := 0
	for i, r := range o.Reports {
		if r == "-" {
			o.Reports[i] = "json:-" // a bare - has no extension to name a format; JSON is the report
		}
		t, err := report.ParseTarget(o.Reports[i])
		if err != nil {
			return o, usagef("--report: %v", err)
		}
		if t.Stdout() {
			toStdout++
		}
	}
	if toStdout > 1 {
		return o, usagef("--report: only one report can go to standard output (-)")
	}
	if o.MetricsFile != "" {
		if err := report.CheckWritable(o.MetricsFile); err != nil {
			return o, usagef("--metrics-file: %v", err)
		}
	}
	if o.Notify != "" {
		u, err := url.Parse(o.Notify)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return o, usagef("--notify: must be an http:// or https:// URL")
		}
	}
	return o, nil
}

// toStdout says whether a report goes to standard output, which then holds
// nothing else.
func (o outputs) toStdout() bool {
	for _, r := range o.Reports {
		if t, err := report.ParseTarget(r); err == nil && t.Stdout() {
			return true
		}
	}
	return false
}

// began records that a run of command started, with these outputs.
func (e env) began(command string, o outputs) {
	e.state.command, e.state.out, e.state.started = command, o, e.now()
}

// ended records what the run left behind; the summary, metrics,
// notification and end event follow once the exit code is known.
func (e env) ended(s job.Summary) { e.state.summary = &s }

// logger is the command's logger, or one in the asked format for what is
// found before the command made its own.
func (e env) logger() *slog.Logger {
	if e.state.log == nil {
		level := slog.LevelInfo
		if e.state.quiet {
			level = slog.LevelWarn
		}
		opts := &slog.HandlerOptions{Level: level}
		e.state.log = slog.New(slog.NewTextHandler(e.stderr, opts))
		if e.state.json {
			e.state.log = slog.New(slog.NewJSONHandler(e.stderr, opts))
		}
	}
	return e.state.log
}

// notice is a line for the person running it: a log record under
// --log-format json; --quiet keeps only warnings (a line starting
// "rolesweep: ").
func (e env) notice(msg string) {
	warning := strings.HasPrefix(msg, "rolesweep: ")
	switch {
	case e.state.json && warning:
		e.logger().Warn(strings.TrimPrefix(msg, "rolesweep: "))
	case e.state.json:
		e.logger().Info(msg)
	case warning || !e.state.quiet:
		fmt.Fprintln(e.stderr, msg)
	}
}

// conclude ends the invocation once its exit code is known: the summary,
// the error, the metrics file, the notification and, with --log-format
// json, the end-of-run event as the last line. Neither the metrics file nor
// the notification changes the exit code.
func (e env) conclude(ctx context.Context, err error, code int) {
	st := e.state
	if st.summary != nil && !st.json && (code != exitOK || !st.quiet) {
		w := e.stdout
		if st.out.toStdout() {
			w = e.stderr
		}
		printSummary(w, *st.summary)
	}
	var failures *failuresError
	if err != nil && !errors.As(err, &failures) { // the summary already said it
		if st.json {
			e.logger().Error(describe(err), "exit_code", code)
		} else {
			fmt.Fprintln(e.stderr, "rolesweep: "+indentLines(describe(err)))
		}
	}
	if st.summary == nil {
		if st.command != "" && st.json {
			e.logger().Log(ctx, slog.LevelError, "run ended", "event", "end", "command", st.command, "outcome", "not_started", "exit_code", code)
		}
		return
	}
	r := st.summary.Report
	if path := st.out.MetricsFile; path != "" {
		if werr := report.WriteMetricsFile(path, r, code); werr != nil {
			e.logger().Warn("the metrics file was not written", "path", path, "error", werr.Error())
		}
	}
	if st.out.Notify != "" {
		if nerr := notify.Send(ctx, st.out.Notify, r, code, nil); nerr != nil {
			e.logger().Warn("the notification was not sent", "error", nerr.Error())
		}
	}
	if st.json {
		e.endEvent(ctx, code)
	}
}

// endEvent is the last line of a JSON log: how the run ended, in numbers.
func (e env) endEvent(ctx context.Context, code int) {
	st, s := e.state, e.state.summary
	r, sum := s.Report, s.Report.Summary
	level := slog.LevelInfo
	if code != exitOK {
		level = slog.LevelWarn
	}
	reports := s.Reports
	if reports == nil {
		reports = []string{}
	}
	attrs := []slog.Attr{
		slog.String("event", "end"), slog.String("command", st.command), slog.String("outcome", r.Outcome),
		slog.Int("exit_code", code), slog.Float64("duration_seconds", e.now().Sub(st.started).Seconds()),
		slog.Any("summary", sum), // the report's counts, with their JSON names
		slog.Any("reports", reports),
	}
	if r.AbortReason != "" {
		attrs = append(attrs, slog.String("abort_reason", r.AbortReason))
	}
	if s.Journal != "" {
		attrs = append(attrs, slog.String("journal", s.Journal))
	}
	if st.out.MetricsFile != "" {
		attrs = append(attrs, slog.String("metrics_file", st.out.MetricsFile))
	}
	e.logger().LogAttrs(ctx, level, "run ended", attrs...)
}

// wantsJSON says whether args ask for --log-format json, so that even an
// error in the flags themselves is a JSON line.
func wantsJSON(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--log-format=json" || a == "-log-format=json":
			return true
		case (a == "--log-format" || a == "-log-format") && i+1 < len(args):
			return args[i+1] == "json"
		}
	}
	return false
}
