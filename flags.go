package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/usage"
)

// The categories of `--help`, in the order it shows them. Every flag names
// one, so that a command's help reads as a few short groups, not one list.
const (
	catInput   = "Input"
	catTenant  = "Tenant and credentials"
	catSafety  = "Safety"
	catPacing  = "Pacing"
	catReports = "Reports and logs"
	// catFaults is the sandbox's own: what it does wrong on purpose.
	catFaults = "Faults"
)

var flagCategories = []string{catInput, catTenant, catSafety, catPacing, catReports, catFaults}

// defaultReserve is the percent of the tenant's bucket apply leaves to the
// tenant's other clients (the dashboard, Actions, other jobs). It costs only
// the reserved part of the first burst: once the bucket is drawn down, both
// pace at the refill rate.
const defaultReserve = 20

var (
	inputFormatFlag = &cli.StringFlag{Name: "input-format", Category: catInput, Usage: "`FORMAT` of FILE: csv or yaml; required when FILE is - (default: from the extension)"}
	extraColsFlag   = &cli.BoolFlag{Name: "allow-extra-columns", Category: catInput, Usage: "ignore CSV columns rolesweep does not know (exports from review tools)"}
)

func inputFlags() []cli.Flag { return []cli.Flag{inputFormatFlag, extraColsFlag} }

func credentialFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "domain", Category: catTenant, EnvVars: []string{"AUTH0_DOMAIN"}, Usage: "`TENANT`: acme.eu.auth0.com, host:port (https) or a full URL; http:// only on loopback"},
		&cli.StringFlag{Name: "client-id", Category: catTenant, EnvVars: []string{"AUTH0_CLIENT_ID"}, Usage: "client-credentials client `ID`"},
		&cli.StringFlag{Name: "client-secret", Category: catTenant, EnvVars: []string{"AUTH0_CLIENT_SECRET"}, Usage: "client-credentials `SECRET` (prefer the environment variable: flags show in ps)"},
		&cli.StringFlag{Name: "api-token", Category: catTenant, EnvVars: []string{"AUTH0_API_TOKEN"}, Usage: "pre-issued Management API `TOKEN` (prefer the environment variable)"},
	}
}

func pacingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "concurrency", Category: catPacing, Value: reconcile.DefaultConcurrency, Usage: "`N` requests in flight at most; the pacer keeps fewer in flight when the tenant's bucket runs low"},
		&cli.Float64Flag{Name: "rate", Category: catPacing, Usage: "hard cap of `R` requests per second (default: none, pace from the tenant's rate-limit headers)"},
		&cli.IntFlag{Name: "max-retries", Category: catPacing, Value: 5, Usage: "`N` retries per request for 429, 5xx and network errors; then failed"},
		&cli.Float64Flag{Name: "reserve", Category: catPacing, Value: defaultReserve, Usage: "leave `P` percent of the tenant's rate-limit bucket to its other clients; costs only that part of the first burst (0: use it all)"},
	}
}

func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", Category: catReports, Value: "text", Usage: "`FORMAT` of standard error: text or json (one JSON object a line, ending with a run event)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Category: catReports, Usage: "print nothing when the run succeeds: no progress, no info logs, no summary (errors and a failed run's summary still print)"},
	}
}

// tenantFlags are the flags of every command that talks to a tenant.
func tenantFlags() []cli.Flag {
	return concat(credentialFlags(), pacingFlags(), logFlags())
}

func planFlags() []cli.Flag {
	return concat(inputFlags(), []cli.Flag{
		&cli.BoolFlag{Name: "check", Category: catSafety, Usage: "read the current assignments (the cheaper way: each user's roles or each role's holders) and resolve emails and role names (network)"},
		&cli.StringFlag{Name: "format", Category: catReports, Value: "text", Usage: "`FORMAT` of the plan on standard output: text, json, markdown or csv"},
		&cli.StringFlag{Name: "out", Category: catReports, Usage: "also save the plan as JSON to `FILE`, for a later apply --plan"},
	}, sweepFlags(), tenantFlags())
}

func applyFlags() []cli.Flag {
	return concat(inputFlags(), []cli.Flag{
		&cli.StringFlag{Name: "plan", Category: catInput, Usage: "apply the plan saved in `PLAN.json` by plan --out; refused if it was edited"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Category: catSafety, Usage: "do not ask for confirmation (required when standard input is not a terminal)"},
		&cli.BoolFlag{Name: "check", Category: catSafety, Value: true, Usage: "read the current assignments first, the cheaper way (each user's roles or each role's holders): unassigned roles become absent and --max-removals counts only roles really assigned"},
		&cli.BoolFlag{Name: "no-check", Category: catSafety, Usage: "do not read first: removed then only means the DELETE was accepted, and the report says checked: false"},
		&cli.BoolFlag{Name: "verify", Category: catSafety, Usage: "read back after removing; a role still assigned becomes failed"},
		&cli.IntFlag{Name: "max-removals", Category: catSafety, Value: -1, DefaultText: "off", Usage: "refuse (exit 3, nothing sent) when the plan would remove more than `N` roles"},
		&cli.StringSliceFlag{Name: "protect-user", Category: catSafety, Usage: "user `ID` whose roles must never be removed; repeatable"},
		&cli.StringSliceFlag{Name: "protect-role", Category: catSafety, Usage: "role `ID` that must never be removed; repeatable"},
		&cli.StringFlag{Name: "protect", Category: catSafety, Usage: "CSV `FILE` of user_id and/or role_id columns that must never be removed"},
		&cli.StringFlag{Name: "journal", Category: catSafety, Usage: "journal `FILE` of finished users, for --resume (default: <first report>.journal.jsonl)"},
		&cli.StringFlag{Name: "resume", Category: catSafety, Usage: "resume the run recorded in `JOURNAL`; users already finished are not sent again"},
	}, sweepFlags(), outputFlags(), tenantFlags())
}

// outputFlags are where a run that changes the tenant leaves its evidence
// (apply, undo): reports, metrics and the notification.
func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "report", Category: catReports, DefaultText: "rolesweep-report-<UTC time>.json",
			Usage: "write the report to `[FORMAT:]FILE`; the format follows the extension (.json, .csv, .md) or a json:, csv: or md: prefix; - is standard output (JSON, or md:- and csv:-); repeatable"},
		&cli.StringFlag{Name: "metrics-file", Category: catReports, Usage: "at the end, write Prometheus metrics to `FILE` (node_exporter textfile format, atomically)"},
		&cli.StringFlag{Name: "notify", Category: catReports, Usage: "at the end, POST the summary as JSON to `URL` (a Slack incoming webhook gets a Slack message); a failure is logged, the exit code is unchanged"},
	}
}

func concat(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func init() {
	cli.FlagStringer = usage.FlagLine
	cli.HelpPrinter = printHelp
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprint(c.App.Writer, currentVersion().String()) }
}
