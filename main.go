// Command rolesweep removes Auth0 roles from users in bulk. See README.md and
// the contract for the commands; this file only wires the command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/console"
	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/usage"
)

// version is stamped by `make build` (-ldflags "-X main.version=…"); empty,
// currentVersion falls back to the Go build info, then to devVersion.
var version string

// toolName is what reports and journals say made them.
func toolName() string { return "rolesweep " + currentVersion().Version }

// env is everything a command touches outside its arguments, so that tests
// run every command in-process.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	signals <-chan os.Signal // interrupts; nil in tests that send none
	now     func() time.Time
	// progressEvery is how often a non-terminal run logs its progress.
	progressEvery time.Duration
	// terminal reports whether the given stream is an interactive terminal.
	terminal func(any) bool
	// prompting is set while apply waits at its confirmation prompt.
	prompting *atomic.Bool
	// screen is standard error when it is a terminal: log lines go above
	// the progress bar. nil elsewhere.
	screen *console.Screen
	state  *runState
}

func main() {
	tuneGC()
	// A closed stdout or stderr (`| head -c1`, a log collector restarting)
	// must not end a run half-way: with SIGPIPE ignored, writes to it fail
	// with EPIPE, which the progress and log writers drop, and the reports
	// are still written. Without this Go dies of SIGPIPE on fd 1 and 2.
	signal.Ignore(syscall.SIGPIPE)
	var signals chan os.Signal
	if handlesInterrupts(os.Args) {
		signals = make(chan os.Signal, 2)
		// SIGHUP is an SSH session dropping: stop as for SIGTERM, with the
		// report written, rather than die with exit 129 and no evidence.
		signal.Notify(signals, stopSignals...)
	}
	os.Exit(run(context.Background(), os.Args, env{
		stdin:         os.Stdin,
		stdout:        os.Stdout,
		stderr:        os.Stderr,
		signals:       signals,
		now:           time.Now,
		progressEvery: 10 * time.Second,
		terminal:      isTerminal,
	}))
}

// tuneGC trades a little garbage-collection CPU for memory, unless the user
// set GOGC: rolesweep's heap is one plan that lives for the whole run, and a
// heap allowed to grow to 1.5× it (not Go's default 2×) keeps a
// million-row plan under 500 MB on a small machine (docs/BENCHMARKS.md).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// stopSignals all stop a run the same orderly way.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// handlesInterrupts says whether the command turns SIGINT and SIGTERM into
// an orderly stop: apply (report still written), plan (--check reads the
// tenant) and sandbox (graceful shutdown). validate keeps the default, which
// ends the process at once: it sends nothing.
func handlesInterrupts(args []string) bool {
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		return a == "apply" || a == "plan" || a == "undo" || a == "sandbox"
	}
	return false
}

// Exit codes, as the contract defines them.
const (
	exitOK       = 0
	exitFailures = 1
	exitInvalid  = 2
	exitAborted  = 3
)

// usageError is invalid usage found by package main itself: nothing was sent.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// failuresError says the run finished with at least one role not removed.
type failuresError struct{ failed int }

func (e *failuresError) Error() string { return fmt.Sprintf("%d roles were not removed", e.failed) }

// exitCode is the one place that maps an error to the contract's exit codes.
// Errors keep their types through every wrapper below main.
func exitCode(err error) int {
	var (
		failures *failuresError
		abort    *reconcile.AbortError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &failures):
		return exitFailures
	case errors.As(err, &abort):
		return exitAborted
	default:
		// usageError, job.ConfigError, management.ConfigError,
		// job.ProtectedError, input errors: all before a request is sent.
		return exitInvalid
	}
}

