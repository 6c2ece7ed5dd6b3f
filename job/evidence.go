package job

import (
	"math"
	"os"
	"os/user"
	"slices"
	"strings"

	"github.com/rolesweep/rolesweep/input"
	"github.com/rolesweep/rolesweep/report"
)

// Operator is who runs rolesweep, as user@host, for the report's evidence.
// Either half that cannot be found is "unknown": the evidence says so rather
// than leaving the field out.
func Operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

// evidence is the report's `run`: who ran it, as which client, whether the
// tenant was read first, and every setting that changes what is removed.
// Secrets never enter it: a client secret or an API token is not evidence,
// and with an API token there is no client id to give.
type evidence struct {
	operator string // "" means Operator()
	tenant   *Tenant
	checked  bool
	source   Source
}

func (e evidence) run() *report.Run {
	r := &report.Run{Operator: e.operator, Checked: e.checked}
	if r.Operator == "" {
		r.Operator = Operator()
	}
	if e.tenant != nil {
		if m := e.tenant.Management; m.APIToken == "" {
			r.ClientID = strings.TrimSpace(m.ClientID)
		}
		reserve := int(math.Round(e.tenant.Reserve))
		r.Flags.Reserve = &reserve
	}
	src := e.source
	r.Flags.Preset = src.Preset
	r.Flags.AllowExtraColumns = src.AllowExtraColumns
	for _, field := range input.Fields() { // in column order, so reports compare
		if column, ok := src.Map[field]; ok {
			r.Flags.Map = append(r.Flags.Map, string(field)+"="+column)
		}
	}
	for _, f := range src.Where {
		r.Flags.Where = append(r.Flags.Where, f.String())
	}
	return r
}

// applyEvidence adds apply's own settings to the evidence.
func applyEvidence(cfg ApplyConfig, checked bool) *report.Run {
	r := evidence{operator: cfg.Operator, tenant: &cfg.Tenant, checked: checked, source: cfg.Source}.run()
	r.Flags.Verify = cfg.Verify
	if cfg.MaxRemovals >= 0 {
		limit := cfg.MaxRemovals
		r.Flags.MaxRemovals = &limit
	}
	if cfg.ProtectFile != "" {
		r.Flags.Protect = []string{cfg.ProtectFile}
	}
	r.Flags.ProtectUsers = trimmed(cfg.ProtectUsers)
	r.Flags.ProtectRoles = trimmed(cfg.ProtectRoles)
	r.Flags.SkipProtected = cfg.SkipProtected
	return r
}

// planEvidence is a plan's evidence; offline it names no tenant settings.
func planEvidence(cfg PlanConfig) *report.Run {
	e := evidence{operator: cfg.Operator, checked: cfg.Check, source: cfg.Source}
	if cfg.Check {
		e.tenant = &cfg.Tenant
	}
	return e.run()
}

func trimmed(list []string) []string {
	var out []string
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
