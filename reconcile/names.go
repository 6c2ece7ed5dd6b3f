package reconcile

// heldRoles is a user's current roles as the tenant listed them: role id to
// role name. The names are how a report names a role the input gave by id.
type heldRoles map[string]string

func (h heldRoles) has(roleID string) bool {
	_, ok := h[roleID]
	return ok
}
