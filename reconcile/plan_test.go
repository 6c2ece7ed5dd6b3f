package reconcile

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
)

func row(line int, user, role string) input.Row {
	return input.Row{Line: line, UserID: user, RoleID: role}
}

func TestBuildGroupsDedupesAndKeepsInputOrder(t *testing.T) {
	src := &input.Source{Path: "x.csv", Format: input.CSV, SHA256: "abc", Records: 7, Rows: []input.Row{
		row(2, "auth0|b", "rol_AAAAAAAAAAAAAAAA"),
		row(3, "auth0|a", "rol_BBBBBBBBBBBBBBBB"),
		{Line: 4, UserID: "auth0|b", RoleID: "rol_CCCCCCCCCCCCCCCC", Reason: "r1"},
		{Line: 5, UserID: "auth0|b", RoleID: "rol_AAAAAAAAAAAAAAAA", Reason: "dup"},
		{Line: 6, UserID: "auth0|b", RoleID: "rol_AAAAAAAAAAAAAAAA", OrganizationID: "org_1"},
		{Line: 7, UserEmail: "c@example.com", RoleName: "Billing Admin"},
		{Line: 8, UserID: "auth0|b", RoleID: "rol_AAAAAAAAAAAAAAAA", Reason: "dup"},
	}}
	p := buildPlan(src)
	if p.Duplicates != 2 {
		t.Errorf("Duplicates = %d, want 2", p.Duplicates)
	}
	if p.Input != (report.Input{Path: "x.csv", Format: "csv", SHA256: "abc", Rows: 7}) {
		t.Errorf("Input = %+v", p.Input)
	}
	type g struct {
		org, user string
		roles     []string
	}
	var got []g
	for _, grp := range p.Groups {
		var roles []string
		for _, ti := range grp.Triples {
			roles = append(roles, p.Triples[ti].RoleID+p.Triples[ti].RoleName)
		}
		got = append(got, g{grp.OrganizationID, grp.UserID + grp.UserEmail, roles})
	}
	want := []g{
		{"", "auth0|b", []string{"rol_AAAAAAAAAAAAAAAA", "rol_CCCCCCCCCCCCCCCC"}},
		{"", "auth0|a", []string{"rol_BBBBBBBBBBBBBBBB"}},
		{"org_1", "auth0|b", []string{"rol_AAAAAAAAAAAAAAAA"}},
		{"", "c@example.com", []string{"Billing Admin"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups:\n got %+v\nwant %+v", got, want)
	}
	first := p.Triples[p.Groups[0].Triples[0]]
	if !reflect.DeepEqual(first.Lines, []int{2, 5, 8}) || first.Reason != "dup" {
		t.Errorf("merged triple = %+v, want lines [2 5 8] and reason dup", first)
	}
}

func TestOutcomesMarkUnresolved(t *testing.T) {
	p := buildPlan(&input.Source{Rows: []input.Row{row(2, "auth0|a", "rol_AAAAAAAAAAAAAAAA"), {Line: 3, UserEmail: "x@example.com", RoleID: "rol_AAAAAAAAAAAAAAAA"}}})
	p.Unresolved[1] = "no user has the email"
	rs := p.Outcomes(report.Skipped, report.Failed)
	if rs[0].Status != report.Skipped || rs[1].Status != report.Failed || rs[1].Error != "no user has the email" {
		t.Errorf("results = %+v", rs)
	}
	if p.Removals() != 1 {
		t.Errorf("Removals = %d, want 1", p.Removals())
	}
}

func TestViolationsNameEveryLine(t *testing.T) {
	p := buildPlan(&input.Source{Rows: []input.Row{
		row(12, "auth0|admin", "rol_AAAAAAAAAAAAAAAA"),
		row(3, "auth0|x", "rol_BREAKGLASS00000"),
		row(2, "auth0|admin", "rol_CCCCCCCCCCCCCCCC"),
		row(4, "auth0|y", "rol_CCCCCCCCCCCCCCCC"),
	}})
	pr := Protection{Users: map[string]bool{"auth0|admin": true}, Roles: map[string]bool{"rol_BREAKGLASS00000": true}}
	got := p.Violations(pr, "in.csv")
	want := []string{
		"in.csv:2: refusing to remove rol_CCCCCCCCCCCCCCCC from auth0|admin: user auth0|admin is protected",
		"in.csv:3: refusing to remove rol_BREAKGLASS00000 from auth0|x: role rol_BREAKGLASS00000 is protected",
		"in.csv:12: refusing to remove rol_AAAAAAAAAAAAAAAA from auth0|admin: user auth0|admin is protected",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Violations:\n got %q\nwant %q", got, want)
	}
}

func TestSavedPlanRoundTripAndEditDetection(t *testing.T) {
	p := buildPlan(&input.Source{Path: "in.csv", SHA256: "s", Rows: []input.Row{row(2, "auth0|a", "rol_AAAAAAAAAAAAAAAA"), row(3, "auth0|a", "rol_BBBBBBBBBBBBBBBB")}})
	r := &report.Report{Version: 1, Command: "plan", Input: p.Input}
	r.Join(Rows{Plan: p, Outcomes: p.Outcomes(report.PlanRemove, report.PlanUnresolved)})
	r.PlanDigest = report.Digest(r)
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	q, err := FromSavedPlan("plan.json", back)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Groups) != 1 || len(q.Triples) != 2 || q.Triples[1].RoleID != "rol_BBBBBBBBBBBBBBBB" {
		t.Errorf("rebuilt plan = %+v", q)
	}
	back.Results[1].RoleID = "rol_EDITEDEDITEDEDIT"
	if _, err := FromSavedPlan("plan.json", back); err == nil {
		t.Error("an edited plan was accepted")
	}
}

func generatedSource(n int) *input.Source {
	rows := make([]input.Row, n)
	for i := range rows {
		rows[i] = input.Row{Line: i + 2, UserID: fmt.Sprintf("auth0|%024x", i/3), RoleID: fmt.Sprintf("rol_%016d", i%7), Reason: "campaign"}
	}
	return &input.Source{Rows: rows, Records: n}
}

func BenchmarkBuild100k(b *testing.B) {
	src := generatedSource(100_000)
	b.ReportAllocs()
	for b.Loop() {
		buildPlan(src)
	}
}

// buildPlan groups and deduplicates rows already in memory, as the CLI does
// while reading.
func buildPlan(src *input.Source) *Plan {
	b := NewBuilder(len(src.Rows))
	for _, r := range src.Rows {
		b.Add(r)
	}
	return b.Plan(src)
}