// flagOf names the flag a config field comes from; management's errors may
// still name the flag itself, which passes through unchanged.
var flagOf = map[string]string{
	"domain": "--domain", "api_token": "--api-token", "client_id": "--client-id", "client_secret": "--client-secret",
	"concurrency": "--concurrency", "max_retries": "--max-retries", "rate": "--rate", "reserve": "--reserve",
	"input_format": "--input-format", "saved_plan": "--plan", "reports": "--report", "journal": "--journal",
	"resume": "--resume", "protect_file": "--protect", "log_format": "--log-format",
	"metrics_file": "--metrics-file", "notify": "--notify",
	"skip_protected": "--skip-protected", "map": "--map", "where": "--where", "preset": "--preset",
	"sweep": "--sweep", "keep": "--keep",
}

// describe is an error as the user reads it: config fields become flags.
func describe(err error) string {
	msg := err.Error()
	var (
		jc *job.ConfigError
		mc *management.ConfigError
	)
	if errors.As(err, &jc) {
		msg = strings.Replace(msg, jc.Error(), flagText(jc.Field, jc.Message), 1)
	}
	if errors.As(err, &mc) {
		msg = strings.Replace(msg, mc.Error(), flagText(mc.Field, mc.Message), 1)
	}
	return describeInput(err, msg)
}

func flagText(field, message string) string {
	if f, ok := flagOf[field]; ok {
		field = f
	}
	if field == "" {
		return message
	}
	return field + ": " + message
}

func run(ctx context.Context, args []string, e env) int {
	if e.now == nil {
		e.now = time.Now
	}
	if e.terminal == nil {
		e.terminal = func(any) bool { return false }
	}
	if e.progressEvery == 0 {
		e.progressEvery = 10 * time.Second
	}
	e.prompting = new(atomic.Bool)
	e.state = &runState{json: wantsJSON(args)}
	if e.terminal(e.stderr) {
		e.screen = console.NewScreen(e.stderr, terminalWidth(e.stderr))
		e.stderr = e.screen
	}
	app := newApp(e)
	if n := len(args); n > 1 && args[n-1] == usage.CompleteFlag {
		usage.Complete(e.stdout, app, args[1:n-1])
		return exitOK
	}
	err := app.RunContext(ctx, reorderArgs(app, args))
	code := exitCode(err)
	e.conclude(ctx, err, code)
	return code
}

func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

func newApp(e env) *cli.App {
	app := &cli.App{
		Name:  "rolesweep",
		Usage: "remove Auth0 roles from users in bulk, with a dry-run plan and an audit report",
		Description: "Examples:\n" +
			"  rolesweep plan leavers.csv                                  # what would be removed (offline)\n" +
			"  rolesweep apply leavers.csv --report run.json --report md:run.md\n" +
			"  rolesweep sandbox --from-input leavers.csv > sandbox.env &  # a simulated tenant to rehearse on",
		Version:                   currentVersion().Version,
		Writer:                    e.stdout,
		ErrWriter:                 e.stderr,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              flagUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				usage.PrintApp(c.App.Writer, c.App)
				return nil
			}
			return &usageError{usage.Unknown("command", c.Args().First(), usage.CommandNames(c.App), "rolesweep help")}
		},
		Commands: append([]*cli.Command{
			{
				Name:      "validate",
				Usage:     "parse and validate the input; print a short summary (no network)",
				ArgsUsage: "FILE",
				Description: "Examples:\n" +
					"  rolesweep validate leavers.csv\n" +
					"  export-tool | rolesweep validate --input-format csv -",
				Flags:  inputFlags(),
				Action: func(c *cli.Context) error { return cmdValidate(c, e) },
			},
			{
				Name:      "plan",
				Usage:     "dry run: print what would be removed; change nothing",
				ArgsUsage: "FILE | --sweep ROLE",
				Description: "Examples:\n" +
					"  rolesweep plan leavers.csv\n" +
					"  rolesweep plan leavers.csv --check --out plan.json      # reads the tenant; review plan.json, then apply --plan\n" +
					"  rolesweep plan leavers.csv --format markdown > plan.md",
				Flags:  planFlags(),
				Action: func(c *cli.Context) error { return cmdPlan(c, e) },
			},
			{
				Name:      "apply",
				Usage:     "remove the roles and write the report",
				ArgsUsage: "FILE | --plan PLAN.json | --sweep ROLE",
				Description: "Examples:\n" +
					"  rolesweep apply leavers.csv --check --report run.json\n" +
					"  rolesweep apply --plan plan.json --yes --quiet --report run.json --report \"md:$GITHUB_STEP_SUMMARY\"\n" +
					"  rolesweep apply leavers.csv --yes --max-removals 500 --metrics-file /var/lib/node_exporter/rolesweep.prom\n" +
					"\n" +
					"--reserve leaves part of the tenant's rate-limit bucket to its other clients;\n" +
					"it costs only that part of the first burst, then both pace at the refill rate.",
				Flags:  applyFlags(),
				Action: func(c *cli.Context) error { return cmdApply(c, e) },
			},
			undoCommand(e),
			{
				Name:  "sandbox",
				Usage: "serve a simulated Auth0 tenant on loopback, for rehearsals, demos and tests",
				Description: "Examples:\n" +
					"  rolesweep sandbox --from-input leavers.csv > sandbox.env &  # then: eval \"$(cat sandbox.env)\"\n" +
					"  rolesweep sandbox --listen 127.0.0.1:0 --users 2000 --bucket 50 --refill 16\n" +
					"  rolesweep sandbox --fail-rate 0.05 --fault-seed 7",
				Flags: sandboxFlags(),
				Action: func(c *cli.Context) error {
					return cmdSandbox(c, e)
				},
			},
		}, helpCommands()...),
	}
	for _, c := range app.Commands {
		c.OnUsageError = flagUsageError
	}
	usage.Expand(app)
	return app
}

