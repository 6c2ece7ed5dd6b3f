package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// userLabel names a result's user for people: the id, with the email it was
// resolved from when there is one, or the email alone when it did not resolve.
func userLabel(res *Result) string {
	switch {
	case res.UserID != "" && res.UserEmail != "":
		return res.UserID + " (" + res.UserEmail + ")"
	case res.UserID != "":
		return res.UserID
	default:
		return res.UserEmail
	}
}

// groupLabel names an (organization, user) pair.
func groupLabel(res *Result) string {
	if res.OrganizationID != "" {
		return res.OrganizationID + " / " + userLabel(res)
	}
	return userLabel(res)
}

// roleLabel names a result's role: the id, with the name it was resolved from,
// or the name marked as such when it did not resolve to an id.
func roleLabel(res *Result) string {
	switch {
	case res.RoleID != "" && res.RoleName != "":
		return res.RoleID + " (" + res.RoleName + ")"
	case res.RoleID != "":
		return res.RoleID
	default:
		return res.RoleName + " (name)"
	}
}

// linesLabel renders input lines as "line 2" or "lines 3, 9".
func linesLabel(lines []int) string {
	switch len(lines) {
	case 0:
		return ""
	case 1:
		return "line " + strconv.Itoa(lines[0])
	default:
		return "lines " + joinInts(lines, ", ")
	}
}

func joinInts(values []int, sep string) string {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strconv.Itoa(v))
	}
	return b.String()
}

// statusDetail is the status with its error, e.g. `unresolved: no role named "X"`.
func statusDetail(res *Result) string {
	if res.Error == "" {
		return string(res.Status)
	}
	return string(res.Status) + ": " + res.Error
}

// plural renders "1 user" / "2 users".
func plural(n int, singular, pluralForm string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + pluralForm
}

// shortDigest abbreviates a hex digest to its first and last four characters,
// enough to compare by eye with `sha256sum`.
func shortDigest(digest string) string {
	digest = strings.TrimPrefix(digest, "sha256:")
	runes := []rune(digest)
	if len(runes) <= 12 {
		return digest
	}
	return string(runes[:4]) + "…" + string(runes[len(runes)-4:])
}

// inputName is how the input file is named to people.
func inputName(in Input) string {
	switch in.Path {
	case "":
		return "(unnamed input)"
	case "-":
		return "standard input"
	default:
		return in.Path
	}
}

// inputDescription renders "(csv, 26 rows, sha256 3f2a…9c1e)".
func inputDescription(in Input, fullDigest bool) string {
	var parts []string
	if in.Format != "" {
		parts = append(parts, in.Format)
	}
	parts = append(parts, plural(in.Rows, "row", "rows"))
	if in.SHA256 != "" {
		digest := in.SHA256
		if !fullDigest {
			digest = shortDigest(digest)
		}
		parts = append(parts, "sha256 "+digest)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// formatTime renders a time for people; the zero time (never set) as "-".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// terminalSafe makes user-supplied text safe to print on a terminal and in a
// one-line cell: control characters (including ESC, which could rewrite the
// screen) and the Unicode bidirectional overrides (which can make a printed
// id read differently from the bytes sent) are shown as escapes, and invalid
// UTF-8 as U+FFFD.
func terminalSafe(s string) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case needsEscape(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == utf8.RuneError:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}
