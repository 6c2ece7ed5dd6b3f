package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
)

var started = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func testHeader() Header {
	return Header{
		Tool:        "rolesweep v0.1.0",
		Domain:      "acme.eu.auth0.com",
		InputPath:   "removals.csv",
		InputSHA256: "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12",
		PlanDigest:  "sha256:cd34cd34cd34cd34cd34cd34cd34cd34",
		StartedAt:   started,
	}
}

// testEntry builds an entry for user in org with one result per status.
func testEntry(org, user string, statuses ...report.Status) Entry {
	e := Entry{OrganizationID: org, User: user, FinishedAt: started.Add(time.Minute)}
	for i, st := range statuses {
		e.Results = append(e.Results, report.Result{
			UserID:         user,
			OrganizationID: org,
			RoleID:         fmt.Sprintf("rol_AbCdEfGhIjKlMn%02d", i),
			RoleName:       "Billing Admin",
			Status:         st,
			HTTPStatus:     204,
			Attempts:       1,
			Lines:          []int{i + 2, i + 7},
			Reason:         "2026-Q4 access review",
		})
	}
	return e
}

func createJournal(t *testing.T) (string, *Writer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.journal.jsonl")
	w, err := Create(path, testHeader())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return path, w
}

func mustRecord(t *testing.T, w *Writer, entries ...Entry) {
	t.Helper()
	for _, e := range entries {
		if err := w.Record(e); err != nil {
			t.Fatalf("Record(%s): %v", e.User, err)
		}
	}
}

func mustRead(t *testing.T, path string) (Header, []Entry) {
	t.Helper()
	h, entries, err := readPath(path)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return h, entries
}

func appendRaw(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readRaw(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRoundTrip(t *testing.T) {
	path, w := createJournal(t)
	recorded := []Entry{
		testEntry("", "auth0|5f7c8ec7c33c6c004bbafe82", report.Removed, report.Removed),
		testEntry("org_AbCdEfGhIjKlMnOp", "auth0|5f7c8ec7c33c6c004bbafe82", report.Absent),
		testEntry("", "nobody@example.com", report.Failed),
	}
	recorded[2].Results[0].UserID = ""
	recorded[2].Results[0].UserEmail = "nobody@example.com"
	recorded[2].Results[0].HTTPStatus = 0
	recorded[2].Results[0].Error = `no user with email "nobody@example.com"`
	mustRecord(t, w, recorded...)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	h, entries := mustRead(t, path)
	want := testHeader()
	want.Journal = 1
	if !reflect.DeepEqual(h, want) {
		t.Errorf("header:\n got %+v\nwant %+v", h, want)
	}
	if !reflect.DeepEqual(entries, recorded) {
		t.Errorf("entries:\n got %+v\nwant %+v", entries, recorded)
	}

	lines := strings.Split(readRaw(t, path), "\n")
	if len(lines) != 5 || lines[4] != "" {
		t.Fatalf("want a header and 3 entry lines, each newline-terminated; got %q", lines)
	}
	if !strings.HasPrefix(lines[0], `{"rolesweep_journal":1,`) {
		t.Errorf("header line = %s", lines[0])
	}
}

func TestCreateSetsFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	h := testHeader()
	h.Journal = 7
	w, err := Create(path, h)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, _ := mustRead(t, path)
	if got.Journal != 1 {
		t.Errorf("Journal = %d, want 1", got.Journal)
	}
}

func TestRecordFillsFinishedAt(t *testing.T) {
	path, w := createJournal(t)
	e := testEntry("", "auth0|a", report.Removed)
	e.FinishedAt = time.Time{}
	mustRecord(t, w, e)
	require.NoError(t, w.Close())
	_, entries := mustRead(t, path)
	if entries[0].FinishedAt.IsZero() {
		t.Error("FinishedAt left zero")
	}
}

func TestRecordRefusesEntryWithoutUser(t *testing.T) {
	path, w := createJournal(t)
	before := readRaw(t, path)
	if err := w.Record(Entry{Results: []report.Result{{Status: report.Removed}}}); err == nil {
		t.Fatal("Record accepted an entry without a user")
	}
	if after := readRaw(t, path); after != before {
		t.Errorf("file changed:\n%s", after)
	}
	// The refusal is about that entry only; the writer still works.
	mustRecord(t, w, testEntry("", "auth0|a", report.Removed))
}

func TestCreateRefusesNonEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.journal.jsonl")
	const old = `{"rolesweep_journal":1}` + "\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path, testHeader())
	if err == nil {
		w.Close()
		t.Fatal("Create overwrote an existing journal")
	}
	for _, want := range []string{path, "--resume"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got := readRaw(t, path); got != old {
		t.Errorf("existing journal changed to %q", got)
	}
}

func TestCreateTakesOverEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touched.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path, testHeader())
	if err != nil {
		t.Fatalf("Create on an empty file: %v", err)
	}
	w.Close()
	mustRead(t, path)
	assertPrivate(t, path)
}

func TestCreateInMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "j.jsonl")
	if _, err := Create(path, testHeader()); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want an error naming %s", err, path)
	}
}

func TestCreateRefusesNonRegularFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/null")
	}
	// /dev/null is "empty", but a journal there would silently keep nothing.
	if w, err := Create(os.DevNull, testHeader()); err == nil {
		w.Close()
		t.Fatal("Create accepted /dev/null")
	} else if !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("err = %v", err)
	}
}

func TestFileModeIsPrivate(t *testing.T) {
	path, _ := createJournal(t)
	assertPrivate(t, path)
}

func assertPrivate(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits on Windows")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %o, want 600", perm)
	}
}

func TestConcurrentRecord(t *testing.T) {
	path, w := createJournal(t)
	const goroutines, perGoroutine = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perGoroutine {
				// Many roles make long lines, which would interleave if a
				// line were written in more than one call.
				e := testEntry("", fmt.Sprintf("auth0|g%02d-%02d", g, i),
					report.Removed, report.Removed, report.Absent, report.NotFound, report.Failed)
				if err := w.Record(e); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Record: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	raw := readRaw(t, path)
	if !strings.HasSuffix(raw, "\n") {
		t.Error("journal does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(raw, "\n"), "\n")
	if len(lines) != 1+goroutines*perGoroutine {
		t.Fatalf("%d lines, want %d", len(lines), 1+goroutines*perGoroutine)
	}
	for i, line := range lines[1:] {
		var e Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d is not intact JSON: %v\n%s", i+2, err, line)
		}
	}

	_, entries := mustRead(t, path)
	seen := make(map[string]int)
	for _, e := range entries {
		seen[e.User]++
		if len(e.Results) != 5 {
			t.Errorf("%s has %d results, want 5", e.User, len(e.Results))
		}
	}
	for g := range goroutines {
		for i := range perGoroutine {
			if user := fmt.Sprintf("auth0|g%02d-%02d", g, i); seen[user] != 1 {
				t.Errorf("%s recorded %d times, want 1", user, seen[user])
			}
		}
	}
}

// tornTails are what a crash can leave after the last complete line.
var tornTails = map[string]string{
	"partial line":              `{"organization_id":"","user":"auth0|torn","finished_at":"2026-11`,
	"complete JSON, no newline": `{"organization_id":"","user":"auth0|torn","finished_at":"2026-11-27T10:05:00Z","results":[]}`,
	"invalid last line":         `{"organization_id":"","user":` + "\n",
	"blank last line":           "\n",
	"zero-filled block":         strings.Repeat("\x00", 4096),
}

func TestTornLastLine(t *testing.T) {
	for name, tail := range tornTails {
		t.Run(name, func(t *testing.T) {
			path, w := createJournal(t)
			kept := []Entry{
				testEntry("", "auth0|a", report.Removed),
				testEntry("", "auth0|b", report.Failed),
			}
			mustRecord(t, w, kept...)
			w.Close()
			intact := readRaw(t, path)
			appendRaw(t, path, tail)

			_, entries := mustRead(t, path)
			if !reflect.DeepEqual(entries, kept) {
				t.Fatalf("Read with a torn tail: got %+v, want %+v", entries, kept)
			}

			w, err := Reopen(path)
			if err != nil {
				t.Fatalf("Reopen: %v", err)
			}
			defer w.Close()
			if got := readRaw(t, path); got != intact {
				t.Fatalf("Reopen left the tail:\n%q", strings.TrimPrefix(got, intact))
			}
			retried := testEntry("", "auth0|b", report.Removed)
			mustRecord(t, w, retried)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, entries = mustRead(t, path)
			if want := append(kept, retried); !reflect.DeepEqual(entries, want) {
				t.Errorf("after Reopen and Record: got %+v, want %+v", entries, want)
			}
		})
	}
}

func TestReopenWithoutTornLineAppends(t *testing.T) {
	path, w := createJournal(t)
	mustRecord(t, w, testEntry("", "auth0|a", report.Removed))
	w.Close()
	w, err := Reopen(path)
	if err != nil {
		t.Fatal(err)
	}
	mustRecord(t, w, testEntry("", "auth0|b", report.Removed))
	w.Close()
	if _, entries := mustRead(t, path); len(entries) != 2 {
		t.Errorf("%d entries, want 2", len(entries))
	}
}

func TestCorruptedMiddleLine(t *testing.T) {
	good := func(user string) string {
		b, err := json.Marshal(testEntry("", user, report.Removed))
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	cases := map[string]struct {
		after string // appended after one good entry (line 2)
		line  int
	}{
		"garbage":                   {"not json\n" + good("auth0|c"), 3},
		"truncated object":          {`{"user":"auth0|x",` + "\n" + good("auth0|c"), 3},
		"blank line":                {"\n" + good("auth0|c"), 3},
		"two entries run together":  {strings.TrimSuffix(good("auth0|x"), "\n") + good("auth0|y") + good("auth0|c"), 3},
		"unknown field":             {`{"user":"auth0|x","colour":"red"}` + "\n" + good("auth0|c"), 3},
		"no user":                   {`{"organization_id":"org_1","results":[]}` + "\n" + good("auth0|c"), 3},
		"header in the middle":      {`{"rolesweep_journal":1,"tool":"x"}` + "\n" + good("auth0|c"), 3},
		"bad line, then torn line":  {"not json\n" + `{"user":"auth0|t`, 3},
		"later line bad, then good": {good("auth0|c") + "{]\n" + good("auth0|d"), 4},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path, w := createJournal(t)
			mustRecord(t, w, testEntry("", "auth0|a", report.Removed))
			w.Close()
			appendRaw(t, path, tc.after)
			before := readRaw(t, path)

			_, _, err := readPath(path)
			wantPrefix := fmt.Sprintf("journal %s:%d: ", path, tc.line)
			if err == nil || !strings.HasPrefix(err.Error(), wantPrefix) {
				t.Fatalf("Read error = %v, want prefix %q", err, wantPrefix)
			}

			if w, err := Reopen(path); err == nil {
				w.Close()
				t.Fatal("Reopen accepted a corrupted journal")
			}
			if readRaw(t, path) != before {
				t.Error("Reopen modified a corrupted journal")
			}
		})
	}
}

func TestReadRejectsNonJournals(t *testing.T) {
	cases := map[string]struct {
		content string
		want    string
	}{
		"empty":             {"", "is empty"},
		"torn header":       {`{"rolesweep_journal":1,"tool":"rolesw`, "no complete header"},
		"report, not a log": {`{"version":1,"tool":"rolesweep v0.1.0"}` + "\n", `no "rolesweep_journal" field`},
		"csv":               {"user_id,role_id\n", "first line is not a rolesweep journal header"},
		"newer format":      {`{"rolesweep_journal":2,"tool":"rolesweep v9","shiny":true}` + "\n", "format version 2"},
		"unknown header key": {`{"rolesweep_journal":1,"tool":"x","colour":"red"}` + "\n",
			`unknown field "colour"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j.jsonl")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := readPath(path)
			if err == nil {
				t.Fatal("Read accepted it")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, path, tc.want)
			}
			if w, err := Reopen(path); err == nil {
				w.Close()
				t.Error("Reopen accepted it")
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.jsonl")
	_, _, err := readPath(path)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want not-exist naming %s", err, path)
	}
	if _, err := Reopen(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Reopen err = %v, want not-exist", err)
	}
}

func TestHeaderOnlyJournal(t *testing.T) {
	path, w := createJournal(t)
	w.Close()
	h, entries := mustRead(t, path)
	if h.Domain != "acme.eu.auth0.com" || len(entries) != 0 {
		t.Errorf("got %+v, %d entries", h, len(entries))
	}
}

func TestLongLine(t *testing.T) {
	path, w := createJournal(t)
	statuses := make([]report.Status, 3000) // a user holding thousands of roles: > 64 KiB line
	for i := range statuses {
		statuses[i] = report.Removed
	}
	e := testEntry("org_AbCdEfGhIjKlMnOp", "auth0|many", statuses...)
	mustRecord(t, w, e)
	require.NoError(t, w.Close())
	_, entries := mustRead(t, path)
	if len(entries) != 1 || len(entries[0].Results) != 3000 {
		t.Fatalf("long entry did not survive: %d entries", len(entries))
	}
}

func TestRecordAfterClose(t *testing.T) {
	_, w := createJournal(t)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Record(testEntry("", "auth0|a", report.Removed)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Record after Close: %v, want os.ErrClosed", err)
	}
}

func TestWriteFailureIsSticky(t *testing.T) {
	path, w := createJournal(t)
	mustRecord(t, w, testEntry("", "auth0|a", report.Removed))
	require.NoError(t, w.drain())
	w.f.Close() // the file vanishes under the writer, as on a failed disk

	// Record does not wait for the disk: the failure to write b may be
	// found only after b is queued, and is then the next Record's.
	first := w.Record(testEntry("", "auth0|b", report.Removed))
	if first == nil {
		first = w.drain()
	}
	if first == nil {
		t.Fatal("b was written to a closed file")
	}
	if !strings.Contains(first.Error(), path) {
		t.Errorf("error %q does not name the journal", first)
	}
	if err := w.Record(testEntry("", "auth0|c", report.Removed)); !errors.Is(err, os.ErrClosed) || err.Error() != first.Error() {
		t.Errorf("second Record: %v, want the first failure again (%v)", err, first)
	}
	if err := w.Close(); err == nil || err.Error() != first.Error() {
		t.Errorf("Close: %v, want the first failure (%v)", err, first)
	}
	if _, entries := mustRead(t, path); len(entries) != 1 {
		t.Errorf("%d entries, want the 1 recorded before the failure", len(entries))
	}
}

func TestMismatch(t *testing.T) {
	journal := testHeader()
	journal.Journal = 1
	cases := map[string]struct {
		edit func(*Header)
		want []string // substrings; none means a match
	}{
		"same run":    {func(*Header) {}, nil},
		"newer tool":  {func(h *Header) { h.Tool = "rolesweep v0.2.0" }, nil},
		"input moved": {func(h *Header) { h.InputPath = "/srv/removals.csv" }, nil},
		"later start": {func(h *Header) { h.StartedAt = started.Add(time.Hour) }, nil},
		// job passes management.CanonicalDomain's spelling on both sides;
		// Mismatch does not normalise a second time.
		"domain spelled otherwise": {func(h *Header) { h.Domain = "ACME.eu.auth0.com" },
			[]string{"the journal is for tenant acme.eu.auth0.com, not ACME.eu.auth0.com"}},
		"no plan digest wanted": {func(h *Header) { h.PlanDigest = "" }, nil},
		"other tenant": {func(h *Header) { h.Domain = "evil.eu.auth0.com" },
			[]string{"the journal is for tenant acme.eu.auth0.com, not evil.eu.auth0.com"}},
		"http sandbox is another tenant": {func(h *Header) { h.Domain = "http://acme.eu.auth0.com" },
			[]string{"the journal is for tenant"}},
		"input changed": {func(h *Header) { h.InputSHA256 = "cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34" },
			[]string{"the input changed since the journal was written (sha256 ab12ab12ab12… ≠ cd34cd34cd34…)"}},
		"input hash missing": {func(h *Header) { h.InputSHA256 = "" },
			[]string{"the input changed", "≠ (none)"}},
		"plan changed": {func(h *Header) { h.PlanDigest = "sha256:ef56ef56ef56ef56ef56" },
			[]string{"the plan changed since the journal was written (plan_digest sha256:cd34cd34cd34… ≠ sha256:ef56ef56ef56…)"}},
		"everything changed": {func(h *Header) {
			h.Domain = "other.auth0.com"
			h.InputSHA256 = "ffff"
			h.PlanDigest = "eeee"
		}, []string{"tenant", "; the input changed", "; the plan changed"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := journal
			tc.edit(&want)
			got := Mismatch(journal, want)
			if len(tc.want) == 0 {
				if got != "" {
					t.Errorf("Mismatch = %q, want a match", got)
				}
				return
			}
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("Mismatch = %q, want it to contain %q", got, s)
				}
			}
		})
	}

	old := journal
	old.Journal = 2
	if got := Mismatch(old, journal); !strings.Contains(got, "format version 2") {
		t.Errorf("Mismatch on format version = %q", got)
	}
}

func TestKey(t *testing.T) {
	plain := Entry{User: "auth0|a"}
	inOrg := Entry{OrganizationID: "org_1", User: "auth0|a"}
	assert.Equal(t, report.GroupKey{UserID: "auth0|a"}, plain.Key())
	assert.Equal(t, report.GroupKey{OrganizationID: "org_1", UserID: "auth0|a"}, inOrg.Key())
	byEmail := Entry{User: "a@example.com", Results: []report.Result{{UserEmail: "a@example.com"}}}
	assert.Equal(t, report.GroupKey{UserEmail: "a@example.com"}, byEmail.Key(), "a user never resolved is keyed by email")
	// Without a separator these two would collide.
	a := Entry{OrganizationID: "org_1", User: "x"}
	b := Entry{OrganizationID: "org_", User: "1x"}
	if a.Key() == b.Key() {
		t.Error("distinct groups share a key")
	}
}

func TestLatest(t *testing.T) {
	first := testEntry("", "auth0|a", report.Removed, report.Failed)
	other := testEntry("", "auth0|b", report.Removed)
	inOrg := testEntry("org_1", "auth0|a", report.Skipped)
	retry := testEntry("", "auth0|a", report.Removed, report.Removed)
	retry.FinishedAt = first.FinishedAt.Add(time.Hour)
	orgRetry := testEntry("org_1", "auth0|a", report.NotFound)

	latest := Latest([]Entry{first, other, inOrg, retry, orgRetry})
	want := map[report.GroupKey]Entry{
		retry.Key():    retry,
		other.Key():    other,
		orgRetry.Key(): orgRetry,
	}
	if !reflect.DeepEqual(latest, want) {
		t.Errorf("Latest:\n got %+v\nwant %+v", latest, want)
	}
	if got := Latest(nil); len(got) != 0 {
		t.Errorf("Latest(nil) = %v", got)
	}
}

func TestDone(t *testing.T) {
	cases := []struct {
		statuses []report.Status
		done     bool
	}{
		{[]report.Status{report.Removed}, true},
		{[]report.Status{report.Removed, report.Absent, report.NotFound}, true},
		{[]report.Status{report.Removed, report.Failed}, false},
		{[]report.Status{report.Skipped}, false},
		{[]report.Status{report.PlanRemove}, false},
		{[]report.Status{report.PlanUnresolved}, false},
		{[]report.Status{""}, false},
		{nil, false},
	}
	for _, tc := range cases {
		if got := testEntry("", "auth0|a", tc.statuses...).Done(); got != tc.done {
			t.Errorf("Done(%v) = %v, want %v", tc.statuses, got, tc.done)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	now := time.Date(2026, 11, 27, 11, 4, 5, 0, time.FixedZone("CET", 3600))
	cases := map[string]string{
		"x.json":                                 "x.journal.jsonl",
		"reports/run.csv":                        filepath.FromSlash("reports/run.journal.jsonl"),
		"/var/audit/q4.report.md":                "/var/audit/q4.report.journal.jsonl",
		"noext":                                  "noext.journal.jsonl",
		"rolesweep-report-20261127T100405Z.json": "rolesweep-report-20261127T100405Z.journal.jsonl",
		"":                                       "rolesweep-journal-20261127T100405Z.jsonl",
		"-":                                      "rolesweep-journal-20261127T100405Z.jsonl",
	}
	for in, want := range cases {
		if got := DefaultPath(in, now); got != want {
			t.Errorf("DefaultPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkRecord measures Record up to durability (Close, which waits for
// the last batch's fsync, is inside the timing) on the filesystems at hand:
// os.TempDir (b.TempDir), the package's own directory (the work tree's
// filesystem) and /dev/shm (tmpfs) when present. "serial" is one worker;
// "parallel64" is 64 concurrent workers, as many as apply's executor runs.
func BenchmarkRecord(b *testing.B) {
	dirs := []struct {
		name string
		make func(b *testing.B) string
	}{
		{"tempdir", func(b *testing.B) string { return b.TempDir() }},
		{"workdir", func(b *testing.B) string { return benchDirUnder(b, ".") }},
	}
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		dirs = append(dirs, struct {
			name string
			make func(b *testing.B) string
		}{"devshm", func(b *testing.B) string { return benchDirUnder(b, "/dev/shm") }})
	}
	e := testEntry("org_AbCdEfGhIjKlMnOp", "auth0|5f7c8ec7c33c6c004bbafe82", report.Removed, report.Removed, report.Absent)

	for _, d := range dirs {
		b.Run(d.name+"/serial", func(b *testing.B) {
			w := benchWriter(b, d.make(b))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := w.Record(e); err != nil {
					b.Fatal(err)
				}
			}
			require.NoError(b, w.Close())
		})
		b.Run(d.name+"/parallel64", func(b *testing.B) {
			w := benchWriter(b, d.make(b))
			b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := w.Record(e); err != nil {
						b.Error(err)
						return
					}
				}
			})
			require.NoError(b, w.Close())
		})
	}
}

func benchDirUnder(b *testing.B, parent string) string {
	dir, err := os.MkdirTemp(parent, "journal-bench-")
	if err != nil {
		b.Skipf("no temp dir under %s: %v", parent, err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func benchWriter(b *testing.B, dir string) *Writer {
	w, err := Create(filepath.Join(dir, "bench.journal.jsonl"), testHeader())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	return w
}

// readPath reads the journal file at path, as apply --resume does.
func readPath(path string) (Header, []Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, nil, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}
