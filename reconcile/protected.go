package reconcile

import "fmt"

// protectedWhy says why a triple must not be sent, or "" when it may be.
func protectedWhy(t *Triple, pr Protection) string {
	switch {
	case t.UserID != "" && pr.Users[t.UserID]:
		return fmt.Sprintf("user %s is protected", t.UserID)
	case t.RoleID != "" && pr.Roles[t.RoleID]:
		return fmt.Sprintf("role %s is protected", t.RoleID)
	}
	return ""
}

// Protected marks, for a run that skips protected rows instead of refusing
// the whole plan, every triple that touches a protected user or role:
// status protected with the reason as its error, so it is never sent and
// the report says why. It returns how many it marked.
func (p *Plan) Protected(pr Protection, out []Outcome, protected Outcome) int {
	n := 0
	for i := range p.Triples {
		if why := protectedWhy(&p.Triples[i], pr); why != "" {
			out[i] = protected
			out[i].Error = why
			n++
		}
	}
	return n
}
