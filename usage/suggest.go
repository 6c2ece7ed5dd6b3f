package usage

import (
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// Suggest is the candidate closest to what was typed, or "" when none is
// close enough to be what the user meant: an edit distance of at most a
// third of the word (at least 1, at most 3), or typed being a prefix.
func Suggest(typed string, candidates []string) string {
	best, bestDist := "", -1
	limit := min(3, max(1, len(typed)/3))
	for _, c := range candidates {
		d := distance(typed, c)
		if len(typed) >= 3 && strings.HasPrefix(c, typed) {
			d = min(d, 1)
		}
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the optimal-string-alignment edit distance: insertions,
// deletions, substitutions and swaps of neighbours ("aply", "yse") cost 1.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// CommandNames are the names a user may type for the app's visible commands.
func CommandNames(app *cli.App) []string {
	var names []string
	for _, c := range app.VisibleCommands() {
		names = append(names, c.Names()...)
	}
	return names
}

// FlagNames are a command's visible flag names, with their dashes.
func FlagNames(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		if !visible(f) {
			continue
		}
		for _, n := range f.Names() {
			names = append(names, dashed(n))
		}
	}
	return append(names, "--help")
}

var undefinedFlag = regexp.MustCompile(`flag provided but not defined: -+(\S+)`)

// UnknownFlag is the flag a flag-parse error names as not defined ("yse"
// for "flag provided but not defined: -yse"), with two dashes; "" for any
// other error.
func UnknownFlag(err error) string {
	if err == nil {
		return ""
	}
	m := undefinedFlag.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return dashed(m[1])
}
