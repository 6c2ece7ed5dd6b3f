// Package journal records the groups an `apply` run has finished, one JSON
// line per (organization, user) group, so that `apply --resume JOURNAL` can
// skip them after a crash, a reboot or a killed cron job, and the final report
// can merge both runs.
//
// The file is JSON Lines: a Header on the first line, then one Entry per
// finished group. Lines are written in batches, each with a single write call
// and an fsync, so after a crash the file holds every group recorded up to
// the last moments (see Writer) plus at most one torn last line, which Read
// ignores and Reopen cuts off.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rolesweep/rolesweep/report"
)

// formatVersion is the value of "rolesweep_journal" in the header line.
const formatVersion = 1

// fileMode keeps the journal private: it holds user ids and emails.
const fileMode os.FileMode = 0o600

// Header is the first line of a journal: what run it belongs to.
type Header struct {
	Journal     int       `json:"rolesweep_journal"` // format version, 1
	Tool        string    `json:"tool"`
	Domain      string    `json:"domain"`
	InputPath   string    `json:"input_path"`
	InputSHA256 string    `json:"input_sha256"`
	PlanDigest  string    `json:"plan_digest"`
	StartedAt   time.Time `json:"started_at"`
}

// Entry is one finished group: its (organization, user) key and the results
// of its triples.
type Entry struct {
	OrganizationID string          `json:"organization_id"`
	User           string          `json:"user"` // user id, or the email when the user was named only by email and never resolved
	FinishedAt     time.Time       `json:"finished_at"`
	Results        []report.Result `json:"results"`
}

// Key identifies an entry's group. User alone cannot tell a user id from an
// email spelled alike; the results can: a group named by an email that
// never resolved has no user id.
func (e Entry) Key() report.GroupKey {
	if len(e.Results) > 0 && e.Results[0].UserID == "" {
		return report.KeyOf(e.OrganizationID, "", e.User)
	}
	return report.KeyOf(e.OrganizationID, e.User, "")
}

// Done reports whether the group needs no further work on resume: every
// result is removed, absent or not_found. An entry without results is not
// done: no finished group has zero triples, so it can only come from a bug,
// and doing the group again is safe because removing a role is idempotent.
func (e Entry) Done() bool {
	if len(e.Results) == 0 {
		return false
	}
	for _, res := range e.Results {
		if !report.Gone(res.Status) {
			return false
		}
	}
	return true
}

// Latest returns, per group key, the last entry recorded for it: a resumed
// run appends a new entry for every group it retries, and the newest one
// tells what is true now.
func Latest(entries []Entry) map[report.GroupKey]Entry {
	latest := make(map[report.GroupKey]Entry, len(entries))
	for _, e := range entries {
		latest[e.Key()] = e
	}
	return latest
}

