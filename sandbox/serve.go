package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Serve listens on listen (loopback only), prints the tenant's connection
// settings as shell export lines, and serves until ctx is done, then shuts
// down gracefully. Port 0 picks a free port; the printed domain has the real
// one. The four lines are, in this order:
//
//	export AUTH0_DOMAIN=http://127.0.0.1:PORT
//	export AUTH0_API_TOKEN=…
//	# or, to exercise client credentials instead of the token:
//	# export AUTH0_CLIENT_ID=… AUTH0_CLIENT_SECRET=…
//
// They are exports so that `eval "$(…)"` or `. sandbox.env` reaches the
// rolesweep process started next, not just the shell. The client
// credentials are a comment so that eval sets exactly one way to
// authenticate: rolesweep refuses a token and client credentials together;
// uncommenting that line (and unsetting AUTH0_API_TOKEN) switches.
//
// Printing credentials is intended here: the sandbox made them up, they open
// nothing but this loopback process, and `eval "$(rolesweep sandbox …)"`
// needs them.
func Serve(ctx context.Context, listen string, t *Tenant, stdout io.Writer) error {
	if err := checkLoopback(listen); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() { // "localhost" resolved elsewhere
		_ = ln.Close()
		return fmt.Errorf("sandbox: refusing to listen on %s: not a loopback address", addr)
	}
	domain := "http://" + net.JoinHostPort(addr.IP.String(), fmt.Sprint(addr.Port))
	_, err = fmt.Fprintf(stdout, "export AUTH0_DOMAIN=%s\nexport AUTH0_API_TOKEN=%s\n# or, to exercise client credentials instead of the token:\n# export AUTH0_CLIENT_ID=%s AUTH0_CLIENT_SECRET=%s\n",
		shellQuote(domain), shellQuote(t.Token()), shellQuote(t.ClientID()), shellQuote(t.ClientSecret()))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("sandbox: %w", err)
	}

	srv := &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("sandbox: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// checkLoopback refuses anything but 127.0.0.0/8, ::1 and localhost: the
// sandbox hands out credentials that anyone who reaches it could use.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("sandbox: listen address %q: %w", listen, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("sandbox: refusing to listen on %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", listen)
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote leaves plain values alone and single-quotes the rest.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
