package report

import (
	"fmt"
	"io"
	"testing"
)

// benchReport is a checked plan of 100,000 results over 40,000 users.
func benchReport() *Report {
	r := &Report{Version: Version, Command: "apply", Domain: "acme.eu.auth0.com", Input: Input{Path: "big.csv", Format: "csv", Rows: 100_000}}
	for i := range 100_000 {
		r.Results = append(r.Results, Result{
			UserID: fmt.Sprintf("auth0|%024x", i*2/5), RoleID: fmt.Sprintf("rol_%016d", i%7),
			Status: Removed, HTTPStatus: 204, Attempts: 1, Lines: []int{i + 2}, Reason: "2026-Q4 access review",
		})
	}
	r.Tally()
	r.SetOutcome()
	return r
}

func BenchmarkWrite100k(b *testing.B) {
	r := benchReport()
	for _, format := range []string{"json", "csv", "md", "text"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				if err := Write(io.Discard, format, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("digest", func(b *testing.B) {
		for b.Loop() {
			Digest(r)
		}
	})
	b.Run("tally", func(b *testing.B) {
		for b.Loop() {
			r.Tally()
		}
	})
}

// BenchmarkWriteJSON1M is the JSON writer's share of `plan --format json` on
// a million rows (issue 12: the whole command must stay under 3 s).
func BenchmarkWriteJSON1M(b *testing.B) {
	r := &Report{Version: Version, Command: "plan", Outcome: Planned, Input: Input{Path: "big.csv", Format: "csv", Rows: 1_000_000}}
	r.Results = make([]Result, 1_000_000)
	for i := range r.Results {
		r.Results[i] = Result{
			UserID: fmt.Sprintf("auth0|%024x", i/3), RoleID: fmt.Sprintf("rol_%016d", i%20),
			Status: PlanRemove, Lines: []int{i + 2}, Reason: "2026-Q4 access review CERT-1182",
		}
	}
	r.Tally()
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
