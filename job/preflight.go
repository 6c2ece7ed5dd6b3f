package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// checkWritable proves, before anything is sent, that every path can be
// written the way reports are written (a temporary file in the directory,
// renamed over the path): v0.1 found out only after the last DELETE, and the
// removals were left without a record. field names the config field.
func checkWritable(field string, paths ...string) error {
	for _, p := range paths {
		if err := report.CheckWritable(p); err != nil {
			return &ConfigError{Field: field, Message: err.Error() + "; nothing was sent", Err: err}
		}
	}
	return nil
}

// preflightBudget bounds the preflight: longer than one token fetch may take
// (a slow token endpoint still gets its tries), shorter than forever.
const preflightBudget = management.DefaultTokenFetchBudget + 30*time.Second

// preflightTries and preflightPause let a connection that flapped once not
// end the run, while a tenant that is not there is known within a second.
const (
	preflightTries = 3
	preflightPause = 250 * time.Millisecond
)

// preflight reaches the tenant once before anything is sent: DNS, TLS, a
// token and one cheap authenticated read. An unreachable tenant, rejected
// credentials or a token endpoint that keeps failing end the run at once
// (an *reconcile.AbortError: exit 3, every row skipped) instead of after a
// request per row. Any other HTTP answer to the read (a 403 for a token
// without read:roles, a 5xx, a 429, an unreadable body) proves what the
// preflight is for, that the tenant is there and takes the token; what the
// rows' requests get is the pacer's business.
func (s *session) preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, preflightBudget)
	defer cancel()
	var err error
	for try := 1; ; try++ {
		_, err = s.client.Preflight(ctx)
		// A token fetch that failed has already had its own tries.
		retry := management.IsNetwork(err) && !errors.Is(err, management.ErrTokenUnavailable)
		if !retry || try == preflightTries || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(preflightPause * time.Duration(try)):
		case <-ctx.Done():
		}
	}
	return preflightVerdict(ctx, err)
}

// preflightVerdict words what the preflight's error means for the run.
func preflightVerdict(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && context.Cause(ctx) != context.DeadlineExceeded:
		var abort *reconcile.AbortError
		if errors.As(context.Cause(ctx), &abort) {
			return &reconcile.AbortError{Reason: abort.Reason + " before anything was sent"}
		}
		return &reconcile.AbortError{Reason: "interrupted before anything was sent"}
	case management.IsNetwork(err): // also a token endpoint that could not be reached
		return &reconcile.AbortError{Reason: "the tenant cannot be reached; nothing was sent", Err: err}
	case errors.Is(err, management.ErrTokenUnavailable):
		return &reconcile.AbortError{Reason: "no token from the tenant's token endpoint; nothing was sent", Err: err}
	case management.CredentialsRejected(err):
		return &reconcile.AbortError{Reason: "the tenant refused the credentials; nothing was sent", Err: err}
	case ctx.Err() != nil:
		return &reconcile.AbortError{Reason: fmt.Sprintf("the tenant did not answer within %s; nothing was sent", preflightBudget), Err: err}
	}
	var apiErr *management.APIError
	var decodeErr *management.DecodeError
	if errors.As(err, &apiErr) || errors.As(err, &decodeErr) {
		return nil
	}
	return &reconcile.AbortError{Reason: "the tenant could not be reached; nothing was sent", Err: err}
}
