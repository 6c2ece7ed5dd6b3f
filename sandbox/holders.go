package sandbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// GET /api/v2/roles/{id}/users, as facts §7 describes it:
//
//   - Page-based (page, per_page ≤ 100, include_totals): a bare array, or
//     {"users":[…],"start","limit","total"}. A request that reaches past the
//     first 1,000 records ((page+1)·per_page > 1000) is refused with 400 and
//     Auth0's message, whatever the number of holders. Whether Auth0 checks
//     the end or the start of the page is UNVERIFIED; the end is the stricter
//     reading and still lets per_page=100 read pages 0 to 9.
//   - Checkpoint (take ≤ 100, default 50; from = the previous next): chosen
//     when take or from is in the query, which then ignores page, per_page
//     and include_totals (UNVERIFIED). The answer is {"users":[…],"next":"…"}
//     without next on the last page, and has no totals.
//
// Holders are ordered by user id. A checkpoint is the last user id returned,
// encoded, so paging stays exact while roles are removed between pages: no
// holder is skipped or repeated.

// maxPagedRecords is where page-based paging of role users stops.
const maxPagedRecords = 1000

const (
	descTake = "Number of results per page. Defaults to 50."
	descFrom = "Optional Id from which to start selection."
)

// holderList is the sorted user ids holding one role, valid while gen
// equals the tenant's assignment generation.
type holderList struct {
	gen uint64
	ids []string
}

// assignmentsChangedLocked invalidates every cached holder list. Callers
// are everything that adds or removes a user's (non-organization) roles.
func (t *Tenant) assignmentsChangedLocked() { t.assignGen++ }

// holdersLocked returns the sorted ids of the role's holders. The list is
// rebuilt at most once per change of assignments, so paging through 30,000
// holders costs one scan and one sort, then a binary search per page.
func (t *Tenant) holdersLocked(roleID string) []string {
	if h, ok := t.holderCache[roleID]; ok && h.gen == t.assignGen {
		return h.ids
	}
	ids := []string{}
	for id, u := range t.users {
		if _, ok := u.roles[roleID]; ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	t.holderCache[roleID] = holderList{gen: t.assignGen, ids: ids}
	return ids
}

func (t *Tenant) userObjects(ids []string) []userObject {
	out := make([]userObject, len(ids))
	for i, id := range ids {
		out[i] = userObj(t.users[id])
	}
	return out
}

func (t *Tenant) getRoleUsers(c *call) reply {
	_, hasTake := c.query["take"]
	_, hasFrom := c.query["from"]
	if hasTake || hasFrom {
		return t.getRoleUsersCheckpoint(c)
	}
	p, rep := parsePaging(c.query, -1)
	if rep != nil {
		return *rep
	}
	if (p.page+1)*p.perPage > maxPagedRecords {
		return errorReply(http.StatusBadRequest, fmt.Sprintf(
			"Requesting page %d exceeds the allowed maximum of %d records. To fetch results beyond %d, use the checkpoint pagination method.",
			p.page, maxPagedRecords, maxPagedRecords), "")
	}
	if t.roles[c.params[0]] == nil {
		return roleNotFound()
	}
	ids := t.holdersLocked(c.params[0])
	if t.opts.ReadFault == ReadFaultEndless {
		return pageWindowReply("users", endlessUsers(p.page*p.perPage, p.perPage), p, endlessTotal)
	}
	start := min(p.page*p.perPage, len(ids))
	window := t.userObjects(ids[start:min(start+p.perPage, len(ids))])
	return pageWindowReply("users", window, p, t.reportedTotal(len(ids)))
}

func (t *Tenant) getRoleUsersCheckpoint(c *call) reply {
	take, rep := intParam(c.query, "take", descTake, 50, 1, 100)
	if rep != nil {
		return *rep
	}
	after := ""
	if vs := c.query["from"]; len(vs) > 1 {
		return *queryError("Expected type string but found type array", "from", descFrom)
	} else if len(vs) == 1 && vs[0] != "" {
		var ok bool
		if after, ok = decodeCheckpoint(vs[0]); !ok {
			// The real text for a checkpoint Auth0 did not issue is
			// UNVERIFIED.
			return *queryError("Invalid checkpoint: "+vs[0], "from", descFrom)
		}
	}
	if t.roles[c.params[0]] == nil {
		return roleNotFound()
	}
	var window []userObject
	more := false
	if t.opts.ReadFault == ReadFaultEndless {
		offset := 0
		if after != "" {
			fmt.Sscanf(strings.TrimPrefix(after, endlessUserPrefix), "%d", &offset)
			offset++
		}
		window, more = endlessUsers(offset, take), true
	} else {
		ids := t.holdersLocked(c.params[0])
		start := 0
		if after != "" {
			start, _ = slices.BinarySearch(ids, after)
			if start < len(ids) && ids[start] == after {
				start++
			}
		}
		end := min(start+take, len(ids))
		window, more = t.userObjects(ids[start:end]), end < len(ids)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"users":`)
	buf.Write(marshal(window))
	if more && len(window) > 0 {
		buf.WriteString(`,"next":`)
		buf.Write(marshal(encodeCheckpoint(window[len(window)-1].UserID)))
	}
	buf.WriteString("}")
	return reply{status: http.StatusOK, body: buf.Bytes()}
}

// A checkpoint is opaque to clients; it carries a version prefix so that a
// made-up or truncated value is refused instead of silently restarting.
const checkpointPrefix = "rs1:"

func encodeCheckpoint(lastUserID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(checkpointPrefix + lastUserID))
}

func decodeCheckpoint(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	id, ok := strings.CutPrefix(string(b), checkpointPrefix)
	return id, ok && id != ""
}

func roleNotFound() reply {
	return errorReply(http.StatusNotFound, "The role does not exist.", "")
}
