package reconcile

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gocarina/gocsv"

	"github.com/rolesweep/rolesweep/input"
)

// Protection lists users and roles that must never lose a role: break-glass
// administrators, the role that lets the identity team log in.
type Protection struct {
	Users map[string]bool
	Roles map[string]bool
}

// LoadProtection reads a CSV list with a header naming user_id and/or
// role_id columns; each filled cell is protected. name is how errors call
// the list. It adds to pr, whose maps may be nil (the zero Protection).
func LoadProtection(r io.Reader, name string, pr *Protection) error {
	if pr.Users == nil {
		pr.Users = map[string]bool{}
	}
	if pr.Roles == nil {
		pr.Roles = map[string]bool{}
	}
	cr, err := input.NewCSVReader(r, name)
	if err != nil {
		return err
	}
	// gocsv would silently ignore a misspelt column, and a protection list
	// that protects nothing must not pass unnoticed: check the header first.
	known := 0
	for i, col := range cr.Header() {
		switch col {
		case "user_id", "role_id":
			known++
		case "reason", "note", "comment":
		default:
			return cr.HeaderProblem(i, "unknown column %q (known: user_id, role_id, reason)", cr.Columns()[i])
		}
	}
	if known == 0 {
		return cr.HeaderProblem(-1, "the header names neither user_id nor role_id")
	}
	var rows []protectRow
	if err := gocsv.UnmarshalCSV(cr, &rows); err != nil {
		return err
	}
	for _, row := range rows {
		if v := strings.TrimSpace(row.UserID); v != "" {
			pr.Users[v] = true
		}
		if v := strings.TrimSpace(row.RoleID); v != "" {
			pr.Roles[v] = true
		}
	}
	return nil
}

type protectRow struct {
	UserID string `csv:"user_id"`
	RoleID string `csv:"role_id"`
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
		if len(t.Lines) == 0 { // a sweep's triple: it came from the tenant, not a file
			vs = append(vs, violation{0, fmt.Sprintf("%s: refusing to remove %s from %s: %s", t.Reason, roleLabel(t), userLabel(t), why)})
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

func roleLabel(t Triple) string {
	if t.RoleID != "" {
		return t.RoleID
	}
	return fmt.Sprintf("role %q", t.RoleName)
}

func userLabel(t Triple) string {
	if t.UserID != "" {
		return t.UserID
	}
	return t.UserEmail
}

// Removals counts the triples a run would try to remove.
func (p *Plan) Removals() int {
	return len(p.Triples) - len(p.Unresolved)
}
