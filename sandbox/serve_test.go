package sandbox

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServePrintsSettingsAndShutsDown(t *testing.T) {
	tn := New(Options{ClientID: "sandbox-cid", ClientSecret: "it's made up"})
	tn.AddUser(jane, "jane@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, "127.0.0.1:0", tn, w)
		w.Close()
	}()

	sc := bufio.NewScanner(out)
	var lines []string
	for len(lines) < 4 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 4 {
		t.Fatalf("printed %q", lines)
	}
	domain, ok := strings.CutPrefix(lines[0], "export AUTH0_DOMAIN=http://127.0.0.1:")
	if !ok || domain == "0" || domain == "" {
		t.Fatalf("line 1 = %q", lines[0])
	}
	wantRest := []string{
		"export AUTH0_API_TOKEN=" + tn.Token(),
		"# or, to exercise client credentials instead of the token:",
		`# export AUTH0_CLIENT_ID=sandbox-cid AUTH0_CLIENT_SECRET='it'\''s made up'`,
	}
	if !equalStrings(lines[1:], wantRest) {
		t.Fatalf("printed %q, want %q", lines[1:], wantRest)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()

	base := strings.TrimPrefix(lines[0], "export AUTH0_DOMAIN=")
	req, _ := http.NewRequest("GET", base+"/api/v2/users/"+janeEscaped+"/roles", nil)
	req.Header.Set("Authorization", "Bearer "+tn.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("served status %d", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get(base + "/__sandbox/stats"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestServeRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0", "10.0.0.1:8080", "127.0.0.1"} {
		err := Serve(context.Background(), addr, New(Options{}), io.Discard)
		if err == nil {
			t.Errorf("Serve(%q) = nil", addr)
		}
	}
	err := Serve(context.Background(), "0.0.0.0:0", New(Options{}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("error = %v", err)
	}
	for _, addr := range []string{"127.0.0.1:0", "127.1.2.3:0", "localhost:0", "[::1]:0"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4000": "http://127.0.0.1:4000",
		"abc123":                "abc123",
		"a b":                   "'a b'",
		"it's":                  `'it'\''s'`,
		"$(rm -rf /)":           "'$(rm -rf /)'",
		"":                      "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
