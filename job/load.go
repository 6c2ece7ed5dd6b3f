package job

import (
	"os"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// Load reads and validates the removals and builds their offline plan while
// reading, so that rows are never all held at once.
func Load(src Source) (*reconcile.Plan, error) {
	hint := 0
	if src.Path != "-" {
		hint = input.EstimateRows(src.Path)
	}
	b := reconcile.NewBuilder(hint)
	opts := input.Options{
		Format: src.Format, AllowExtraColumns: src.AllowExtraColumns, Each: b.Add,
		Map: src.Map, Where: src.Where, Preset: src.Preset,
	}
	var (
		in  *input.Source
		err error
	)
	if src.Path == "-" {
		if src.Format == "" {
			return nil, configErrorf("input_format", "reading standard input (-) needs csv or yaml")
		}
		in, err = input.Read(src.Stdin, src.Path, opts)
	} else {
		in, err = input.ReadFile(src.Path, opts)
	}
	if err != nil {
		return nil, err
	}
	return b.Plan(in), nil
}

// loadSaved reads a plan saved by plan --out; it refuses one edited since.
func loadSaved(path string) (*reconcile.Plan, *report.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, configErrorf("saved_plan", "%v", err)
	}
	defer f.Close()
	saved, err := report.ReadJSON(f)
	if err != nil {
		return nil, nil, configErrorf("saved_plan", "%s: %v", path, err)
	}
	p, err := reconcile.FromSavedPlan(path, saved)
	if err != nil {
		return nil, nil, configErrorf("saved_plan", "%v", err)
	}
	return p, saved, nil
}
