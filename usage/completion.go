package usage

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// CompleteFlag is the argument the bash and zsh scripts append to the words
// typed so far; the program then prints the candidates, one a line.
const CompleteFlag = "--generate-bash-completion"

// Complete prints the completion candidates for args (without the program
// name and without CompleteFlag): the flags of the command when the last
// word starts with "-", the commands when none was typed yet, and nothing
// otherwise, so that the shell falls back to file names.
func Complete(w io.Writer, app *cli.App, args []string) {
	var cmd *cli.Command
	for _, a := range args {
		if c := app.Command(a); c != nil && !strings.HasPrefix(a, "-") {
			cmd = c
			break
		}
	}
	last := ""
	if len(args) > 0 {
		last = args[len(args)-1]
	}
	switch {
	case strings.HasPrefix(last, "-") && cmd != nil:
		for _, n := range FlagNames(cmd.Flags) {
			if strings.HasPrefix(n, last) {
				fmt.Fprintln(w, n)
			}
		}
	case cmd == nil:
		for _, c := range app.VisibleCommands() {
			if strings.HasPrefix(c.Name, last) {
				fmt.Fprintln(w, c.Name)
			}
		}
	case cmd.Name == "help":
		for _, c := range app.VisibleCommands() {
			fmt.Fprintln(w, c.Name)
		}
	case cmd.Name == "completion":
		fmt.Fprintln(w, "bash\nzsh\nfish")
	}
}

// Script is the completion script of a shell: bash and zsh call the program
// back with CompleteFlag; fish gets urfave/cli's static script.
func Script(app *cli.App, shell string) (string, error) {
	switch shell {
	case "bash":
		return replaceProg(bashScript, app.Name), nil
	case "zsh":
		return replaceProg(zshScript, app.Name), nil
	case "fish":
		script, err := app.ToFishCompletion()
		return tidyFish(script), err
	default:
		return "", fmt.Errorf("no completion for shell %q (bash, zsh or fish)", shell)
	}
}

const bashScript = `# bash completion for PROG: source <(PROG completion bash)
_PROG_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local words=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
  local opts
  opts=$(PROG "${words[@]}" "$cur" ` + CompleteFlag + ` 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- "$cur"))
}
complete -o bashdefault -o default -F _PROG_complete PROG
`

const zshScript = `#compdef PROG
# zsh completion for PROG: PROG completion zsh > "${fpath[1]}/_PROG"
_PROG() {
  local -a opts
  opts=("${(@f)$(PROG "${words[@]:1:CURRENT-2}" "${words[CURRENT]}" ` + CompleteFlag + ` 2>/dev/null)}")
  if [[ -n "${opts[1]}" ]]; then
    compadd -a opts
  else
    _files
  fi
}
compdef _PROG PROG
`

// tidyFish drops the lines urfave/cli repeats and the backquotes of
// placeholders in descriptions.
func tidyFish(script string) string {
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(script, "\n") {
		if strings.HasPrefix(line, "complete ") {
			if seen[line] {
				continue
			}
			seen[line] = true
			line = strings.ReplaceAll(line, "`", "")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func replaceProg(s, name string) string { return strings.ReplaceAll(s, "PROG", name) }
