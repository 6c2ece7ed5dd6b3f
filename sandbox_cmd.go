package main

import (
	"cmp"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/gocarina/gocsv"
	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/sandbox"
)

func sandboxFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "listen", Category: catTenant, Value: "127.0.0.1:8787", Usage: "loopback `ADDRESS` to serve on (port 0 picks a free port)"},
		&cli.StringFlag{Name: "seed", Category: catInput, Usage: "tenant `FILE` to load: YAML or JSON with roles, users, organizations, clients"},
		&cli.StringFlag{Name: "from-input", Category: catInput, Usage: "seed users who hold exactly the roles the removal list `FILE` would remove, plus one that must survive"},
		&cli.StringFlag{Name: "roles", Category: catInput, Usage: "CSV `FILE` of role_id,name, to give the roles of --from-input their names"},
		&cli.IntFlag{Name: "users", Category: catInput, Usage: "add `N` synthetic users, each holding 1 to 3 roles of a six-role catalogue"},
		&cli.StringSliceFlag{Name: "users-role", Category: catInput, Usage: "every --users user also holds this `ROLE` (id or exact name; created when missing); repeatable"},
		&cli.Int64Flag{Name: "users-seed", Category: catInput, Value: 1, Usage: "`SEED` that makes the --users users repeatable"},
		&cli.IntFlag{Name: "bucket", Category: catPacing, Value: 50, Usage: "rate-limit burst of `N` requests (x-ratelimit-limit); 0 turns rate limiting off"},
		&cli.Float64Flag{Name: "refill", Category: catPacing, Value: 16, Usage: "rate-limit refill, `R` requests per second"},
		&cli.StringFlag{Name: "refill-mode", Category: catPacing, Value: "continuous", Usage: "`MODE`: continuous or step (whole refill at each step)"},
		&cli.DurationFlag{Name: "step-period", Category: catPacing, DefaultText: "1s", Usage: "step mode: `DURATION` between steps (1.5s puts steps between whole seconds); 150 per minute is --refill 2.5"},
		&cli.StringFlag{Name: "rate-headers", Category: catFaults, Value: "full", Usage: "rate-limit `HEADERS`: full, none (no rate-limit headers) or retry-after (429 with Retry-After only)"},
		&cli.DurationFlag{Name: "clock-skew", Category: catFaults, Usage: "the tenant's clock is `DURATION` ahead of this one (Date and x-ratelimit-reset move with it)"},
		&cli.DurationFlag{Name: "token-ttl", Category: catTenant, DefaultText: "24h", Usage: "`DURATION` of client-credentials tokens"},
		&cli.DurationFlag{Name: "latency", Category: catPacing, Usage: "`DURATION` added to every Management API answer"},
		&cli.DurationFlag{Name: "jitter", Category: catPacing, Usage: "uniform random extra latency, up to `DURATION`"},
		&cli.Float64Flag{Name: "fail-rate", Category: catFaults, Usage: "`SHARE` (0 to 1) of answers that are 500/502/503 without applying the change"},
		&cli.Float64Flag{Name: "drop-rate", Category: catFaults, Usage: "`SHARE` of connections closed without an answer"},
		&cli.Float64Flag{Name: "apply-then-fail-rate", Category: catFaults, Usage: "`SHARE` of changes applied, then answered 503"},
		&cli.Int64Flag{Name: "fault-seed", Category: catFaults, Value: 1, Usage: "`SEED` that makes latency jitter and faults repeatable"},
		&cli.StringFlag{Name: "read-fault", Category: catFaults, Usage: "`FAULT` of every read: endless (full pages forever, total 1e9), low-total (total 0), invalid-json (bodies cut in half)"},
		&cli.IntFlag{Name: "token-status", Category: catFaults, Usage: "answer every /oauth/token request with this `STATUS` (e.g. 500) and no token"},
		&cli.DurationFlag{Name: "token-latency", Category: catFaults, Usage: "delay every /oauth/token answer by `DURATION`"},
	}
}

