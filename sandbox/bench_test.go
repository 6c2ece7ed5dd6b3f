package sandbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkDeleteUserRoles measures a full DELETE round trip over loopback
// with parallel clients (no latency, no rate limit).
func BenchmarkDeleteUserRoles(b *testing.B) {
	tn := New(Options{})
	tn.AddRole(rolA, "A")
	for i := range 1000 {
		tn.AddUser(fmt.Sprintf("auth0|u%d", i), "", rolA)
	}
	ts := httptest.NewServer(tn)
	defer ts.Close()
	srv := ts.URL
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			req, _ := http.NewRequest("DELETE", fmt.Sprintf("%s/api/v2/users/auth0%%7Cu%d/roles", srv, i%1000), strings.NewReader(`{"roles":["rol_AAAAAAAAAAAAAAAA"]}`))
			req.Header.Set("Authorization", "Bearer "+tn.Token())
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 204 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
