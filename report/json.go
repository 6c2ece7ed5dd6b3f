package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonHeader is Report as written, without its results: field order as in
// the contract, times in UTC, and a summary that always carries the plan
// columns in plans. The results follow it, streamed one by one.
type jsonHeader struct {
	Version     int         `json:"version"`
	Tool        string      `json:"tool"`
	Command     string      `json:"command"`
	Domain      string      `json:"domain"`
	Input       Input       `json:"input"`
	PlanDigest  string      `json:"plan_digest,omitempty"`
	StartedAt   time.Time   `json:"started_at"`
	FinishedAt  time.Time   `json:"finished_at"`
	Outcome     string      `json:"outcome"`
	AbortReason string      `json:"abort_reason"`
	Run         *Run        `json:"run,omitempty"`
	Summary     jsonSummary `json:"summary"`

	// ReportDigest comes last, just before the results it covers.
	ReportDigest string `json:"report_digest,omitempty"`
}

// jsonSummary writes remove and unresolved whenever the report is a plan, and
// the undo columns whenever it is an undo report, even when zero: Summary's
// omitempty would drop "remove" from a plan that removes nothing, and scripts
// reading plans should find the key.
type jsonSummary struct {
	Users      int  `json:"users"`
	Roles      int  `json:"roles"`
	Remove     *int `json:"remove,omitempty"`
	Unresolved *int `json:"unresolved,omitempty"`
	Restored   *int `json:"restored,omitempty"`
	Present    *int `json:"present,omitempty"`
	Unverified *int `json:"unverified,omitempty"`
	Removed    int  `json:"removed"`
	Absent     int  `json:"absent"`
	NotFound   int  `json:"not_found"`
	Failed     int  `json:"failed"`
	Protected  int  `json:"protected"`
	Skipped    int  `json:"skipped"`
	Duplicates int  `json:"duplicates"`
	Excluded   int  `json:"excluded"`

	Requests    int `json:"requests"`
	Retries     int `json:"retries"`
	RateLimited int `json:"rate_limited"`
}

// WriteJSON writes r as indented JSON (two spaces, trailing newline) in the
// contract's field order. Results and lines are written as empty arrays,
// never null; each result carries its apply_result. Writing does not change r.
//
// The header goes through encoding/json; the results, which are a million
// at the size issue 12 measures, are encoded by hand into one reused buffer
// (byte for byte what encoding/json with SetEscapeHTML(false) and the same
// indent writes, which a test checks): reflection per row cost seconds.
func WriteJSON(w io.Writer, r *Report) error {
	s := r.Summary
	header := jsonHeader{
		Version:     r.Version,
		Tool:        r.Tool,
		Command:     r.Command,
		Domain:      r.Domain,
		Input:       r.Input,
		PlanDigest:  r.PlanDigest,
		StartedAt:   r.StartedAt.UTC(),
		FinishedAt:  r.FinishedAt.UTC(),
		Outcome:     r.Outcome,
		AbortReason: r.AbortReason,
		Run:         r.Run,
		Summary: jsonSummary{
			Users: s.Users, Roles: s.Roles,
			Removed: s.Removed, Absent: s.Absent, NotFound: s.NotFound,
			Failed: s.Failed, Protected: s.Protected, Skipped: s.Skipped,
			Duplicates: s.Duplicates, Excluded: s.Excluded,
			Requests: s.Requests, Retries: s.Retries, RateLimited: s.RateLimited,
		},
	}
	header.ReportDigest = r.ReportDigest
	if r.IsPlan() || s.Remove != 0 || s.Unresolved != 0 {
		header.Summary.Remove, header.Summary.Unresolved = &s.Remove, &s.Unresolved
	}
	if r.IsUndo() || s.Restored != 0 || s.Present != 0 || s.Unverified != 0 {
		header.Summary.Restored, header.Summary.Present, header.Summary.Unverified = &s.Restored, &s.Present, &s.Unverified
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Auditors read these files: "R&D" should stay "R&D", not "R\u0026D".
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&header); err != nil {
		return err
	}
	// Reopen the header object: drop its closing "\n}\n" to append results.
	buf.Truncate(buf.Len() - len("\n}\n"))
	first := true
	for res := range r.Rows() {
		if first {
			buf.WriteString(",\n  \"results\": [")
			first = false
		} else {
			buf.WriteByte(',')
		}
		buf.Write(appendResultJSON(buf.AvailableBuffer(), res))
		if buf.Len() >= 64<<10 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	if first {
		buf.WriteString(",\n  \"results\": []\n}\n")
	} else {
		buf.WriteString("\n  ]\n}\n")
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// appendResultJSON appends res as one element of the indented results array.
func appendResultJSON(b []byte, res *Result) []byte {
	field := func(b []byte, name string) []byte {
		b = append(b, "\n      \""...)
		b = append(b, name...)
		return append(b, "\": "...)
	}
	str := func(b []byte, name, value string, comma bool) []byte {
		b = AppendJSONString(field(b, name), value)
		if comma {
			b = append(b, ',')
		}
		return b
	}
	b = append(b, "\n    {"...)
	b = str(b, "user_id", res.UserID, true)
	b = str(b, "user_email", res.UserEmail, true)
	b = str(b, "organization_id", res.OrganizationID, true)
	b = str(b, "role_id", res.RoleID, true)
	b = str(b, "role_name", res.RoleName, true)
	b = str(b, "status", string(res.Status), true)
	b = str(b, "apply_result", string(res.Status.ApplyResult()), true)
	b = strconv.AppendInt(field(b, "http_status"), int64(res.HTTPStatus), 10)
	b = append(b, ',')
	b = strconv.AppendInt(field(b, "attempts"), int64(res.Attempts), 10)
	b = append(b, ',')
	b = str(b, "error", res.Error, true)
	b = field(b, "lines")
	if len(res.Lines) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, '[')
		for i, l := range res.Lines {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n        "...)
			b = strconv.AppendInt(b, int64(l), 10)
		}
		b = append(b, "\n      ]"...)
	}
	b = append(b, ',')
	b = str(b, "reason", res.Reason, false)
	return append(b, "\n    }"...)
}

// AppendJSONString appends s as a JSON string exactly as encoding/json does
// with SetEscapeHTML(false): short escapes for \b \f \n \r \t, \u00XX for
// other control characters, U+FFFD for invalid UTF-8, and U+2028/U+2029
// escaped (JavaScript line terminators).
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonResult is a result as read: apply_result is accepted (WriteJSON writes
// it) but not kept, since it is derived from the status.
type jsonResult struct {
	Result
	ApplyResult *ApplyResult `json:"apply_result"`
}

// jsonReport is Report as read, with results that may carry apply_result.
type jsonReport struct {
	Report
	Results []jsonResult `json:"results"`
}

// ReadJSON parses a report or plan written by WriteJSON. It is strict because
// `apply --plan` and `undo` act on what they read: unknown fields, a version
// other than 1, trailing data, an unknown status, a status that does not
// belong in the kind of file (a planned action in an apply report, a run's
// result in a plan, a removal in an undo report), or an apply_result that
// disagrees with its status are errors.
func ReadJSON(rd io.Reader) (*Report, error) {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	var read jsonReport
	if err := dec.Decode(&read); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	r := read.Report
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, errors.New("read report: unexpected data after the JSON object")
	}
	if r.Version != Version {
		return nil, fmt.Errorf("read report: version %d is not supported (want %d)", r.Version, Version)
	}
	// WriteJSON writes times in UTC, where an offset can push a time read as
	// 9999-12-31 or 0000-01-01 out of the years RFC 3339 can write.
	for _, at := range [...]struct {
		name string
		t    time.Time
	}{{"started_at", r.StartedAt}, {"finished_at", r.FinishedAt}} {
		if y := at.t.UTC().Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("read report: %s is outside the years 0000 to 9999 in UTC", at.name)
		}
	}
	if r.Run != nil {
		// omitempty writes an empty list as nothing, which reads back as nil:
		// read it as nil now, so a round trip gives back the same report.
		f := &r.Run.Flags
		for _, list := range []*[]string{&f.Protect, &f.ProtectUsers, &f.ProtectRoles, &f.Map, &f.Where} {
			if len(*list) == 0 {
				*list = nil
			}
		}
	}
	r.Results = make([]Result, len(read.Results))
	for i := range read.Results {
		res := &read.Results[i]
		status := res.Status
		if !r.validStatus(status) {
			return nil, fmt.Errorf("read report: result %d: status %q is not valid in %s", i+1, status, r.kind())
		}
		if res.ApplyResult != nil && *res.ApplyResult != status.ApplyResult() {
			return nil, fmt.Errorf("read report: result %d: apply_result %q does not match status %q (want %q)", i+1, *res.ApplyResult, status, status.ApplyResult())
		}
		r.Results[i] = res.Result
	}
	return &r, nil
}

