package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits that keep a Markdown report readable and under GitHub's 1 MiB
// step-summary limit ($GITHUB_STEP_SUMMARY refuses larger files).
const (
	// MarkdownMaxRows is how many rows the Markdown report lists; the full
	// JSON and CSV reports hold the rest.
	MarkdownMaxRows = 1000
	// markdownMaxBytes stops the row list early when long cells would push
	// the file past the limit, with room left for the closing note.
	markdownMaxBytes = 900 << 10
	// markdownMaxCell truncates one cell (a reason can be a page of text).
	markdownMaxCell = 300
	// markdownMaxRoles bounds the counts-per-role table.
	markdownMaxRoles = 200
)

// WriteMarkdown writes a report for people (reviewers read plans, CI shows
// reports as a step summary): title, metadata and run evidence, a summary
// table, the counts per role and status, then the rows grouped per user.
// A plan lists every planned removal and every row that will not be removed
// (all but absent); a run's report lists every row whose role is not gone
// (all but removed and absent); an undo report every row not restored or
// present. Past MarkdownMaxRows rows (or near 1 MiB) it says how many more
// there are and where they are: r.FullReports when the caller set it.
func WriteMarkdown(w io.Writer, r *Report) error {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriter(cw)
	plan := r.IsPlan()

	switch {
	case plan:
		fmt.Fprintf(bw, "# rolesweep plan\n\n")
	default:
		fmt.Fprintf(bw, "# rolesweep %s report\n\n", markdownCell(orDash(r.Command)))
	}
	for _, kv := range markdownMeta(r) {
		fmt.Fprintf(bw, "- **%s:** %s\n", kv[0], markdownCell(kv[1]))
	}

	statuses := Statuses(r.kindCommand())
	s := r.Summary
	fmt.Fprintf(bw, "\n## Summary\n\n| | count |\n|---|---:|\n")
	rows := [][2]any{{"users", s.Users}, {"roles", s.Roles}}
	for _, st := range statuses {
		rows = append(rows, [2]any{string(st), s.Count(st)})
	}
	rows = append(rows, [][2]any{{"duplicates merged", s.Duplicates}, {"excluded (--where)", s.Excluded},
		{"requests", s.Requests}, {"retries", s.Retries}, {"rate limited (429)", s.RateLimited}}...)
	for _, row := range rows {
		fmt.Fprintf(bw, "| %s | %d |\n", row[0], row[1])
	}

	writeRoleCounts(bw, r, statuses)

	var title, none string
	switch {
	case plan:
		title, none = "Planned removals", fmt.Sprintf("All %s already absent.", plural(r.Len(), "role", "roles"))
	case r.IsUndo():
		title, none = "Roles not restored", "Every removal is restored or present."
	default:
		title, none = "Roles not removed", fmt.Sprintf("All %s removed or already absent.", plural(r.Len(), "role", "roles"))
	}
	fmt.Fprintf(bw, "\n## %s\n\n", title)
	groups, total := markdownGroups(r, plan)
	if total == 0 {
		if r.Len() == 0 {
			none = "No roles in this " + map[bool]string{true: "plan", false: "report"}[plan] + "."
		}
		fmt.Fprintf(bw, "%s\n", none)
		return bw.Flush()
	}
	fmt.Fprintf(bw, "%s, grouped per user.\n\n", plural(total, "row", "rows"))
	if plan { // nothing was sent yet: no http or attempts to show
		fmt.Fprintf(bw, "| user | organization | role | status | detail | lines | reason |\n|---|---|---|---|---|---|---|\n")
	} else {
		fmt.Fprintf(bw, "| user | organization | role | status | http | attempts | error | lines | reason |\n|---|---|---|---|---:|---:|---|---|---|\n")
	}
	shown := 0
	for _, g := range groups {
		for k := range g {
			res := &g[k]
			if cw.n+int64(bw.Buffered()) > markdownMaxBytes {
				break
			}
			user, org := "", ""
			if k == 0 { // the group's first row names it; the rest stay blank
				user, org = markdownCell(userLabel(res)), markdownCell(res.OrganizationID)
			}
			httpStatus := ""
			if res.HTTPStatus != 0 {
				httpStatus = strconv.Itoa(res.HTTPStatus)
			}
			if plan {
				fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s |\n",
					user, org, markdownCell(roleLabel(res)), markdownCell(string(res.Status)),
					markdownCell(res.Error), joinInts(res.Lines, ", "), markdownCell(res.Reason))
				shown++
				continue
			}
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n",
				user, org, markdownCell(roleLabel(res)), markdownCell(string(res.Status)),
				httpStatus, res.Attempts, markdownCell(res.Error), joinInts(res.Lines, ", "), markdownCell(res.Reason))
			shown++
		}
	}
	if shown < total {
		fmt.Fprintf(bw, "\nShowing the first %d of %d rows; %s.\n", shown, total, markdownRest(r, plan))
	}
	return bw.Flush()
}

