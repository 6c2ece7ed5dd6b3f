package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/job"
)

// sweepFlags are plan's and apply's flags that take the removals from the
// tenant instead of a file.
func sweepFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "sweep", Category: catInput, Usage: "instead of FILE, remove `ROLE` (an id or exact name) from every user who holds it; may be repeated"},
		&cli.StringFlag{Name: "keep", Category: catInput, Usage: "with --sweep: CSV or YAML `FILE` of users (and optionally roles) who keep the swept roles"},
	}
}

// parseSweep reads --sweep and --keep; nil when there is no sweep. A sweep
// takes no FILE, and --keep means nothing without one.
func parseSweep(c *cli.Context) (*job.Sweep, error) {
	roles := c.StringSlice("sweep")
	if len(roles) == 0 {
		if c.IsSet("keep") {
			return nil, usagef("--keep lists who keeps the roles of a --sweep: give --sweep ROLE too")
		}
		return nil, nil
	}
	if c.NArg() > 0 {
		return nil, usagef("--sweep reads the removals from the tenant: give either FILE or --sweep, not both")
	}
	if c.String("plan") != "" {
		return nil, usagef("give either --plan PLAN.json or --sweep, not both: a saved plan already holds its sweep")
	}
	return &job.Sweep{Roles: roles, Keep: c.String("keep")}, nil
}
