package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/job"
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
	out     job.Outputs
	started time.Time
	summary *job.Summary // set when the run wrote its report
}

// parseOutputs reads outputFlags, checked before anything is sent.
func parseOutputs(c *cli.Context) (job.Outputs, error) {
	o := job.Outputs{Reports: c.StringSlice("report"), MetricsFile: c.String("metrics-file"), Notify: c.String("notify")}
	return o, o.Check()
}

// began records that a run of command started, with these outputs.
func (e env) began(command string, o job.Outputs) {
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
		printSummary(e, *st.summary)
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
	st.out.Deliver(ctx, st.summary.Report, code, e.logger())
	if st.json {
		job.LogEnd(ctx, e.logger(), st.command, *st.summary, st.out, code, e.now().Sub(st.started))
	}
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
