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

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "v0.1.0"

func toolName() string { return "rolesweep " + version }

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
}

func main() {
	tuneGC()
	var signals chan os.Signal
	if handlesInterrupts(os.Args) {
		signals = make(chan os.Signal, 2)
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
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
	return msg
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
	app := newApp(e)
	err := app.RunContext(ctx, reorderArgs(app, args))
	if err != nil {
		var failures *failuresError
		if !errors.As(err, &failures) { // the summary already said it
			fmt.Fprintln(e.stderr, "rolesweep: "+indentLines(describe(err)))
		}
	}
	return exitCode(err)
}

func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

var (
	inputFormatFlag = &cli.StringFlag{Name: "input-format", Usage: "csv or yaml; required when FILE is -"}
	extraColsFlag   = &cli.BoolFlag{Name: "allow-extra-columns", Usage: "ignore CSV columns rolesweep does not know (exports from review tools)"}
)

func tenantFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "domain", EnvVars: []string{"AUTH0_DOMAIN"}, Usage: "tenant: acme.eu.auth0.com, host:port (https) or a full URL; http:// only on loopback"},
		&cli.StringFlag{Name: "client-id", EnvVars: []string{"AUTH0_CLIENT_ID"}, Usage: "client-credentials client id"},
		&cli.StringFlag{Name: "client-secret", EnvVars: []string{"AUTH0_CLIENT_SECRET"}, Usage: "client-credentials secret (prefer the environment variable)"},
		&cli.StringFlag{Name: "api-token", EnvVars: []string{"AUTH0_API_TOKEN"}, Usage: "pre-issued Management API token (prefer the environment variable)"},
		&cli.IntFlag{Name: "concurrency", Value: reconcile.DefaultConcurrency, Usage: "requests in flight at most; the pacer keeps fewer in flight when the tenant's bucket runs low"},
		&cli.Float64Flag{Name: "rate", Usage: "hard cap in requests per second; 0: none, pace from the tenant's rate-limit headers"},
		&cli.IntFlag{Name: "max-retries", Value: 5, Usage: "retries per request for 429, 5xx and network errors; then failed"},
		&cli.Float64Flag{Name: "reserve", Usage: "percent of the tenant's rate-limit bucket to leave to other clients"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress display and no info logs"},
	}
}

func newApp(e env) *cli.App {
	return &cli.App{
		Name:                      "rolesweep",
		Usage:                     "remove Auth0 roles from users in bulk, with a dry-run plan and an audit report",
		Version:                   version,
		Writer:                    e.stdout,
		ErrWriter:                 e.stderr,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &usageError{err.Error()}
		},
		Commands: []*cli.Command{
			{
				Name:      "validate",
				Usage:     "parse and validate the input; print a short summary (no network)",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{inputFormatFlag, extraColsFlag},
				Action:    func(c *cli.Context) error { return cmdValidate(c, e) },
			},
			{
				Name:      "plan",
				Usage:     "dry run: print what would be removed; change nothing",
				ArgsUsage: "FILE",
				Flags: append([]cli.Flag{
					inputFormatFlag, extraColsFlag,
					&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, markdown or csv"},
					&cli.StringFlag{Name: "out", Usage: "also save the plan as JSON, for a later apply --plan"},
					&cli.BoolFlag{Name: "check", Usage: "read each user's current roles and resolve emails and role names (network)"},
				}, tenantFlags()...),
				Action: func(c *cli.Context) error { return cmdPlan(c, e) },
			},
			{
				Name:      "apply",
				Usage:     "remove the roles and write the report",
				ArgsUsage: "FILE | --plan PLAN.json",
				Flags: append([]cli.Flag{
					inputFormatFlag, extraColsFlag,
					&cli.StringFlag{Name: "plan", Usage: "apply a plan saved by plan --out; refused if it was edited"},
					&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation (required when stdin is not a terminal)"},
					&cli.BoolFlag{Name: "check", Usage: "read each user's current roles first; unassigned roles become absent"},
					&cli.BoolFlag{Name: "verify", Usage: "read back after removing; a role still assigned becomes failed"},
					&cli.IntFlag{Name: "max-removals", Value: -1, Usage: "refuse (exit 3, nothing sent) when the plan would remove more than N roles"},
					&cli.StringSliceFlag{Name: "report", Usage: "report path; .json, .csv or .md; may be repeated"},
					&cli.StringFlag{Name: "journal", Usage: "journal path (default: next to the first report)"},
					&cli.StringFlag{Name: "resume", Usage: "resume the run recorded in this journal"},
					&cli.StringSliceFlag{Name: "protect-user", Usage: "user id whose roles must never be removed; may be repeated"},
					&cli.StringSliceFlag{Name: "protect-role", Usage: "role id that must never be removed; may be repeated"},
					&cli.StringFlag{Name: "protect", Usage: "CSV file of user_id and/or role_id columns that must never be removed"},
				}, tenantFlags()...),
				Action: func(c *cli.Context) error { return cmdApply(c, e) },
			},
			undoCommand(e),
			{
				Name:  "sandbox",
				Usage: "serve a simulated Auth0 tenant on loopback, for rehearsals, demos and tests",
				Flags: sandboxFlags(),
				Action: func(c *cli.Context) error {
					return cmdSandbox(c, e)
				},
			},
		},
	}
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
	return src, nil
}

// tenant gathers the tenant flags; secrets stay in the config only.
func tenant(c *cli.Context, e env) (job.Tenant, error) {
	log, err := job.NewLogger(e.stderr, c.String("log-format"), c.Bool("quiet"))
	return job.Tenant{
		Management: management.Config{
			Domain:       c.String("domain"),
			APIToken:     c.String("api-token"),
			ClientID:     c.String("client-id"),
			ClientSecret: c.String("client-secret"),
			UserAgent:    "rolesweep/" + version,
		},
		Concurrency: c.Int("concurrency"),
		Rate:        c.Float64("rate"),
		MaxRetries:  c.Int("max-retries"),
		Reserve:     c.Float64("reserve"),
		Log:         log,
	}, err
}
