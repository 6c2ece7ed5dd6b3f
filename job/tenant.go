package job

import (
	"context"
	"io"
	"log/slog"

	"github.com/rolesweep/rolesweep/management"
	"github.com/rolesweep/rolesweep/pacer"
	"github.com/rolesweep/rolesweep/reconcile"
	"github.com/rolesweep/rolesweep/report"
)

// session is a connected client with its pacer.
type session struct {
	client *management.Client
	pacer  *pacer.Pacer
	cfg    Tenant
}

func connect(cfg Tenant) (*session, error) {
	client, err := management.New(cfg.Management)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Concurrency < 1:
		return nil, configErrorf("concurrency", "must be at least 1")
	case cfg.MaxRetries < 0:
		return nil, configErrorf("max_retries", "must not be negative")
	case cfg.Rate < 0:
		return nil, configErrorf("rate", "must not be negative")
	case cfg.Reserve < 0 || cfg.Reserve >= 100:
		return nil, configErrorf("reserve", "is a percentage from 0 to 99")
	}
	return &session{
		client: client,
		pacer:  pacer.New(pacer.Config{Rate: cfg.Rate, MaxRetries: cfg.MaxRetries, Reserve: cfg.Reserve / 100}),
		cfg:    cfg,
	}, nil
}

// resolve turns emails and role names into ids; the plan is immutable after.
func (s *session) resolve(ctx context.Context, p *reconcile.Plan) error {
	if !p.NeedsResolving() {
		return nil
	}
	r := &reconcile.Resolver{API: s.client, Pacer: s.pacer, Concurrency: s.cfg.Concurrency}
	return r.Resolve(ctx, p)
}

// count copies the pacer's request counts into a report summary.
func (s *session) count(sum *report.Summary) {
	st := s.pacer.Stats()
	sum.Requests, sum.Retries, sum.RateLimited = st.Requests, st.Retries, st.RateLimited
}

// NewLogger logs to w as "text" or "json"; quiet keeps only warnings.
func NewLogger(w io.Writer, format string, quiet bool) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if quiet {
		opts.Level = slog.LevelWarn
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, configErrorf("log_format", "must be text or json, not %q", format)
	}
}
