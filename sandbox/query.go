package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Validation messages imitate Auth0's (z-schema wording inside
// "<Kind> validation error: '<detail>' on property <name> (<description>).",
// errorCode invalid_query_string / invalid_body / invalid_uri), as in the
// recorded 400s of facts §1. The exact detail texts are UNVERIFIED.

func validationError(kind, errorCode, detail, property, description string) reply {
	msg := kind + " validation error: '" + detail + "'"
	if property != "" {
		msg += " on property " + property
		if description != "" {
			msg += " (" + strings.TrimSuffix(description, ".") + ")"
		}
	}
	return errorReply(http.StatusBadRequest, msg+".", errorCode)
}

func queryError(detail, property, description string) *reply {
	rep := validationError("Query", "invalid_query_string", detail, property, description)
	return &rep
}

func bodyError(detail, property, description string) *reply {
	rep := validationError("Payload", "invalid_body", detail, property, description)
	return &rep
}

// paging is the offset pagination shared by the list endpoints.
type paging struct {
	page, perPage int
	includeTotals bool
}

const (
	descPerPage       = "Number of results per page."
	descPage          = "Page index of the results to return. First page is 0."
	descIncludeTotals = "Return results inside an object that contains the total result count (true) or as a direct array of results (false, default)."
)

// parsePaging reads page (0..maxPage, or unbounded when maxPage < 0),
// per_page (1..100, default 50) and include_totals.
func parsePaging(q url.Values, maxPage int) (paging, *reply) {
	p := paging{perPage: 50}
	var rep *reply
	if p.perPage, rep = intParam(q, "per_page", descPerPage, 50, 1, 100); rep != nil {
		return p, rep
	}
	if p.page, rep = intParam(q, "page", descPage, 0, 0, maxPage); rep != nil {
		return p, rep
	}
	if vs, ok := q["include_totals"]; ok {
		if len(vs) > 1 {
			return p, queryError("Expected type boolean but found type array", "include_totals", descIncludeTotals)
		}
		switch vs[0] {
		case "true":
			p.includeTotals = true
		case "false":
		default:
			return p, queryError("Expected type boolean but found type string", "include_totals", descIncludeTotals)
		}
	}
	return p, nil
}

