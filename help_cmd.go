package main

import (
	"fmt"
	"io"
	"slices"

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

func helpCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:      "help",
			Usage:     "show the help of rolesweep, of a command or of a topic",
			ArgsUsage: "[COMMAND | TOPIC]",
			Description: "Examples:\n" +
				"  rolesweep help apply\n" +
				"  rolesweep apply --help",
			Action: cmdHelp,
		},
		{
			Name:        "version",
			Usage:       "print the version, commit and build date",
			Description: "Example:\n  rolesweep version",
			Action: func(c *cli.Context) error {
				_, err := fmt.Fprint(c.App.Writer, currentVersion().String())
				return err
			},
		},
		{
			Name:      "completion",
			Usage:     "print a shell completion script",
			ArgsUsage: "bash|zsh|fish",
			Description: "Examples:\n" +
				"  source <(rolesweep completion bash)                        # in ~/.bashrc\n" +
				"  rolesweep completion zsh > \"${fpath[1]}/_rolesweep\"\n" +
				"  rolesweep completion fish > ~/.config/fish/completions/rolesweep.fish",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("completion needs one shell: bash, zsh or fish\nsee rolesweep help completion")
				}
				script, err := usage.Script(c.App, c.Args().First())
				if err != nil {
					return usagef("%v", err)
				}
				_, err = fmt.Fprint(c.App.Writer, script)
				return err
			},
		},
		{
			// `make man` writes docs/rolesweep.1 with it.
			Name:   "man",
			Hidden: true,
			Usage:  "print the man page",
			Action: func(c *cli.Context) error {
				page, err := c.App.ToManWithSection(1)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(c.App.Writer, page)
				return err
			},
		},
	}
}

func cmdHelp(c *cli.Context) error {
	if c.NArg() == 0 {
		usage.PrintApp(c.App.Writer, c.App)
		return nil
	}
	name := c.Args().First()
	if topic, ok := helpTopics[name]; ok {
		topic(c.App.Writer)
		return nil
	}
	if cmd := c.App.Command(name); cmd != nil {
		usage.PrintCommand(c.App.Writer, "rolesweep", cmd, flagCategories)
		return nil
	}
	known := usage.CommandNames(c.App)
	for t := range helpTopics {
		known = append(known, t)
	}
	slices.Sort(known)
	return unknown("help topic", name, known, "rolesweep help")
}

// unknown is the short usage error for a mistyped command or topic.
func unknown(what, typed string, known []string, see string) error {
	msg := fmt.Sprintf("unknown %s %q", what, typed)
	if s := usage.Suggest(typed, known); s != "" {
		msg += fmt.Sprintf("\ndid you mean %s?", s)
	}
	return usagef("%s\nsee %s", msg, see)
}

// flagUsageError is the short usage error for a command's flags: the
// error, a suggestion for a mistyped flag, and where the help is.
func flagUsageError(c *cli.Context, err error, _ bool) error {
	see, flags, name := "rolesweep help", c.App.Flags, "rolesweep"
	if c.Command != nil && c.Command.Name != "" {
		see, flags, name = "rolesweep help "+c.Command.Name, c.Command.Flags, c.Command.Name
	}
	if typed := usage.UnknownFlag(err); typed != "" {
		msg := fmt.Sprintf("%s: unknown flag %s", name, typed)
		if s := usage.Suggest(typed, usage.FlagNames(flags)); s != "" {
			msg += fmt.Sprintf("\ndid you mean %s?", s)
		}
		return usagef("%s\nsee %s", msg, see)
	}
	return usagef("%s: %v\nsee %s", name, err, see)
}