// reorderArgs moves a command's flags in front of its positional arguments,
// so that `rolesweep apply removals.csv --yes` works as users type it:
// urfave/cli stops parsing flags at the first positional argument.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var cmd *cli.Command
	ci := -1
	for i := 1; i < len(args); i++ {
		if c := app.Command(args[i]); c != nil {
			cmd, ci = c, i
			break
		}
		if !strings.HasPrefix(args[i], "-") {
			return args
		}
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	rest := args[ci+1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
			i++
			flags = append(flags, rest[i])
		}
	}
	out := append([]string{}, args[:ci+1]...)
	out = append(out, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// source is the command's FILE argument.
func source(c *cli.Context, e env) (job.Source, error) {
	if c.NArg() != 1 {
		return job.Source{}, usagef("%s needs exactly one FILE argument (use - for standard input)", c.Command.Name)
	}
	src := job.Source{
		Path:              c.Args().First(),
		Stdin:             e.stdin,
		Format:            input.Format(strings.ToLower(c.String("input-format"))),
		AllowExtraColumns: c.Bool("allow-extra-columns"),
	}
	if src.Format != "" && src.Format != input.CSV && src.Format != input.YAML {
		return src, usagef("--input-format must be csv or yaml, not %q", c.String("input-format"))
	}
	if src.Path == "-" && src.Format == "" {
		return src, usagef("reading standard input (-) needs --input-format csv or yaml")
	}
	return src, readMapping(c, &src)
}

// tenant gathers the tenant flags; secrets stay in the config only.
func tenant(c *cli.Context, e env) (job.Tenant, error) {
	log, err := job.NewLogger(e.stderr, c.String("log-format"), c.Bool("quiet"))
	if err == nil {
		e.state.log, e.state.quiet = log, c.Bool("quiet")
	}
	return job.Tenant{
		Management: management.Config{
			Domain:       c.String("domain"),
			APIToken:     c.String("api-token"),
			ClientID:     c.String("client-id"),
			ClientSecret: c.String("client-secret"),
			UserAgent:    "rolesweep/" + currentVersion().Version,
		},
		Concurrency: c.Int("concurrency"),
		Rate:        c.Float64("rate"),
		MaxRetries:  c.Int("max-retries"),
		Reserve:     c.Float64("reserve"),
		Log:         log,
	}, err
}