// Digest is a stable digest of what a plan would do: "sha256:" and the hex
// SHA-256 of the domain, the input's sha256 and, in order, each result's
// user, organization, role, status, lines and reason; then, when present,
// the sweep (each role's id and name, the keep file's path and sha256) and
// the report an undo undoes. `plan --out` stores it as plan_digest and
// `apply --plan` recomputes it to detect a plan edited after it was
// reviewed. How a run went (attempts, http_status, error), times and counts
// are left out, so it survives a round trip through WriteJSON and ReadJSON.
//
// The run record (operator, client id, flags) is left out too: a reviewer
// approves what will be removed, and the flags that shaped it (protect
// lists, --where, --check) already show in the rows. Who ran `plan` must not
// change the digest of the same plan. A plan without a sweep or undo record
// hashes exactly as before those existed, so plans saved by v0.1 still verify.
func Digest(r *Report) string {
	h := sha256.New()
	// Each field is length-prefixed, so no two different plans hash the same
	// bytes; a buffered binary encoding keeps a million-row plan cheap.
	w := bufio.NewWriterSize(h, 64<<10)
	var num [binary.MaxVarintLen64]byte
	putInt := func(n int) { w.Write(num[:binary.PutUvarint(num[:], uint64(n))]) }
	putString := func(s string) {
		putInt(len(s))
		w.WriteString(s)
	}
	putString("rolesweep-plan/2")
	putString(r.Domain)
	putString(r.Input.SHA256)
	putInt(r.Len())
	for res := range r.Rows() {
		for _, s := range [...]string{res.UserID, res.UserEmail, res.OrganizationID, res.RoleID, res.RoleName, string(res.Status), res.Reason} {
			putString(s)
		}
		putInt(len(res.Lines))
		for _, l := range res.Lines {
			putInt(l)
		}
	}
	// Trailers after the counted results cannot be confused with a result.
	if sw := r.Input.Sweep; sw != nil {
		putString("sweep")
		putInt(len(sw.Roles))
		for _, role := range sw.Roles {
			putString(role.ID)
			putString(role.Name)
		}
		if sw.Keep != nil {
			putString("keep")
			putString(sw.Keep.Path)
			putString(sw.Keep.SHA256)
		} else {
			putString("no-keep")
		}
	}
	if u := r.Input.Undoes; u != nil {
		putString("undoes")
		for _, s := range [...]string{u.Path, u.SHA256, u.Domain, u.PlanDigest} {
			putString(s)
		}
	}
	// Writes to a hash never fail.
	_ = w.Flush()
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
