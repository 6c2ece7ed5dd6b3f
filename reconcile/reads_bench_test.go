package reconcile

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

// BenchmarkCheckedApplyReads runs a checked apply of a plan that touches 3
// roles held by 30,000 users and counts the reads the check made: per-user
// reads would cost one per user (30,000); the holder lists cost 3 probes
// plus ceil(holders/100) checkpoint pages per role. "split" spreads the
// 30,000 users over the 3 roles (10,000 holders each); "each" gives every
// user all 3. The plan removes the roles from every holder.
func BenchmarkCheckedApplyReads(b *testing.B) {
	for _, row := range []struct {
		name  string
		split bool
	}{{"split-3x10000", true}, {"each-3x30000", false}} {
		b.Run(row.name, func(b *testing.B) {
			for b.Loop() {
				runCheckedApplyReads(b, row.split)
			}
		})
	}
}

func runCheckedApplyReads(b *testing.B, split bool) {
	const users = 30000
	tn := sandbox.New(sandbox.Options{})
	roles := []string{roleA, roleB, roleC}
	for _, r := range roles {
		tn.AddRole(r, "Role "+r[4:8])
	}
	tn.AddRole(survivor, "Survivor")
	rows := make([]input.Row, 0, 3*users)
	for i := range users {
		u := fmt.Sprintf("auth0|bench%06d", i)
		held := roles
		if split {
			held = roles[i%3 : i%3+1]
		}
		tn.AddUser(u, "", append([]string{survivor}, held...)...)
		for _, r := range held {
			rows = append(rows, input.Row{Line: len(rows) + 2, UserID: u, RoleID: r})
		}
	}
	srv := httptest.NewServer(tn)
	defer srv.Close()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	client, err := management.New(management.Config{Domain: srv.URL, APIToken: tn.Token(), HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		b.Fatal(err)
	}
	p := buildPlan(&input.Source{Rows: rows})
	out := p.Outcomes(report.Skipped, report.Failed)
	x := &Executor{API: client, Pacer: pacer.New(pacer.Config{MaxRetries: 5}), Concurrency: DefaultConcurrency, Check: true}
	start := time.Now()
	if err := x.Read(context.Background(), p, out, nil); err != nil {
		b.Fatal(err)
	}
	readTime := time.Since(start)
	reads := tn.Stats().Total
	if err := x.Execute(context.Background(), p, out, nil); err != nil {
		b.Fatal(err)
	}
	for i, o := range out {
		if o.Status != report.Removed {
			b.Fatalf("triple %d: %+v", i, o)
		}
	}
	st := x.ReadStats()
	if st.Strategy != PerRole {
		b.Fatalf("strategy %s, want per-role", st.Strategy)
	}
	b.ReportMetric(float64(reads), "reads")
	b.ReportMetric(float64(st.EstUserCost), "per-user-reads")
	b.ReportMetric(readTime.Seconds(), "read-s")
	b.ReportMetric(float64(tn.Stats().Requests["DELETE /api/v2/users/{id}/roles"][204]), "deletes")
}
