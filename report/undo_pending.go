package report

// The undo statuses, as branch report defines them; this file goes away when
// that branch is merged (it declares the same names).
const (
	Restored   Status = "restored"   // the role was assigned again
	Present    Status = "present"    // already assigned again since: nothing sent
	Unverified Status = "unverified" // removed by an unchecked run: not re-assigned
)
