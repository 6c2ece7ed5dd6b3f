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
	"time"
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
	Summary     jsonSummary `json:"summary"`
}

// jsonSummary writes remove and unresolved whenever the report is a plan, even
// when zero: Summary's omitempty would drop "remove" from a plan that removes
// nothing, and scripts reading plans should find the key.
type jsonSummary struct {
	Users      int  `json:"users"`
	Roles      int  `json:"roles"`
	Remove     *int `json:"remove,omitempty"`
	Unresolved *int `json:"unresolved,omitempty"`
	Removed    int  `json:"removed"`
	Absent     int  `json:"absent"`
	NotFound   int  `json:"not_found"`
	Failed     int  `json:"failed"`
	Skipped    int  `json:"skipped"`
	Duplicates int  `json:"duplicates"`

	Requests    int `json:"requests"`
	Retries     int `json:"retries"`
	RateLimited int `json:"rate_limited"`
}

// WriteJSON writes r as indented JSON (two spaces, trailing newline) in the
// contract's field order. Results and lines are written as empty arrays,
// never null. Writing does not change r.
//
// The results are encoded one at a time, so a 100,000-result report does not
// need the whole document in memory twice (as encoding it in one piece and
// then indenting it would).
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
		Summary: jsonSummary{
			Users: s.Users, Roles: s.Roles,
			Removed: s.Removed, Absent: s.Absent, NotFound: s.NotFound,
			Failed: s.Failed, Skipped: s.Skipped, Duplicates: s.Duplicates,
			Requests: s.Requests, Retries: s.Retries, RateLimited: s.RateLimited,
		},
	}
	if r.IsPlan() || s.Remove != 0 || s.Unresolved != 0 {
		header.Summary.Remove, header.Summary.Unresolved = &s.Remove, &s.Unresolved
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
	if r.Len() == 0 {
		buf.WriteString(",\n  \"results\": []\n}\n")
		_, err := w.Write(buf.Bytes())
		return err
	}
	buf.WriteString(",\n  \"results\": [")

	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(buf.Bytes()); err != nil {
		return err
	}
	enc.SetIndent("    ", "  ")
	i := -1
	for row := range r.Rows() {
		i++
		res := *row
		if res.Lines == nil {
			res.Lines = []int{}
		}
		buf.Reset()
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		if err := enc.Encode(&res); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	if _, err := bw.WriteString("\n  ]\n}\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// ReadJSON parses a report or plan written by WriteJSON. It is strict because
// `apply --plan` acts on what it reads: unknown fields, a version other than
// 1, trailing data, an unknown status, or a status that does not belong in
// the kind of file (a planned action in an apply report, a run's result in a
// plan) are errors.
func ReadJSON(rd io.Reader) (*Report, error) {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
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
	if r.Results == nil {
		r.Results = []Result{}
	}
	plan := r.IsPlan()
	for i := range r.Results {
		if status := r.Results[i].Status; !validStatus(status, plan) {
			kind := "an apply report"
			if plan {
				kind = "a plan"
			}
			return nil, fmt.Errorf("read report: result %d: status %q is not valid in %s", i+1, status, kind)
		}
	}
	return &r, nil
}

// Digest is a stable digest of what a plan would do: "sha256:" and the hex
// SHA-256 of the domain, the input's sha256 and, in order, each result's
// user, organization, role, status, lines and reason. `plan --out` stores it
// as plan_digest and `apply --plan` recomputes it to detect a plan edited
// after it was reviewed. How a run went (attempts, http_status, error),
// times and counts are left out, so it survives a round trip through
// WriteJSON and ReadJSON.
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
	// Writes to a hash never fail.
	_ = w.Flush()
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
