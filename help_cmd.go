package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/rolesweep/rolesweep/usage"
)

// helpTopics are the `rolesweep help TOPIC` pages that are not commands.
var helpTopics = map[string]func(w io.Writer){}

// printHelp replaces urfave/cli's help templates (cli.HelpPrinter): the
// flags come in their categories, in flagCategories' order.
func printHelp(w io.Writer, _ string, data any) {
	switch d := data.(type) {
	case *cli.Command:
		usage.PrintCommand(w, "rolesweep", d, flagCategories)
	case *cli.App:
		usage.PrintApp(w, d)
	}
}

// helpCommands are help, version, completion and the hidden man.
func helpCommands() []*cli.Command {
	return usage.Commands(usage.Options{
		Categories: flagCategories,
		Topics:     helpTopics,
		Version:    func() string { return currentVersion().String() },
		UsageError: func(msg string) error { return &usageError{msg} },
	})
}

// flagUsageError is every command's OnUsageError: a short usage error.
func flagUsageError(c *cli.Context, err error, _ bool) error {
	return &usageError{usage.FlagError(c, err)}
}
