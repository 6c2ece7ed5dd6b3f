package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rolesweep/rolesweep/sandbox"
)

func TestSweepUsageErrors(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	report := filepath.Join(t.TempDir(), "r.json")
	for _, args := range [][]string{
		{"plan", "testdata/removals.csv", "--sweep", "Billing Admin"},
		{"apply", "testdata/removals.csv", "--sweep", "Billing Admin", "--yes"},
		{"plan", "testdata/removals.csv", "--keep", "keep.csv"},
		{"apply", "--plan", "plan.json", "--sweep", "Billing Admin", "--yes"},
	} {
		if args[0] == "apply" {
			args = append(args, "--report", report)
		}
		got := rolesweep(t, invocation{}, append(args, "--domain", url, "--api-token", tn.Token())...)
		assert.Equal(t, 2, got.code, "%v: %s", args, got.stderr)
		assert.True(t, strings.Contains(got.stderr, "--sweep"), "%v: %s", args, got.stderr)
	}
	assert.Zero(t, tn.Stats().Total, "a usage error sends nothing")
}

func TestSweepFromTheCommandLine(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	tn.SeedSynthetic(50, 3, "Legacy Admin")
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	got := rolesweep(t, invocation{}, "plan", "--sweep", "Legacy Admin", "--out", plan, "--format", "json", "--domain", url, "--api-token", tn.Token())
	if !assert.Equal(t, 0, got.code, got.stderr) {
		return
	}
	assert.Contains(t, got.stdout, `"sweep"`)
	report := filepath.Join(dir, "r.json")
	got = rolesweep(t, invocation{}, "apply", "--plan", plan, "--yes", "--domain", url, "--api-token", tn.Token(), "--report", report)
	assert.Equal(t, 0, got.code, got.stderr)
	assert.Contains(t, got.stdout, "removed 50")
	r := readReport(t, report)
	if assert.NotNil(t, r.Run) {
		assert.True(t, r.Run.Checked)
	}
}