// Mismatch compares a journal header with the current run; it returns ""
// when they match, else the reasons, joined by "; ". The tool version and
// the input path are not compared: resuming with a newer binary or a moved
// file is fine as long as the input's content is the same. PlanDigest is
// compared only when want has one. Domains are compared as given: callers
// write and compare management.CanonicalDomain's spelling.
func Mismatch(journal, want Header) string {
	var reasons []string
	if journal.Journal != formatVersion {
		reasons = append(reasons, fmt.Sprintf("the journal has format version %d, this rolesweep reads version %d", journal.Journal, formatVersion))
	}
	if journal.Domain != want.Domain {
		reasons = append(reasons, fmt.Sprintf("the journal is for tenant %s, not %s", orNone(journal.Domain), orNone(want.Domain)))
	}
	if journal.InputSHA256 != want.InputSHA256 {
		reasons = append(reasons, fmt.Sprintf("the input changed since the journal was written (sha256 %s ≠ %s)", short(journal.InputSHA256), short(want.InputSHA256)))
	}
	if want.PlanDigest != "" && journal.PlanDigest != want.PlanDigest {
		reasons = append(reasons, fmt.Sprintf("the plan changed since the journal was written (plan_digest %s ≠ %s)", short(journal.PlanDigest), short(want.PlanDigest)))
	}
	return strings.Join(reasons, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// short abbreviates a hex digest, keeping an algorithm prefix such as the
// plan digest's "sha256:"; 12 digits are plenty to see that two differ.
func short(digest string) string {
	if digest == "" {
		return "(none)"
	}
	prefix, hexDigits := "", digest
	if i := strings.IndexByte(digest, ':'); i >= 0 {
		prefix, hexDigits = digest[:i+1], digest[i+1:]
	}
	if len(hexDigits) <= 12 {
		return digest
	}
	return prefix + hexDigits[:12] + "…"
}

// DefaultPath is the journal path next to a report path: "x.json" →
// "x.journal.jsonl"; "" (or "-") → "rolesweep-journal-<UTC time>.jsonl".
func DefaultPath(reportPath string, now time.Time) string {
	if reportPath == "" || reportPath == "-" {
		return "rolesweep-journal-" + now.UTC().Format("20060102T150405Z") + ".jsonl"
	}
	return strings.TrimSuffix(reportPath, filepath.Ext(reportPath)) + ".journal.jsonl"
}

// Writer appends entries to a journal. It is safe for concurrent use.
//
// Records are group-committed: Record adds its line to the batch gathering in
// memory and returns, and one flusher goroutine writes each batch with one
// write call and one fsync, taking whatever gathered while the previous fsync
// ran, at most one fsync per minSyncInterval. A crash therefore loses at most
// the last moments' records (the batch being fsynced and the one gathering,
// each at most maxBatchBytes): groups that resume sends again, which is safe
// because removing a role is idempotent.
// Close makes everything recorded durable before it returns.
//
// Once a write or fsync fails the Writer refuses further records: after a
// failed fsync Linux may report the next one as successful even though the
// data was lost, so the journal can no longer promise anything.
type Writer struct {
	path string

	mu       sync.Mutex
	f        *os.File      // nil once closed; while flushing only the flusher uses it
	size     int64         // bytes of complete lines in the file
	err      error         // sticky: the first write or fsync failure
	closing  bool          // Close has begun: no more records
	next     []byte        // lines gathering for the next write
	spare    []byte        // the last written batch's buffer, for reuse
	flushing bool          // a flusher goroutine runs; the channels below are its own
	taken    chan struct{} // closed when the flusher takes next
	hurry    chan struct{} // a flusher pausing between fsyncs returns to work when sent to
	stopped  chan struct{} // closed when the flusher returns
}

// Create starts a new journal at path, writes the header line and fsyncs the
// file and its directory. It refuses to overwrite an existing non-empty file
// and never follows a symbolic link (ErrSymlink): the file is created with
// O_EXCL, and an existing empty file (touch, mktemp) is taken over only
// through O_NOFOLLOW. The Writer holds an exclusive lock on the file until
// Close (ErrInUse for a second run). The file is made mode 0600 because it
// holds user ids and emails.
func Create(path string, h Header) (*Writer, error) {
	created := true
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, fileMode)
	if errors.Is(err, os.ErrExist) {
		created = false
		f, err = openNoFollow(path, os.O_RDWR|os.O_APPEND)
	}
	if err != nil {
		return nil, asPathError(path, fmt.Errorf("create: %w", err))
	}
	if err := lock(path, f); err != nil {
		// Another run took the file between its creation and this lock:
		// it is that run's journal now, not ours to remove.
		f.Close()
		return nil, err
	}
	fail := func(err error) (*Writer, error) {
		f.Close()
		if created {
			os.Remove(path)
		}
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("create journal: %w", err))
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("journal %s is not a regular file", path)
	}
	if info.Size() > 0 {
		f.Close()
		return nil, fmt.Errorf("journal %s already exists and is not empty: to continue that run use --resume %s, or choose another journal path", path, path)
	}
	if !created {
		if err := f.Chmod(fileMode); err != nil {
			return fail(fmt.Errorf("create journal: %w", err))
		}
	}

	h.Journal = formatVersion
	line, err := json.Marshal(h)
	if err != nil {
		return fail(fmt.Errorf("journal %s: encode header: %w", path, err))
	}
	line = append(line, '\n')
	if _, err := f.Write(line); err != nil {
		if !created {
			f.Truncate(0)
		}
		return fail(fmt.Errorf("journal %s: write header: %w", path, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("journal %s: fsync: %w", path, err))
	}
	if err := report.SyncDir(filepath.Dir(path)); err != nil {
		return fail(fmt.Errorf("journal %s: fsync directory: %w", path, err))
	}
	return &Writer{path: path, f: f, size: int64(len(line))}, nil
}

// Reopen opens an existing journal for appending, as --resume does; see
// Resume, which also returns what the journal holds.
func Reopen(path string) (*Writer, error) {
	w, _, _, err := Resume(path)
	return w, err
}

// Resume opens the journal of an earlier run for appending, without
// following a symbolic link, takes its exclusive lock (ErrInUse while
// another run holds it) and reads it as Read does. The lock is held until
// the Writer is closed, so the journal cannot change between this read and
// the run's appends. A torn last line (a crash mid-write) is truncated away,
// so that later appends stay line-aligned.
func Resume(path string) (*Writer, Header, []Entry, error) {
	f, err := openNoFollow(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, Header{}, nil, asPathError(path, fmt.Errorf("open: %w", err))
	}
	fail := func(err error) (*Writer, Header, []Entry, error) {
		f.Close()
		return nil, Header{}, nil, err
	}
	if err := lock(path, f); err != nil {
		return fail(err)
	}
	if info, err := f.Stat(); err != nil {
		return fail(fmt.Errorf("open journal: %w", err))
	} else if !info.Mode().IsRegular() {
		return fail(fmt.Errorf("journal %s is not a regular file", path))
	}
	h, entries, validEnd, err := scan(path, f)
	if err != nil {
		return fail(err)
	}
	info, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("open journal: %w", err))
	}
	if info.Size() != validEnd {
		if err := f.Truncate(validEnd); err != nil {
			return fail(fmt.Errorf("journal %s: cut off torn last line: %w", path, err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("journal %s: fsync: %w", path, err))
		}
	}
	return &Writer{path: path, f: f, size: validEnd}, h, entries, nil
}

