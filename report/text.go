package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits that keep the text plan readable at 100,000 rows: beyond
// textMaxGroups users only the first textShownGroups are listed.
const (
	textMaxGroups   = 50
	textShownGroups = 20

	// Column widths are taken from the longest cell but capped, so that one
	// long role name does not push every other row off the screen. The status
	// column fits the status words; an error message after one overflows into
	// the reason, which is last and unaligned anyway.
	textMaxRoleWidth   = 40
	textMaxLinesWidth  = 16
	textMaxStatusWidth = 12
)

// WritePlanText writes a plan (or an apply report) for a terminal: a summary
// block, then each (organization, user) group in the order it first appears
// with its roles, their input lines, any status other than the expected one
// (remove in plans, removed in reports) and the reason. Past 50 users it
// lists the first 20 and says how many more there are. It uses r.Summary as
// it is: call Tally first.
//
// Text from the input or the API is printed with control characters and
// bidirectional overrides escaped, so a crafted reason cannot rewrite the
// terminal or disguise an id.
func WritePlanText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	plan := r.IsPlan()
	s := r.Summary

	noun := "Report"
	if plan {
		noun = "Plan"
	}
	fmt.Fprintf(bw, "%s for %s %s\n", noun, terminalSafe(inputName(r.Input)), terminalSafe(inputDescription(r.Input, false)))
	fmt.Fprintf(bw, "Tenant: %s\n", terminalSafe(tenantLabel(r.Domain, plan)))
	if !plan {
		outcome := orDash(r.Outcome)
		if r.AbortReason != "" {
			outcome += ": " + r.AbortReason
		}
		fmt.Fprintf(bw, "Outcome: %s\n", terminalSafe(outcome))
	}

	counts := []string{plural(s.Users, "user", "users")}
	switch {
	case plan && s.Remove == s.Roles:
		counts = append(counts, plural(s.Roles, "role", "roles")+" to remove")
	case plan:
		counts = append(counts, plural(s.Roles, "role", "roles"), fmt.Sprintf("%d to remove", s.Remove))
	default:
		counts = append(counts, plural(s.Roles, "role", "roles"))
	}
	if s.Duplicates > 0 {
		counts = append(counts, plural(s.Duplicates, "duplicate", "duplicates")+" merged")
	}
	if s.Excluded > 0 {
		counts = append(counts, plural(s.Excluded, "row", "rows")+" excluded (--where)")
	}
	fmt.Fprintf(bw, "%s\n", strings.Join(counts, ", "))

	type class struct {
		name  string
		count int
	}
	var classes []class
	if plan {
		classes = []class{{"remove", s.Remove}, {"absent", s.Absent}, {"not_found", s.NotFound}, {"unresolved", s.Unresolved}}
	} else {
		classes = []class{{"removed", s.Removed}, {"absent", s.Absent}, {"not_found", s.NotFound}, {"failed", s.Failed}, {"skipped", s.Skipped}}
	}
	var shownClasses []string
	for i, c := range classes {
		// An offline plan cannot know what is absent or missing, so its
		// zero columns would be noise, not information.
		if plan && r.Domain == "" && i > 0 && c.count == 0 {
			continue
		}
		shownClasses = append(shownClasses, fmt.Sprintf("%s %d", c.name, c.count))
	}
	fmt.Fprintf(bw, "  %s\n", strings.Join(shownClasses, " · "))
	if !plan {
		fmt.Fprintf(bw, "  %s · %s · %d rate-limited\n",
			plural(s.Requests, "request", "requests"), plural(s.Retries, "retry", "retries"), s.RateLimited)
	}

	if r.Len() == 0 {
		if plan {
			fmt.Fprintf(bw, "\nNothing to remove.\n")
		} else {
			fmt.Fprintf(bw, "\nNo results.\n")
		}
		return bw.Flush()
	}

	shown, hiddenUsers, hiddenRoles := groupResults(r)

	expected := Removed
	if plan {
		expected = PlanRemove
	}
	type row struct{ role, lines, status, reason string }
	rows := make([][]row, len(shown))
	var roleWidth, linesWidth, statusWidth int
	for g, members := range shown {
		rows[g] = make([]row, len(members))
		for k, i := range members {
			res := new(r.At(i))
			cells := row{
				role:   terminalSafe(roleLabel(res)),
				lines:  linesLabel(res.Lines),
				reason: terminalSafe(res.Reason),
			}
			if res.Status != expected || res.Error != "" {
				cells.status = terminalSafe(statusDetail(res))
			}
			rows[g][k] = cells
			roleWidth = max(roleWidth, min(utf8.RuneCountInString(cells.role), textMaxRoleWidth))
			linesWidth = max(linesWidth, min(utf8.RuneCountInString(cells.lines), textMaxLinesWidth))
			statusWidth = max(statusWidth, min(utf8.RuneCountInString(cells.status), textMaxStatusWidth))
		}
	}

	var line strings.Builder
	for g, members := range shown {
		fmt.Fprintf(bw, "\n%s\n", terminalSafe(groupLabel(new(r.At(members[0])))))
		for _, cells := range rows[g] {
			line.Reset()
			line.WriteString("  - ")
			writePadded(&line, cells.role, roleWidth)
			if linesWidth > 0 {
				writePadded(&line, cells.lines, linesWidth)
			}
			if statusWidth > 0 {
				writePadded(&line, cells.status, statusWidth)
			}
			line.WriteString(cells.reason)
			fmt.Fprintf(bw, "%s\n", strings.TrimRight(line.String(), " "))
		}
	}

	if hiddenUsers > 0 {
		where := "use --format json|csv for the full plan"
		if !plan {
			where = "the json and csv reports list every result"
		}
		fmt.Fprintf(bw, "\n… and %s (%s); %s\n",
			plural(hiddenUsers, "more user", "more users"), plural(hiddenRoles, "role", "roles"), where)
	}
	return bw.Flush()
}

// writePadded writes cell and pads it to width runes plus a two-space gutter.
func writePadded(b *strings.Builder, cell string, width int) {
	b.WriteString(cell)
	pad := width - utf8.RuneCountInString(cell)
	b.WriteString(strings.Repeat(" ", max(pad, 0)+2))
}

// groupResults returns the indexes of the results of the groups to show,
// grouped by (organization, user) in order of first appearance, and counts
// the users and roles left out: all groups up to textMaxGroups, else the
// first textShownGroups. Only the groups that may be shown keep their
// members, so a million-row plan is summarised without a list per user.
func groupResults(r *Report) (shown [][]int, hiddenUsers, hiddenRoles int) {
	index := make(map[GroupKey]int)
	for i := range r.Len() {
		res := r.At(i)
		key := KeyOf(res.OrganizationID, res.UserID, res.UserEmail)
		g, ok := index[key]
		if !ok {
			g = len(index)
			index[key] = g
		}
		if g < textMaxGroups {
			if g == len(shown) {
				shown = append(shown, nil)
			}
			shown[g] = append(shown[g], i)
		}
	}
	if len(index) <= textMaxGroups {
		return shown, 0, 0
	}
	kept := 0
	for _, members := range shown[:textShownGroups] {
		kept += len(members)
	}
	return shown[:textShownGroups], len(index) - textShownGroups, r.Len() - kept
}