// kindCommand is the command whose statuses r's kind of file holds.
func (r *Report) kindCommand() string {
	switch {
	case r.IsPlan():
		return CommandPlan
	case r.IsUndo():
		return CommandUndo
	default:
		return CommandApply
	}
}

// Count returns the summary's count for a status.
func (s Summary) Count(st Status) int {
	switch st {
	case PlanRemove:
		return s.Remove
	case PlanUnresolved:
		return s.Unresolved
	case Removed:
		return s.Removed
	case Absent:
		return s.Absent
	case NotFound:
		return s.NotFound
	case Failed:
		return s.Failed
	case Skipped:
		return s.Skipped
	case Protected:
		return s.Protected
	case Restored:
		return s.Restored
	case Present:
		return s.Present
	case Unverified:
		return s.Unverified
	}
	return 0
}

func markdownMeta(r *Report) [][2]string {
	plan := r.IsPlan()
	meta := [][2]string{
		{"Tool", orDash(r.Tool)},
		{"Command", orDash(r.Command)},
		{"Tenant", tenantLabel(r.Domain, plan)},
		{"Input", inputName(r.Input) + " " + inputDescription(r.Input, true)},
	}
	if sw := r.Input.Sweep; sw != nil {
		roles := make([]string, len(sw.Roles))
		for i, role := range sw.Roles {
			roles[i] = role.ID
			if role.Name != "" {
				roles[i] += " (" + role.Name + ")"
			}
		}
		value := strings.Join(roles, ", ")
		if sw.Keep != nil {
			value += "; keep " + sw.Keep.Path + " (sha256 " + sw.Keep.SHA256 + ")"
		} else {
			value += "; no keep list"
		}
		meta = append(meta, [2]string{"Sweep", value})
	}
	if u := r.Input.Undoes; u != nil {
		meta = append(meta, [2]string{"Undoes", u.Path + " (sha256 " + u.SHA256 + ", tenant " + orDash(u.Domain) + ")"})
	}
	if r.PlanDigest != "" {
		meta = append(meta, [2]string{"Plan digest", r.PlanDigest})
	}
	meta = append(meta,
		[2]string{"Started", formatTime(r.StartedAt)},
		[2]string{"Finished", formatTime(r.FinishedAt)},
		[2]string{"Outcome", orDash(r.Outcome)},
	)
	if r.AbortReason != "" || r.Outcome == Aborted {
		meta = append(meta, [2]string{"Abort reason", orDash(r.AbortReason)})
	}
	if run := r.Run; run != nil {
		meta = append(meta, [2]string{"Operator", orDash(run.Operator)})
		if run.ClientID != "" {
			meta = append(meta, [2]string{"Client id", run.ClientID})
		}
		checked := "yes (current assignments read first)"
		if !run.Checked {
			checked = "no (--no-check: removed means the DELETE was accepted)"
		}
		meta = append(meta, [2]string{"Checked", checked}, [2]string{"Flags", flagsLabel(run.Flags)})
	}
	return meta
}

