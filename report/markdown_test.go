package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hugeReport is an apply report of 1,500 failed rows over 500 users whose
// rows are interleaved in the input (user u's roles on lines far apart), so
// the Markdown report has to group and cap them.
func hugeReport() *Report {
	r := &Report{
		Version: Version, Tool: "rolesweep v0.1.0", Command: CommandApply, Domain: "acme.eu.auth0.com",
		Input:     Input{Path: "leavers.csv", Format: "csv", SHA256: inputSHA, Rows: 1500},
		StartedAt: fixedStart, FinishedAt: fixedFinish,
		Run:     &Run{Operator: "cron@batch-1", ClientID: "Xq3v9ZkP0aB7cD2eF5gH8iJ1kL4mN6oP", Checked: false},
		Summary: Summary{Requests: 1500, Excluded: 12},
	}
	for i := range 1500 {
		r.Results = append(r.Results, Result{
			UserID: fmt.Sprintf("auth0|%024x", i%500), RoleID: fmt.Sprintf("rol_%016d", i/500),
			Status: Failed, HTTPStatus: 503, Attempts: 4, Error: "503 Service Unavailable after 4 attempts",
			Lines: []int{i + 2}, Reason: "Q4 review\nleft the company",
		})
	}
	r.Tally()
	r.SetOutcome()
	r.FullReports = []string{"leavers-report.json", "leavers-report.csv"}
	return r
}

func TestMarkdownOver1000RowsGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, hugeReport()))
	out := buf.String()
	checkGolden(t, "huge-report.md", buf.Bytes())

	assert.Contains(t, out, "Showing the first 1000 of 1500 rows; every row is in leavers-report.json, leavers-report.csv.")
	assert.Equal(t, 1000, strings.Count(out, "| failed | 503 |"))
	// Grouped: the first user's three roles (lines 2, 502, 1002) come first.
	idx := strings.Index(out, "| auth0\\|000000000000000000000000 |")
	require.GreaterOrEqual(t, idx, 0)
	rows := strings.SplitN(out[idx:], "\n", 4)
	assert.Contains(t, rows[0], "| 2 |")
	assert.Contains(t, rows[1], "| 502 |")
	assert.Contains(t, rows[2], "| 1002 |")
	assert.True(t, strings.HasPrefix(rows[1], "|  |  | rol_"), "later rows of a group leave the user blank: %s", rows[1])
	assert.Contains(t, out, `Q4 review\nleft the company`)
	assert.Contains(t, out, "- **Checked:** no")
}

func TestMarkdownStaysUnderStepSummaryLimit(t *testing.T) {
	r := hugeReport()
	long := strings.Repeat("a justification that goes on | and on <x> ", 400) // ~17 KB
	for i := range r.Results {
		r.Results[i].Reason = long
		r.Results[i].Error = long
	}
	r.AbortReason = long
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, r))
	assert.Less(t, buf.Len(), 1<<20, "GitHub refuses step summaries over 1 MiB")
	assert.Contains(t, buf.String(), "Showing the first ")
	assert.Contains(t, buf.String(), "every row is in leavers-report.json")
}

func TestMarkdownPlanListsEveryPlannedRemoval(t *testing.T) {
	r := smallPlan()
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, r))
	out := buf.String()
	assert.Equal(t, 3, strings.Count(out, "| remove |  | "), "every planned removal is listed")
	assert.Equal(t, 2, strings.Count(out, "| unresolved | no "))
	assert.NotContains(t, out, "| absent |  | 4 |", "absent rows are only counted")
	assert.Contains(t, out, "| rol_Bq1x7P0aZk3LmN9c (Billing Admin) | 2 | 0 | 0 | 0 | 0 |")
	assert.Contains(t, out, "- **Operator:** bob@laptop")
	assert.Contains(t, out, "- **Flags:** --max-removals 500 --reserve 20 --protect break-glass.csv")
}

func TestMarkdownUndoReport(t *testing.T) {
	r := &Report{Command: CommandUndo, Input: Input{Undoes: &Undoes{Path: "run.json", SHA256: inputSHA, Domain: "acme.eu.auth0.com"}},
		Results: []Result{{UserID: "auth0|a", RoleID: "rol_1", Status: Restored}, {UserID: "auth0|b", RoleID: "rol_1", Status: Unverified}}}
	r.Tally()
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, r))
	out := buf.String()
	assert.Contains(t, out, "# rolesweep undo report")
	assert.Contains(t, out, "- **Undoes:** run.json (sha256 "+inputSHA+", tenant acme.eu.auth0.com)")
	assert.Contains(t, out, "## Roles not restored")
	assert.Contains(t, out, "| unverified |")
	assert.NotContains(t, out, "| restored |  |")
}
