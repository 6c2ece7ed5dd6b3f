// Package usage is how rolesweep explains itself: command and flag help
// grouped by category, "did you mean" suggestions, and shell completion. It
// knows urfave/cli's types but nothing of rolesweep's commands.
package usage

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

// FlagLine is one flag's line in help: its names with the placeholder its
// usage quotes (`FILE` in "write to `FILE`"), a tab, the usage, a default
// only when it says something (never "false", "0" or ""), and the
// environment variable the flag falls back to.
func FlagLine(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return ""
	}
	placeholder, text := Unquote(df.GetUsage())
	if df.TakesValue() && placeholder == "" {
		placeholder = "VALUE"
	}
	names := make([]string, 0, len(df.Names()))
	for _, n := range df.Names() {
		names = append(names, dashed(n))
	}
	line := strings.Join(names, ", ")
	if placeholder != "" {
		line += " " + placeholder
	}
	if !strings.Contains(text, "(default") {
		if d := strings.Trim(df.GetDefaultText(), `"`); d != "" && d != "false" && d != "0" && d != "0s" && d != "[]" {
			text += " (default: " + d + ")"
		}
	}
	if env := df.GetEnvVars(); len(env) > 0 {
		text += " [$" + strings.Join(env, ", $") + "]"
	}
	return line + "\t" + text
}

// Unquote returns the placeholder that usage quotes in backquotes, and the
// usage without the quotes.
func Unquote(usage string) (placeholder, text string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// categoryOf is a flag's category; "" when it has none.
func categoryOf(f cli.Flag) string {
	if cf, ok := f.(cli.CategorizableFlag); ok {
		return cf.GetCategory()
	}
	return ""
}

func visible(f cli.Flag) bool {
	vf, ok := f.(cli.VisibleFlag)
	return !ok || vf.IsVisible()
}

// PrintCommand writes a command's help: what it does, how it is called,
// its description (which holds the examples), then its flags in groups, in
// the order of categories and, within a group, in the order declared.
func PrintCommand(w io.Writer, program string, cmd *cli.Command, categories []string) {
	fmt.Fprintf(w, "%s %s - %s\n\nUsage:\n  %s\n", program, cmd.Name, cmd.Usage,
		strings.TrimSpace(program+" "+cmd.Name+" [flags] "+cmd.ArgsUsage))
	if cmd.Description != "" {
		fmt.Fprintf(w, "\n%s\n", indent(strings.TrimRight(cmd.Description, "\n"), "  "))
	}
	groups := map[string][]cli.Flag{}
	for _, f := range cmd.Flags {
		if visible(f) && f.Names()[0] != "help" {
			groups[categoryOf(f)] = append(groups[categoryOf(f)], f)
		}
	}
	order := append([]string{}, categories...)
	for c := range groups {
		if !slices.Contains(order, c) && c != "" {
			order = append(order, c)
		}
	}
	order = append(order, "")
	for _, c := range order {
		fs := groups[c]
		if len(fs) == 0 {
			continue
		}
		title := c
		if title == "" {
			title = "Other"
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range fs {
			fmt.Fprintln(tw, "  "+FlagLine(f))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\n  -h, --help  show this help\n")
}

// PrintApp writes the program's help: what it does and its commands.
func PrintApp(w io.Writer, app *cli.App) {
	fmt.Fprintf(w, "%s - %s\n\nUsage:\n  %s COMMAND [flags] [FILE]\n\nCommands:\n", app.Name, app.Usage, app.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range app.VisibleCommands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Usage)
	}
	tw.Flush()
	if app.Description != "" {
		fmt.Fprintf(w, "\n%s\n", indent(strings.TrimRight(app.Description, "\n"), "  "))
	}
	fmt.Fprintf(w, "\nRun '%s help COMMAND' for a command's flags and examples.\n", app.Name)
}

func indent(s, by string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n")
}
