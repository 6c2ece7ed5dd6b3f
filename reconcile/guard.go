package reconcile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gocarina/gocsv"
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
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var rows []protectRow
	if err := gocsv.UnmarshalCSV(&protectHeader{r: cr}, &rows); err != nil {
		var he headerError
		if errors.As(err, &he) {
			return fmt.Errorf("%s:1: %s", name, he)
		}
		return fmt.Errorf("%s: %w", name, err)
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

// protectHeader checks and normalises the header row before gocsv maps the
// records onto protectRow: gocsv would silently ignore a misspelt column,
// and a protection list that protects nothing must not pass unnoticed.
type protectHeader struct {
	r      *csv.Reader
	passed bool
}

// headerError is a problem with the header row, line 1.
type headerError string

func (e headerError) Error() string { return string(e) }

func (h *protectHeader) Read() ([]string, error) {
	if h.passed {
		return h.r.Read()
	}
	h.passed = true
	header, err := h.r.Read()
	if err != nil {
		return nil, headerError("a header row with user_id and/or role_id is required: " + err.Error())
	}
	known := 0
	for i, col := range header {
		col = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(col, "\ufeff")))
		switch col {
		case "user_id", "role_id":
			known++
		case "reason", "note", "comment":
		default:
			return nil, headerError(fmt.Sprintf("unknown column %q (known: user_id, role_id, reason)", col))
		}
		header[i] = col
	}
	if known == 0 {
		return nil, headerError("the header names neither user_id nor role_id")
	}
	return header, nil
}

func (h *protectHeader) ReadAll() ([][]string, error) {
	var all [][]string
	for {
		rec, err := h.Read()
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return nil, err
		}
		all = append(all, rec)
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
