package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/rolesweep/rolesweep/input"
)

func init() { helpTopics["presets"] = printPresets }

// printPresets lists every --preset with the columns it reads, the rows it
// acts on, the export it is for and where that export's columns are
// documented, so a user can check a preset against their own file.
func printPresets(w io.Writer) {
	fmt.Fprintln(w, "Presets for --preset NAME: a review tool's export read as it is (CSV).")
	fmt.Fprintln(w, "Explicit --map FIELD=COLUMN and --where COLUMN=VALUE override a preset's;")
	fmt.Fprintln(w, "other columns of the file are ignored.")
	for _, p := range input.Presets() {
		fmt.Fprintf(w, "\n%s\n  export: %s\n  documented at: %s\n", p.Name, p.Tool, p.Doc)
		for _, field := range input.Fields() {
			if column, ok := p.Map[field]; ok {
				fmt.Fprintf(w, "  --map %s\n", shellWord(string(field)+"="+column))
			}
		}
		for _, f := range p.Where {
			fmt.Fprintf(w, "  --where %s\n", shellWord(f.String()))
		}
		if p.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", p.Note)
		}
	}
	fmt.Fprintln(w, "\nExample: rolesweep plan review-history.csv --preset entra-review --check --format markdown")
}

// shellWord quotes a flag value the way it has to be typed: export columns
// often hold spaces ("Account owner").
func shellWord(s string) string {
	if !strings.ContainsAny(s, " \t'\"$`\\*?;&|<>()[]{}#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
