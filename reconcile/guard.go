package reconcile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/rolesweep/rolesweep/report"
)

// Protection lists users and roles that must never lose a role: break-glass
// administrators, the role that lets the identity team log in.
type Protection struct {
	Users map[string]bool
	Roles map[string]bool
}

// LoadProtection reads a CSV file with a header naming user_id and/or
// role_id columns; each filled cell is protected. It adds to pr, whose maps
// may be nil (the zero Protection).
func LoadProtection(path string, pr *Protection) error {
	if pr.Users == nil {
		pr.Users = map[string]bool{}
	}
	if pr.Roles == nil {
		pr.Roles = map[string]bool{}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--protect: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s:1: a header row with user_id and/or role_id is required: %w", path, err)
	}
	cols := map[int]string{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "user_id", "role_id":
			cols[i] = h
		case "reason", "note", "comment":
		default:
			return fmt.Errorf("%s:1: unknown column %q (known: user_id, role_id, reason)", path, h)
		}
	}
	if len(cols) == 0 {
		return fmt.Errorf("%s:1: the header names neither user_id nor role_id", path)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			switch cols[i] {
			case "user_id":
				pr.Users[v] = true
			case "role_id":
				pr.Roles[v] = true
			}
		}
	}
}

// Violations lists every triple that would remove a protected role or touch
// a protected user, one message per triple naming its input lines.
func (p *Plan) Violations(pr Protection, file string) []string {
	type violation struct {
		line int
		msg  string
	}
	var vs []violation
	for _, t := range p.Triples {
		var why string
		switch {
		case t.UserID != "" && pr.Users[t.UserID]:
			why = fmt.Sprintf("user %s is protected", t.UserID)
		case t.RoleID != "" && pr.Roles[t.RoleID]:
			why = fmt.Sprintf("role %s is protected", t.RoleID)
		default:
			continue
		}
		for _, l := range t.Lines {
			vs = append(vs, violation{l, fmt.Sprintf("%s:%d: refusing to remove %s from %s: %s", file, l, roleLabel(t), userLabel(t), why)})
		}
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].line < vs[j].line })
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.msg
	}
	return out
}

func roleLabel(t report.Result) string {
	if t.RoleID != "" {
		return t.RoleID
	}
	return fmt.Sprintf("role %q", t.RoleName)
}

func userLabel(t report.Result) string {
	if t.UserID != "" {
		return t.UserID
	}
	return t.UserEmail
}

// Removals counts the triples a run would try to remove.
func (p *Plan) Removals() int {
	return len(p.Triples) - len(p.Unresolved)
}