func cmdSandbox(c *cli.Context, e env) error {
	if c.NArg() > 0 {
		return usagef("sandbox takes no arguments")
	}
	mode := c.String("refill-mode")
	if mode != "continuous" && mode != "step" {
		return usagef("--refill-mode must be continuous or step, not %q", mode)
	}
	opts := sandbox.Options{
		Bucket:            c.Int("bucket"),
		Refill:            c.Float64("refill"),
		RefillMode:        mode,
		StepPeriod:        c.Duration("step-period"),
		RateHeaders:       c.String("rate-headers"),
		ClockSkew:         c.Duration("clock-skew"),
		TokenTTL:          c.Duration("token-ttl"),
		Latency:           c.Duration("latency"),
		Jitter:            c.Duration("jitter"),
		FailRate:          c.Float64("fail-rate"),
		DropRate:          c.Float64("drop-rate"),
		ApplyThenFailRate: c.Float64("apply-then-fail-rate"),
		FaultSeed:         c.Int64("fault-seed"),
		ReadFault:         c.String("read-fault"),
		TokenStatus:       c.Int("token-status"),
		TokenLatency:      c.Duration("token-latency"),
	}
	if err := opts.Validate(); err != nil {
		return usagef("sandbox: %v", err)
	}
	t := sandbox.New(opts)
	if path := c.String("seed"); path != "" {
		if err := loadSeedFile(t, path); err != nil {
			return usagef("--seed: %v", err)
		}
	}
	if path := c.String("from-input"); path != "" {
		src, err := input.ReadFile(path, input.Options{AllowExtraColumns: true})
		if err != nil {
			return err
		}
		catalogue, err := readRoleCatalogue(c.String("roles"))
		if err != nil {
			return err
		}
		removals := make([]sandbox.Removal, len(src.Rows))
		for i, r := range src.Rows {
			removals[i] = sandbox.Removal{UserID: r.UserID, UserEmail: r.UserEmail, RoleID: r.RoleID, RoleName: r.RoleName, OrganizationID: r.OrganizationID}
		}
		t.SeedFromRemovals(removals, catalogue)
	}
	if n := c.Int("users"); n > 0 {
		t.SeedSynthetic(n, c.Int64("users-seed"), c.StringSlice("users-role")...)
	} else if c.IsSet("users-role") {
		return usagef("--users-role needs --users N")
	}
	ctx, stop := interruptible(c.Context, e.signals)
	defer stop()
	return sandbox.Serve(ctx, c.String("listen"), t, e.stdout)
}

// catalogueRow is one role of the --roles catalogue. The name column is
// role_name, as in the input files, or name.
type catalogueRow struct {
	RoleID   string `csv:"role_id"`
	RoleName string `csv:"role_name"`
	Name     string `csv:"name"`
}

// readRoleCatalogue reads role_id,role_name rows; an empty path means none.
// The header line may be left out, in which case the columns are taken in
// that order.
func readRoleCatalogue(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--roles: %v", err)
	}
	defer f.Close()
	rows, err := decodeCatalogue(f, path)
	if err != nil {
		return nil, usagef("--roles: %v", err)
	}
	names := make(map[string]string, len(rows))
	for i, row := range rows {
		id := strings.TrimSpace(row.RoleID)
		if id == "" {
			return nil, usagef("--roles: %s: row %d: role_id is empty", path, i+1)
		}
		names[id] = strings.TrimSpace(cmp.Or(row.RoleName, row.Name))
	}
	return names, nil
}

// decodeCatalogue reads the catalogue through input's shared CSV reader
// (BOM, header matching) and gocsv. A file whose first row is not a header
// naming role_id is taken as bare role_id,role_name rows, as the catalogue
// always allowed.
func decodeCatalogue(r io.Reader, name string) ([]catalogueRow, error) {
	cr, err := input.NewCSVReader(r, name)
	if err != nil {
		return nil, err
	}
	if cr.Index("role_id") >= 0 {
		var rows []catalogueRow
		err := gocsv.UnmarshalCSV(cr, &rows)
		return rows, err
	}
	first := cr.Columns()
	if len(first) < 2 {
		return nil, cr.HeaderProblem(-1, "expected role_id,role_name")
	}
	rows := []catalogueRow{{RoleID: first[0], RoleName: first[1]}}
	for {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) < 2 {
			return nil, cr.Problem(-1, "expected role_id,role_name")
		}
		rows = append(rows, catalogueRow{RoleID: rec[0], RoleName: rec[1]})
	}
}

func loadSeedFile(t *sandbox.Tenant, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.LoadSeed(f, path)
}
