package usage

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Options are what the generic commands need to know of the program.
type Options struct {
	Categories []string                   // flag categories, in the order help shows them
	Topics     map[string]func(io.Writer) // `help TOPIC` pages that are not commands
	Version    func() string              // the answer of `version`
	// UsageError wraps a message as the program's usage error (exit 2).
	UsageError func(msg string) error
}

// Commands are help [COMMAND | TOPIC], version, completion bash|zsh|fish and
// a hidden man (the man page, for `make man`).
func Commands(o Options) []*cli.Command {
	return []*cli.Command{
		{
			Name:        "help",
			Usage:       "show the help of a command or of a topic",
			ArgsUsage:   "[COMMAND | TOPIC]",
			Description: "Examples:\n  PROG help apply\n  PROG apply --help",
			Action:      func(c *cli.Context) error { return help(c, o) },
		},
		{
			Name:        "version",
			Usage:       "print the version, commit and build date",
			Description: "Example:\n  PROG version",
			Action: func(c *cli.Context) error {
				_, err := fmt.Fprint(c.App.Writer, o.Version())
				return err
			},
		},
		{
			Name:      "completion",
			Usage:     "print a shell completion script",
			ArgsUsage: "bash|zsh|fish",
			Description: "Examples:\n" +
				"  source <(PROG completion bash)          # in ~/.bashrc\n" +
				"  PROG completion zsh > \"${fpath[1]}/_PROG\"\n" +
				"  PROG completion fish > ~/.config/fish/completions/PROG.fish",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return o.UsageError("completion needs one shell: bash, zsh or fish\nsee " + c.App.Name + " help completion")
				}
				script, err := Script(c.App, c.Args().First())
				if err != nil {
					return o.UsageError(err.Error())
				}
				_, err = fmt.Fprint(c.App.Writer, script)
				return err
			},
		},
		{
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

func help(c *cli.Context, o Options) error {
	if c.NArg() == 0 {
		PrintApp(c.App.Writer, c.App)
		if len(o.Topics) > 0 {
			topics := slices.Sorted(maps.Keys(o.Topics))
			fmt.Fprintf(c.App.Writer, "Topics: %s help %s\n", c.App.Name, strings.Join(topics, " | "))
		}
		return nil
	}
	name := c.Args().First()
	if topic, ok := o.Topics[name]; ok {
		topic(c.App.Writer)
		return nil
	}
	if cmd := c.App.Command(name); cmd != nil {
		PrintCommand(c.App.Writer, c.App.Name, cmd, o.Categories)
		return nil
	}
	known := CommandNames(c.App)
	for t := range o.Topics {
		known = append(known, t)
	}
	slices.Sort(known)
	return o.UsageError(Unknown("help topic", name, known, c.App.Name+" help"))
}

// Unknown is the short usage message for a mistyped command or topic: what
// was not found, the closest known name, and where the help is.
func Unknown(what, typed string, known []string, see string) string {
	msg := fmt.Sprintf("unknown %s %q", what, typed)
	if s := Suggest(typed, known); s != "" {
		msg += fmt.Sprintf("\ndid you mean %s?", s)
	}
	return msg + "\nsee " + see
}

// FlagError is the short usage message for a command's flags (an
// OnUsageError): the error, a suggestion for a mistyped flag, and where the
// help is. Never the whole help.
func FlagError(c *cli.Context, err error) string {
	see, flags, name := c.App.Name+" help", c.App.Flags, c.App.Name
	if c.Command != nil && c.Command.Name != "" {
		see, flags, name = c.App.Name+" help "+c.Command.Name, c.Command.Flags, c.Command.Name
	}
	if typed := UnknownFlag(err); typed != "" {
		msg := fmt.Sprintf("%s: unknown flag %s", name, typed)
		if s := Suggest(typed, FlagNames(flags)); s != "" {
			msg += fmt.Sprintf("\ndid you mean %s?", s)
		}
		return msg + "\nsee " + see
	}
	return fmt.Sprintf("%s: %v\nsee %s", name, err, see)
}

// Expand replaces PROG in the descriptions of commands by the program's name.
func Expand(app *cli.App) {
	for _, c := range app.Commands {
		c.Description = replaceProg(c.Description, app.Name)
	}
}
