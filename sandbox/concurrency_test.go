package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentDeletes(t *testing.T) {
	// A real, small latency so that requests overlap.
	tn, srv := newServer(t, Options{Latency: 5 * time.Millisecond, Clock: realClock{}})
	tn.AddRole(rolA, "A")
	tn.AddRole(rolB, "B")
	tn.AddRole(rolKeep, "Keep")
	const n = 200
	for i := range n {
		tn.AddUser(fmt.Sprintf("auth0|user%03d", i), fmt.Sprintf("u%d@example.com", i), rolA, rolB, rolKeep)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("DELETE", fmt.Sprintf("%s/api/v2/users/auth0%%7Cuser%03d/roles", srv.URL, i),
				strings.NewReader(`{"roles":["rol_AAAAAAAAAAAAAAAA","rol_BBBBBBBBBBBBBBBB"]}`))
			req.Header.Set("Authorization", "Bearer "+tn.Token())
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 204 {
				errs <- fmt.Errorf("user %d: status %d", i, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range n {
		if got := tn.Roles(fmt.Sprintf("auth0|user%03d", i)); !equalStrings(got, []string{rolKeep}) {
			t.Fatalf("user %d holds %v", i, got)
		}
	}
	s := tn.Stats()
	if s.Total != n || s.Requests["DELETE /api/v2/users/{id}/roles"][204] != n || s.RolesRemoved != 2*n {
		t.Fatalf("stats = %+v", s)
	}
	if s.MaxInFlight < 2 || s.MaxInFlight > n {
		t.Fatalf("MaxInFlight = %d", s.MaxInFlight)
	}
}
