package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteMarkdown writes a report for people: title, metadata, a summary table
// and a table of every result that needs attention — everything but removed
// and absent (in plans: everything but remove and absent). Removed roles are
// listed in the JSON and CSV reports; repeating thousands of them here would
// bury the few that matter.
func WriteMarkdown(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	plan := r.IsPlan()

	if plan {
		fmt.Fprintf(bw, "# rolesweep plan\n\n")
	} else {
		fmt.Fprintf(bw, "# rolesweep %s report\n\n", markdownText(orDash(r.Command)))
	}
	meta := [][2]string{
		{"Tool", orDash(r.Tool)},
		{"Command", orDash(r.Command)},
		{"Tenant", tenantLabel(r.Domain, plan)},
		{"Input", inputName(r.Input) + " " + inputDescription(r.Input, true)},
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
	for _, kv := range meta {
		fmt.Fprintf(bw, "- **%s:** %s\n", kv[0], markdownText(kv[1]))
	}

	s := r.Summary
	fmt.Fprintf(bw, "\n## Summary\n\n| | count |\n|---|---:|\n")
	rows := [][2]any{{"users", s.Users}, {"roles", s.Roles}}
	if plan {
		rows = append(rows, [][2]any{{"remove", s.Remove}, {"absent", s.Absent}, {"not_found", s.NotFound}, {"unresolved", s.Unresolved}}...)
	} else {
		rows = append(rows, [][2]any{{"removed", s.Removed}, {"absent", s.Absent}, {"not_found", s.NotFound}, {"failed", s.Failed}, {"skipped", s.Skipped}}...)
	}
	rows = append(rows, [][2]any{{"duplicates merged", s.Duplicates}, {"requests", s.Requests}, {"retries", s.Retries}, {"rate limited (429)", s.RateLimited}}...)
	for _, row := range rows {
		fmt.Fprintf(bw, "| %s | %d |\n", row[0], row[1])
	}

	var attention []*Result
	for res := range r.Rows() {
		if needsAttention(res.Status, plan) {
			attention = append(attention, res)
		}
	}

	if plan {
		fmt.Fprintf(bw, "\n## Roles not planned for removal\n\n")
	} else {
		fmt.Fprintf(bw, "\n## Roles not removed\n\n")
	}
	switch {
	case r.Len() == 0 && plan:
		fmt.Fprintf(bw, "No roles in this plan.\n")
	case r.Len() == 0:
		fmt.Fprintf(bw, "No roles in this report.\n")
	case len(attention) == 0 && plan:
		fmt.Fprintf(bw, "All %s to be removed or already absent.\n", plural(r.Len(), "role", "roles"))
	case len(attention) == 0:
		fmt.Fprintf(bw, "All %s removed or already absent.\n", plural(r.Len(), "role", "roles"))
	case plan:
		fmt.Fprintf(bw, "| user | organization | role | status | detail | lines | reason |\n|---|---|---|---|---|---|---|\n")
		for _, res := range attention {
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s |\n",
				markdownText(userLabel(res)), markdownText(res.OrganizationID), markdownText(roleLabel(res)),
				markdownText(string(res.Status)), markdownText(res.Error), joinInts(res.Lines, ", "), markdownText(res.Reason))
		}
	default:
		fmt.Fprintf(bw, "| user | organization | role | status | http | attempts | error | lines | reason |\n|---|---|---|---|---:|---:|---|---|---|\n")
		for _, res := range attention {
			httpStatus := ""
			if res.HTTPStatus != 0 {
				httpStatus = strconv.Itoa(res.HTTPStatus)
			}
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n",
				markdownText(userLabel(res)), markdownText(res.OrganizationID), markdownText(roleLabel(res)),
				markdownText(string(res.Status)), httpStatus, res.Attempts, markdownText(res.Error),
				joinInts(res.Lines, ", "), markdownText(res.Reason))
		}
	}
	return bw.Flush()
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

// needsAttention reports whether a result belongs in the Markdown table: a
// role that is not (or will not be) gone from its user for certain.
func needsAttention(status Status, plan bool) bool {
	if plan {
		return status != PlanRemove && status != PlanAbsent
	}
	return status != Removed && status != Absent
}

// markdownEscaper keeps untrusted text inside its table cell or list item.
// Every Auth0 user id contains "|", which would otherwise split the cell;
// a newline would end the table row. The backslash is escaped first so that
// a trailing "\" cannot un-escape the pipe after it, and <, > and & are
// entities so that input text cannot become HTML in a rendered report.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`,
	`|`, `\|`,
	"&", "&amp;",
	"<", "&lt;",
	">", "&gt;",
	"\r\n", "<br>",
	"\n", "<br>",
	"\r", "<br>",
)

// markdownText escapes s for a Markdown table cell or list item; control
// characters left after the newlines became <br> are shown as escapes, as on
// a terminal (the file is as likely to be read with cat as rendered).
func markdownText(s string) string {
	return terminalSafe(markdownEscaper.Replace(s))
}