func intParam(q url.Values, name, desc string, def, lo, hi int) (int, *reply) {
	vs, ok := q[name]
	if !ok {
		return def, nil
	}
	if len(vs) > 1 {
		return 0, queryError("Expected type integer but found type array", name, desc)
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil {
		found := "string"
		if _, ferr := strconv.ParseFloat(vs[0], 64); ferr == nil {
			found = "number"
		}
		return 0, queryError("Expected type integer but found type "+found, name, desc)
	}
	if n < lo {
		return 0, queryError(fmt.Sprintf("Value %d is less than minimum %d", n, lo), name, desc)
	}
	if hi >= 0 && n > hi {
		return 0, queryError(fmt.Sprintf("Value %d is greater than maximum %d", n, hi), name, desc)
	}
	return n, nil
}

// pageWindowReply answers one page of a list: a bare array, or with
// include_totals {"<key>":[…],"start":S,"limit":L,"total":T} in that key
// order (recorded). A page past the end is an empty list with start =
// page*per_page.
func pageWindowReply[T any](key string, window []T, p paging, total int) reply {
	if window == nil {
		window = []T{}
	}
	if !p.includeTotals {
		return jsonReply(http.StatusOK, window)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"` + key + `":`)
	buf.Write(marshal(window))
	fmt.Fprintf(&buf, `,"start":%d,"limit":%d,"total":%d}`, p.page*p.perPage, p.perPage, total)
	return reply{status: http.StatusOK, body: buf.Bytes()}
}

// listReply pages items, unless a read fault makes the list endless or its
// total lie.
func listReply[T any](t *Tenant, key string, items []T, p paging, endless func(offset, n int) []T) reply {
	start := p.page * p.perPage
	if t.opts.ReadFault == ReadFaultEndless {
		return pageWindowReply(key, endless(start, p.perPage), p, endlessTotal)
	}
	var window []T
	if start < len(items) {
		window = items[start:min(start+p.perPage, len(items))]
	}
	return pageWindowReply(key, window, p, t.reportedTotal(len(items)))
}

// readBody reads at most limit bytes; more is hapi's 413.
func readBody(r *http.Request, limit int64) ([]byte, *reply) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		rep := errorReply(http.StatusBadRequest, "Invalid request payload", "")
		return nil, &rep
	}
	if int64(len(b)) > limit {
		rep := errorReply(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Payload content length greater than maximum allowed: %d", limit), "")
		return nil, &rep
	}
	return b, nil
}

// roleIDFormat is the OAS "role-id" format of the organization variant. The
// observed shape is rol_ plus 16 letters or digits; the sandbox accepts any
// length so that hand-written seeds with short ids stay usable. UNVERIFIED.
var roleIDFormat = regexp.MustCompile(`^rol_[A-Za-z0-9]+$`)

// parseRolesBody validates a {"roles":[…]} body (DELETE user roles and DELETE
// organization member roles), JSON or form-encoded as the OAS allows. A form
// body lists roles as repeated roles= fields.
func parseRolesBody(contentType string, body []byte, description string, roleIDs bool) ([]string, *reply) {
	mt := "application/json"
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			mt = ""
		}
	}
	var doc any
	switch mt {
	case "application/json":
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 {
			break // no payload: validated as null below
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil || dec.Decode(new(any)) != io.EOF {
			// hapi's text for a body that is not JSON; the errorCode is
			// UNVERIFIED.
			rep := errorReply(http.StatusBadRequest, "Invalid request payload JSON format", "invalid_body")
			return nil, &rep
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			rep := errorReply(http.StatusBadRequest, "Invalid request payload input", "invalid_body")
			return nil, &rep
		}
		m := map[string]any{}
		for k, vs := range form {
			items := make([]any, len(vs))
			for i, v := range vs {
				items[i] = v
			}
			m[k] = items
		}
		doc = m
	default:
		rep := errorReply(http.StatusUnsupportedMediaType, "Unsupported Media Type", "")
		return nil, &rep
	}

	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, bodyError("Expected type object but found type "+jsonType(doc), "", "")
	}
	var extra []string
	for k := range obj {
		if k != "roles" {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, bodyError("Additional properties not allowed: "+strings.Join(extra, ","), "", "")
	}
	raw, ok := obj["roles"]
	if !ok {
		return nil, bodyError("Missing required property: roles", "", "")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, bodyError("Expected type array but found type "+jsonType(raw), "roles", description)
	}
	if len(list) < 1 {
		return nil, bodyError(fmt.Sprintf("Array is too short (%d), minimum 1", len(list)), "roles", description)
	}
	out := make([]string, len(list))
	for i, item := range list {
		prop := fmt.Sprintf("roles[%d]", i)
		s, ok := item.(string)
		switch {
		case !ok:
			return nil, bodyError("Expected type string but found type "+jsonType(item), prop, "")
		case roleIDs && !roleIDFormat.MatchString(s):
			return nil, bodyError("Object didn't pass validation for format role-id: "+s, prop, "")
		case s == "":
			return nil, bodyError("String is too short (0 chars), minimum 1", prop, "")
		}
		out[i] = s
	}
	return out, nil
}

func jsonType(v any) string {
	switch n := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if _, err := n.Int64(); err == nil {
			return "integer"
		}
		return "number"
	}
	return "unknown"
}

// splitEscapedPath cuts an escaped path into its decoded segments: splitting
// before unescaping is what keeps "%2F" inside a user id from being read as
// a separator.
func splitEscapedPath(escaped string) ([]string, error) {
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil {
			return nil, errors.New("malformed escape in path")
		}
		parts[i] = s
	}
	return parts, nil
}
