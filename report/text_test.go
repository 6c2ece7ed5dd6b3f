package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// planWithUsers is an offline plan of n users with one role each.
func planWithUsers(n int) *Report {
	r := &Report{Version: Version, Command: "plan", Outcome: Planned, Input: Input{Path: "in.csv", Format: "csv", Rows: n}}
	for i := range n {
		r.Results = append(r.Results, Result{UserID: fmt.Sprintf("auth0|u%03d", i), RoleID: "rol_NHBmr6NkzbRcHob1", Status: PlanRemove, Lines: []int{i + 2}})
	}
	r.Tally()
	return r
}

func planText(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePlanText(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestPlanTextSummarisesPastFiftyUsers(t *testing.T) {
	full := planText(t, planWithUsers(50))
	if strings.Count(full, "\nauth0|u") != 50 || strings.Contains(full, "more users") {
		t.Errorf("50 users must all be listed:\n%s", full)
	}

	r := planWithUsers(51)
	// A second role for a hidden user counts in the hidden roles.
	r.Results = append(r.Results, Result{UserID: "auth0|u050", RoleID: "rol_Bq1x7P0aZk3LmN9c", Status: PlanRemove, Lines: []int{99}})
	r.Tally()
	short := planText(t, r)
	if got := strings.Count(short, "\nauth0|u"); got != 20 {
		t.Errorf("listed %d users, want 20", got)
	}
	if !strings.HasSuffix(short, "\n… and 31 more users (32 roles); use --format json|csv for the full plan\n") {
		t.Errorf("missing or wrong tail:\n%s", short)
	}
	if !strings.HasPrefix(short, "Plan for in.csv (csv, 51 rows)\nTenant: not contacted (offline plan)\n51 users, 52 roles to remove\n  remove 52\n") {
		t.Errorf("header:\n%s", short[:200])
	}
}

func TestPlanTextGroupsInFirstAppearanceOrder(t *testing.T) {
	r := &Report{Command: "plan", Outcome: Planned, Results: []Result{
		{UserID: "auth0|b", RoleID: "rol_1", Status: PlanRemove, Lines: []int{2}},
		{UserID: "auth0|a", RoleID: "rol_1", Status: PlanRemove, Lines: []int{3}},
		{UserID: "auth0|b", OrganizationID: "org_1", RoleID: "rol_2", Status: PlanRemove, Lines: []int{4}},
		{UserID: "auth0|b", RoleID: "rol_3", Status: PlanRemove, Lines: []int{5}},
	}}
	r.Tally()
	got := planText(t, r)
	want := "\nauth0|b\n  - rol_1  line 2\n  - rol_3  line 5\n\nauth0|a\n  - rol_1  line 3\n\norg_1 / auth0|b\n  - rol_2  line 4\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("got:\n%s\nwant suffix:\n%s", got, want)
	}
	if !strings.Contains(got, "3 users, 4 roles to remove\n") {
		t.Errorf("counts line:\n%s", got)
	}
}

func TestPlanTextCheckedShowsEveryClass(t *testing.T) {
	r := planWithUsers(2)
	r.Domain = "acme.eu.auth0.com"
	got := planText(t, r)
	if !strings.Contains(got, "Tenant: acme.eu.auth0.com\n2 users, 2 roles to remove\n  remove 2 · absent 0 · not_found 0 · unresolved 0\n") {
		t.Errorf("header:\n%s", got)
	}
}

func TestPlanTextEmpty(t *testing.T) {
	r := &Report{Command: "plan", Outcome: Planned, Input: Input{Path: "-", Format: "yaml"}}
	r.Tally()
	want := "Plan for standard input (yaml, 0 rows)\nTenant: not contacted (offline plan)\n0 users, 0 roles to remove\n  remove 0\n\nNothing to remove.\n"
	if got := planText(t, r); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

func TestPlanTextEscapesTerminalControls(t *testing.T) {
	r := &Report{Command: "plan", Outcome: Planned, Results: []Result{{
		UserID:   "auth0|a\u202eevil",
		RoleName: "Admin\x1b[2J",
		Status:   PlanUnresolved,
		Error:    "no role named \"Admin\x1b[2J\"",
		Reason:   "multi\nline\ttab\x07bell\u009b31m",
		Lines:    []int{2},
	}}}
	r.Tally()
	got := planText(t, r)
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u009b", "line\ttab"} {
		if strings.Contains(got, bad) {
			t.Errorf("output contains %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{`auth0|a\u202eevil`, `Admin\x1b[2J (name)`, `multi\nline\ttab\x07bell\x9b31m`, `unresolved: no role named "Admin\x1b[2J"`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n") != 7 {
		t.Errorf("a newline in the reason broke the layout:\n%s", got)
	}
}

func TestPlanTextAlignsColumns(t *testing.T) {
	got := planText(t, smallPlan())
	// The lines column starts at the same offset on every role row.
	offset := -1
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, "  - ") {
			continue
		}
		i := strings.Index(line, "line")
		if offset == -1 {
			offset = len([]rune(line[:i]))
		} else if got := len([]rune(line[:i])); got != offset {
			t.Errorf("lines column at %d, want %d: %q", got, offset, line)
		}
	}
	if offset == -1 {
		t.Fatal("no role rows")
	}
}

func TestTerminalSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"café ·":          "café ·",
		"a\x00b":          `a\x00b`,
		"\x7f":            `\x7f`,
		"\u200fx":         `\u200fx`,
		"bad \xff utf8":   "bad \uFFFD utf8",
		"crlf\r\n":        `crlf\r\n`,
		"\u2066isolate":   `\u2066isolate`,
		"emoji 🙂 allowed": "emoji 🙂 allowed",
	} {
		if got := terminalSafe(in); got != want {
			t.Errorf("terminalSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
