package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/job"
	"github.com/rolesweep/rolesweep/reconcile"
)

// exportFlags read a review tool's export as it is (contract: "Exports from
// review tools").
func exportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "map", Category: catInput,
			Usage: "take a field from the export's column, as `FIELD=COLUMN` (fields: user_id, user_email, role_id, role_name, organization_id, reason); repeatable; unmapped columns are then ignored"},
		&cli.StringSliceFlag{Name: "where", Category: catInput,
			Usage: "act only on rows matching `COLUMN=VALUE[,VALUE…]` (case-insensitive); repeatable, all must hold; the other rows are excluded and never sent"},
		&cli.StringFlag{Name: "preset", Category: catInput,
			Usage: "read a known review tool's export by preset `NAME` (e.g. entra-review; see rolesweep help presets); --map and --where override its settings"},
	}
}

var skipProtectedFlag = &cli.BoolFlag{Name: "skip-protected", Category: catSafety,
	Usage: "report rows touching a protected user or role as protected (exit 1) and remove the rest; default: refuse the whole run (exit 2)"}

// readMapping fills the source's Map, Where and Preset from the flags.
func readMapping(c *cli.Context, src *job.Source) error {
	for _, spec := range c.StringSlice("map") {
		field, column, err := input.ParseMap(spec)
		if err != nil {
			return fmt.Errorf("--map: %w", err)
		}
		if src.Map == nil {
			src.Map = map[input.Field]string{}
		}
		src.Map[field] = column
	}
	for _, spec := range c.StringSlice("where") {
		f, err := input.ParseWhere(spec)
		if err != nil {
			return fmt.Errorf("--where: %w", err)
		}
		src.Where = append(src.Where, f)
	}
	if name := c.String("preset"); c.IsSet("preset") {
		if _, err := input.LookupPreset(name); err != nil {
			return fmt.Errorf("--preset: %w", err)
		}
		src.Preset = name
	}
	return nil
}

// excludedNote says how many rows the filters left out, or "" when none did.
func excludedNote(p *reconcile.Plan) string {
	if p.Excluded == 0 {
		return ""
	}
	filters := make([]string, len(p.Where))
	for i, f := range p.Where {
		filters[i] = f.String()
	}
	return fmt.Sprintf(" (%d %s excluded by %s)", p.Excluded, plural(p.Excluded, "row", "rows"), strings.Join(filters, " and "))
}

// describeInput names the flag behind an input error that names an option.
func describeInput(err error, msg string) string {
	var notCSV *input.NotCSVError
	if errors.As(err, &notCSV) {
		msg = strings.Replace(msg, notCSV.Error(), "--"+notCSV.Error(), 1)
	}
	return msg
}