// Record adds e as one JSON line to the journal's next batch. It returns
// at once unless the batch is full (maxBatchBytes), in which case it waits
// for the disk to take the batch before it: a disk slower than the run
// slows the run instead of growing memory. It returns the error that
// stopped the journal when an earlier write or fsync failed, so the run
// stops. A zero FinishedAt is set to the current time.
func (w *Writer) Record(e Entry) error {
	if e.User == "" {
		return fmt.Errorf("journal %s: entry has no user", w.path)
	}
	if e.FinishedAt.IsZero() {
		e.FinishedAt = time.Now().UTC()
	}
	buf := linePool.Get().(*[]byte)
	line, err := appendEntryLine((*buf)[:0], &e)
	if cap(line) <= maxPooledLine {
		*buf = line[:0]
		defer linePool.Put(buf)
	}
	if err != nil {
		return fmt.Errorf("journal %s: encode entry: %w", w.path, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enqueue(line)
}

// unusable returns why no more lines may be written, or nil. w.mu is held.
func (w *Writer) unusable() error {
	if w.err != nil {
		return w.err
	}
	if w.f == nil || w.closing {
		return fmt.Errorf("journal %s: %w", w.path, os.ErrClosed)
	}
	return nil
}

// Close waits until every line recorded is written and fsynced, then closes
// the journal. It returns the error that stopped the journal, if any, so a
// caller that only checks Close still learns the journal is incomplete.
// Records that come after Close has begun fail with os.ErrClosed. Closing
// twice is not an error.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	w.closing = true
	w.waitIdle()
	if w.f == nil {
		return nil // a concurrent Close finished while this one waited
	}
	closeErr := w.f.Close()
	w.f = nil
	if w.err != nil {
		return w.err
	}
	if closeErr != nil {
		return fmt.Errorf("journal %s: close: %w", w.path, closeErr)
	}
	return nil
}

// Read loads a journal from r; name is how errors call it. It returns the
// header and every complete entry. A torn last line — no trailing newline,
// or invalid JSON on the last line only — is ignored, as it is what a crash
// mid-write leaves. Invalid JSON on any earlier line is an error naming the
// journal and line, as is an empty journal or a first line that is not a
// journal header.
func Read(r io.Reader, name string) (Header, []Entry, error) {
	h, entries, _, err := scan(name, r)
	return h, entries, err
}

// scan parses a journal from r and also returns validEnd, the byte offset
// just past the last line that is kept: what Reopen truncates to.
func scan(path string, r io.Reader) (Header, []Entry, int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		h        Header
		entries  []Entry
		validEnd int64
		lineNo   int
		// badLine is an invalid newline-terminated line: harmless if it
		// turns out to be the last line of the file, an error otherwise.
		badLine int
		badErr  error
	)
	for {
		// ReadBytes, not bufio.Scanner: a group with thousands of roles
		// makes a line longer than any fixed buffer.
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && badLine != 0 {
			return Header{}, nil, 0, fmt.Errorf("journal %s:%d: %v", path, badLine, badErr)
		}
		if err == io.EOF {
			// line, if any, has no newline: torn by a crash, or a header
			// that never got written completely.
			if lineNo == 0 {
				if len(line) == 0 {
					return Header{}, nil, 0, fmt.Errorf("journal %s is empty", path)
				}
				return Header{}, nil, 0, fmt.Errorf("journal %s has no complete header line (was it written by rolesweep?)", path)
			}
			return h, entries, validEnd, nil
		}
		if err != nil {
			return Header{}, nil, 0, fmt.Errorf("read journal %s: %w", path, err)
		}
		lineNo++
		if lineNo == 1 {
			h, err = decodeHeader(line)
			if err != nil {
				return Header{}, nil, 0, fmt.Errorf("journal %s: first line is not a rolesweep journal header: %v", path, err)
			}
			validEnd += int64(len(line))
			continue
		}
		e, err := decodeEntry(line)
		if err != nil {
			badLine, badErr = lineNo, err
			continue
		}
		entries = append(entries, e)
		validEnd += int64(len(line))
	}
}

func decodeHeader(line []byte) (Header, error) {
	// The version is checked before the strict decode, so that a journal
	// from a newer rolesweep says so instead of naming an unknown field.
	var probe struct {
		Journal *int `json:"rolesweep_journal"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return Header{}, err
	}
	if probe.Journal == nil {
		return Header{}, errors.New(`no "rolesweep_journal" field`)
	}
	if *probe.Journal != formatVersion {
		return Header{}, fmt.Errorf("format version %d, this rolesweep reads version %d", *probe.Journal, formatVersion)
	}
	var h Header
	if err := strictUnmarshal(line, &h); err != nil {
		return Header{}, err
	}
	return h, nil
}

func decodeEntry(line []byte) (Entry, error) {
	var e Entry
	if err := strictUnmarshal(line, &e); err != nil {
		return Entry{}, fmt.Errorf("invalid entry: %v", err)
	}
	if e.User == "" {
		return Entry{}, errors.New(`invalid entry: no "user"`)
	}
	return e, nil
}

// strictUnmarshal rejects unknown fields and trailing data: a line that is
// not exactly one entry (two lines run together, a header pasted into the
// middle) is corruption, not something to guess about.
func strictUnmarshal(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