// flagsLabel renders the flags that shaped the run as the command line would.
func flagsLabel(f RunFlags) string {
	var parts []string
	add := func(on bool, flag string) {
		if on {
			parts = append(parts, flag)
		}
	}
	list := func(flag string, values []string) {
		for _, v := range values {
			parts = append(parts, flag+" "+v)
		}
	}
	add(f.Verify, "--verify")
	if f.MaxRemovals != nil {
		parts = append(parts, "--max-removals "+strconv.Itoa(*f.MaxRemovals))
	}
	if f.Reserve != nil {
		parts = append(parts, "--reserve "+strconv.Itoa(*f.Reserve))
	}
	list("--protect", f.Protect)
	list("--protect-user", f.ProtectUsers)
	list("--protect-role", f.ProtectRoles)
	add(f.SkipProtected, "--skip-protected")
	if f.Preset != "" {
		parts = append(parts, "--preset "+f.Preset)
	}
	list("--map", f.Map)
	list("--where", f.Where)
	add(f.AllowExtraColumns, "--allow-extra-columns")
	add(f.IncludeUnverified, "--include-unverified")
	add(f.DryRun, "--dry-run")
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// writeRoleCounts writes the table of counts per role (in order of first
// appearance) and status.
func writeRoleCounts(bw *bufio.Writer, r *Report, statuses []Status) {
	type roleRow struct {
		label  string
		counts []int
	}
	column := make(map[Status]int, len(statuses))
	for i, st := range statuses {
		column[st] = i
	}
	index := map[string]int{}
	var roles []roleRow
	for res := range r.Rows() {
		key := "id:" + res.RoleID
		if res.RoleID == "" {
			key = "name:" + res.RoleName
		}
		i, ok := index[key]
		if !ok {
			i = len(roles)
			index[key] = i
			roles = append(roles, roleRow{label: roleLabel(res), counts: make([]int, len(statuses))})
		} else if res.RoleName != "" && !strings.Contains(roles[i].label, "(") {
			roles[i].label = roleLabel(res) // the name became known on a later row
		}
		if c, ok := column[res.Status]; ok {
			roles[i].counts[c]++
		}
	}
	if len(roles) == 0 {
		return
	}
	fmt.Fprintf(bw, "\n## Per role\n\n| role |")
	for _, st := range statuses {
		fmt.Fprintf(bw, " %s |", st)
	}
	fmt.Fprintf(bw, "\n|---|%s\n", strings.Repeat("---:|", len(statuses)))
	for i, role := range roles {
		if i == markdownMaxRoles {
			fmt.Fprintf(bw, "\n… and %s (the JSON and CSV reports list every result)\n", plural(len(roles)-i, "more role", "more roles"))
			break
		}
		fmt.Fprintf(bw, "| %s |", markdownCell(role.label))
		for _, n := range role.counts {
			fmt.Fprintf(bw, " %d |", n)
		}
		bw.WriteByte('\n')
	}
}

// listed reports whether a result belongs in the Markdown row list.
func (r *Report) listed(status Status, plan bool) bool {
	switch {
	case plan:
		return status != PlanAbsent
	case r.IsUndo():
		return status != Restored && status != Present
	default:
		return status != Removed && status != Absent
	}
}

// markdownGroups returns the listed rows grouped per (organization, user) in
// order of first appearance, at most MarkdownMaxRows of them in that order,
// and how many rows are listed in all. Rows are copied (Rows may reuse its
// value), and never more than MarkdownMaxRows+1 are held, whatever the size
// of the report.
func markdownGroups(r *Report, plan bool) (groups [][]Result, total int) {
	index := map[GroupKey]int{}
	held := 0
	for res := range r.Rows() {
		if !r.listed(res.Status, plan) {
			continue
		}
		total++
		key := KeyOf(res.OrganizationID, res.UserID, res.UserEmail)
		g, ok := index[key]
		if !ok {
			g = len(index)
			index[key] = g
			if g == len(groups) && held < MarkdownMaxRows {
				groups = append(groups, nil)
			}
		}
		if g >= len(groups) {
			continue // starts past the shown rows: counted only
		}
		groups[g] = append(groups[g], *res)
		held++
		// Keep the first MarkdownMaxRows rows in grouped order: drop from
		// the end of the last group.
		for held > MarkdownMaxRows {
			last := len(groups) - 1
			groups[last] = groups[last][:len(groups[last])-1]
			held--
			if len(groups[last]) == 0 {
				groups = groups[:last]
			}
		}
	}
	return groups, total
}

// markdownRest says where the rows that are not shown are.
func markdownRest(r *Report, plan bool) string {
	if len(r.FullReports) > 0 {
		return "every row is in " + markdownCell(strings.Join(r.FullReports, ", "))
	}
	if plan {
		return "`rolesweep plan --format csv` (or `--out PLAN.json`) lists every row"
	}
	return "the JSON and CSV reports of this run list every row"
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tenantLabel(domain string, plan bool) string {
	switch {
	case domain != "":
		return domain
	case plan:
		return "not contacted (offline plan)"
	default:
		return "-"
	}
}

// markdownEscaper keeps untrusted text inside its table cell or list item.
// Every Auth0 user id contains "|", which would otherwise split the cell;
// a newline would end the table row, so line breaks are shown escaped, as
// `\n`, like on a terminal. The backslash is escaped first so that a
// trailing "\" cannot un-escape the pipe after it, and <, > and & are
// entities so that input text cannot become HTML in a rendered report.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`,
	`|`, `\|`,
	"&", "&amp;",
	"<", "&lt;",
	">", "&gt;",
	"\r\n", `\r\n`,
	"\n", `\n`,
	"\r", `\r`,
)

// markdownText escapes s for a Markdown table cell or list item; control
// characters left are shown as escapes, as on a terminal (the file is as
// likely to be read with cat as rendered).
func markdownText(s string) string {
	return terminalSafe(markdownEscaper.Replace(s))
}

// markdownCell is markdownText for a cell, cut to markdownMaxCell runes
// first so that one long reason cannot fill the step summary.
func markdownCell(s string) string {
	if utf8.RuneCountInString(s) > markdownMaxCell {
		runes := []rune(s)
		s = string(runes[:markdownMaxCell]) + "…"
	}
	return markdownText(s)
}
