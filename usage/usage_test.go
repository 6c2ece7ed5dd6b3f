package usage

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/urfave/cli/v2"
)

func TestSuggest(t *testing.T) {
	commands := []string{"validate", "plan", "apply", "sandbox", "help", "version", "completion"}
	for typed, want := range map[string]string{
		"aply": "apply", "appyl": "apply", "plna": "plan", "valdiate": "validate", "sanbox": "sandbox",
		"versoin": "version", "comp": "completion", "frobnicate": "", "x": "", "undo": "",
	} {
		assert.Equal(t, want, Suggest(typed, commands), typed)
	}
	flags := []string{"--yes", "-y", "--check", "--verify", "--report", "--resume", "--max-removals"}
	assert.Equal(t, "--yes", Suggest("--yse", flags))
	assert.Equal(t, "--check", Suggest("--chek", flags))
	assert.Equal(t, "--max-removals", Suggest("--max-removal", flags))
	assert.Equal(t, "", Suggest("--zzzzzz", flags))
}

func TestUnknownFlag(t *testing.T) {
	assert.Equal(t, "--yse", UnknownFlag(errors.New("flag provided but not defined: -yse")))
	assert.Equal(t, "-z", UnknownFlag(errors.New("flag provided but not defined: -z")))
	assert.Equal(t, "", UnknownFlag(errors.New(`invalid value "x" for flag -concurrency`)))
	assert.Equal(t, "", UnknownFlag(nil))
}

func TestFlagLine(t *testing.T) {
	assert.Equal(t, "--concurrency N\tN requests at most (default: 64)",
		FlagLine(&cli.IntFlag{Name: "concurrency", Value: 64, Usage: "`N` requests at most"}))
	assert.Equal(t, "--max-removals N\trefuse more than N (default: off)",
		FlagLine(&cli.IntFlag{Name: "max-removals", Value: -1, DefaultText: "off", Usage: "refuse more than `N`"}))
	assert.Equal(t, "--yes, -y\tdo not ask",
		FlagLine(&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask"}), "no (default: false)")
	assert.Equal(t, "--domain VALUE\tthe tenant [$AUTH0_DOMAIN]",
		FlagLine(&cli.StringFlag{Name: "domain", EnvVars: []string{"AUTH0_DOMAIN"}, Usage: "the tenant"}))
	assert.Equal(t, "--latency DURATION\tDURATION added",
		FlagLine(&cli.DurationFlag{Name: "latency", Usage: "`DURATION` added"}), "no (default: 0s)")
	assert.Equal(t, "--token-ttl D\tlifetime D (default: 24h)",
		FlagLine(&cli.DurationFlag{Name: "token-ttl", DefaultText: "24h", Usage: "lifetime `D`"}))
}

func TestPrintCommandGroupsInOrder(t *testing.T) {
	cmd := &cli.Command{Name: "apply", Usage: "remove", ArgsUsage: "FILE", Description: "Examples:\n  rolesweep apply x.csv", Flags: []cli.Flag{
		&cli.BoolFlag{Name: "zeta", Category: "Safety", Usage: "z"},
		&cli.BoolFlag{Name: "alpha", Category: "Safety", Usage: "a"},
		&cli.BoolFlag{Name: "input", Category: "Input", Usage: "i"},
		&cli.BoolFlag{Name: "hidden", Category: "Input", Hidden: true},
	}}
	var b strings.Builder
	PrintCommand(&b, "rolesweep", cmd, []string{"Input", "Safety"})
	out := b.String()
	assert.Less(t, strings.Index(out, "Input:"), strings.Index(out, "Safety:"))
	assert.Less(t, strings.Index(out, "--zeta"), strings.Index(out, "--alpha"), "declared order within a group")
	assert.NotContains(t, out, "--hidden")
	assert.Contains(t, out, "  rolesweep apply x.csv")
}
