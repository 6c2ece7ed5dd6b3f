package report

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// ReportDigest is a stable digest of a run's report as written: "sha256:"
// and the hex SHA-256 of its header (version, tool, command, domain, the
// input with its sweep and undoes records, plan_digest, times, outcome,
// abort reason, the run evidence) and of every field of every result, in
// order. A run stores it as report_digest when it writes its report, and
// `undo` recomputes it, so that a report edited since (a status turned
// into removed, a row added, run.checked flipped) is refused rather than
// acted on. The summary is left out: it is counted from the results. It
// survives a round trip through WriteJSON and ReadJSON, which coerce
// strings to valid UTF-8 as it does.
func ReportDigest(r *Report) string {
	h := sha256.New()
	w := bufio.NewWriterSize(h, 64<<10)
	var num [binary.MaxVarintLen64]byte
	putInt := func(n int) { w.Write(num[:binary.PutUvarint(num[:], uint64(n))]) }
	putString := func(s string) {
		s = jsonUTF8(s)
		putInt(len(s))
		w.WriteString(s)
	}
	putJSON := func(v any) {
		// Input and Run are small, fixed structs: encoding/json writes them
		// in field order, and a report read back marshals to the same bytes.
		b, _ := json.Marshal(v)
		putInt(len(b))
		w.Write(b)
	}
	putString("rolesweep-report/1")
	putInt(r.Version)
	for _, s := range [...]string{r.Tool, r.Command, r.Domain, r.PlanDigest,
		r.StartedAt.UTC().Format(time.RFC3339Nano), r.FinishedAt.UTC().Format(time.RFC3339Nano), r.Outcome, r.AbortReason} {
		putString(s)
	}
	putJSON(r.Input)
	putJSON(r.Run)
	putInt(r.Len())
	for res := range r.Rows() {
		for _, s := range [...]string{res.UserID, res.UserEmail, res.OrganizationID, res.RoleID, res.RoleName, string(res.Status), res.Error, res.Reason} {
			putString(s)
		}
		putInt(res.HTTPStatus)
		putInt(res.Attempts)
		putInt(len(res.Lines))
		for _, l := range res.Lines {
			putInt(l)
		}
	}
	_ = w.Flush() // writes to a hash never fail
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// CheckReportDigest verifies that r.ReportDigest matches r's content.
func (r *Report) CheckReportDigest() error {
	if r.ReportDigest == "" {
		return fmt.Errorf("the report has no report_digest")
	}
	if got := ReportDigest(r); got != r.ReportDigest {
		return fmt.Errorf("the report was edited after it was written: report_digest %s, content %s", r.ReportDigest, got)
	}
	return nil
}

// jsonUTF8 is s as JSON writes it: each byte of an invalid UTF-8 sequence
// becomes U+FFFD, so a digest of a string read back equals the digest of
// the string written.
func jsonUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
