package journal

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
)

// drain waits until every line recorded so far is written, or has failed,
// and returns the error that stopped the journal.
func (w *Writer) drain() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waitIdle()
	return w.err
}

// swapFile puts f under the writer in place of its journal file, once the
// flusher is idle, and closes the journal file.
func swapFile(t *testing.T, w *Writer, f *os.File) {
	t.Helper()
	require.NoError(t, w.drain())
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NoError(t, w.f.Close())
	w.f = f
}

func TestEntryLineIsWhatEncodingJSONWrites(t *testing.T) {
	tricky := testEntry("org_1", "auth0|tab\there", report.Removed, report.Failed)
	tricky.Results[0].RoleName = "Quote \" backslash \\ newline \n nul \x00 del \x7f"
	tricky.Results[0].Error = "bad utf-8 \xff\xfe, line sep \u2028 para sep \u2029, ünïcødé, 😀"
	tricky.Results[1].Lines = []int{}
	tricky.Results[1].Reason = ""
	noLines := testEntry("", "a@example.com", report.NotFound)
	noLines.Results[0].Lines = nil
	noLines.Results[0].UserID = ""
	local := testEntry("", "auth0|tz", report.Absent)
	local.FinishedAt = time.Date(2026, 11, 27, 11, 4, 5, 123456789, time.FixedZone("CET", 3600))
	entries := map[string]Entry{
		"plain":              testEntry("", "auth0|5f7c8ec7c33c6c004bbafe82", report.Removed),
		"escapes":            tricky,
		"no lines, by email": noLines,
		"no results":         {User: "auth0|none", FinishedAt: started},
		"empty results":      {User: "auth0|empty", FinishedAt: started, Results: []report.Result{}},
		"time zone":          local,
	}
	for name, e := range entries {
		t.Run(name, func(t *testing.T) {
			line, err := appendEntryLine(nil, &e)
			require.NoError(t, err)
			want, err := json.Marshal(e)
			require.NoError(t, err)
			assert.Equal(t, string(want)+"\n", string(line))
			got, err := decodeEntry(line)
			require.NoError(t, err)
			var viaJSON Entry
			require.NoError(t, json.Unmarshal(want, &viaJSON))
			assert.Equal(t, viaJSON, got, "read back as encoding/json's line reads back")
		})
	}

	// encoding/json escapes <, > and &; the journal keeps them readable, and
	// both read back the same.
	html := testEntry("", "auth0|x", report.Removed)
	html.Results[0].RoleName = "R&D <admins>"
	line, err := appendEntryLine(nil, &html)
	require.NoError(t, err)
	assert.Contains(t, string(line), `"role_name":"R&D <admins>"`)
	got, err := decodeEntry(line)
	require.NoError(t, err)
	assert.Equal(t, html.Results, got.Results)
}

func TestRecordRefusesAnUnencodableTime(t *testing.T) {
	path, w := createJournal(t)
	e := testEntry("", "auth0|a", report.Removed)
	e.FinishedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // JSON times stop at year 9999
	err := w.Record(e)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "encode entry")
	// Refusing one entry does not stop the journal.
	mustRecord(t, w, testEntry("", "auth0|b", report.Removed))
	require.NoError(t, w.Close())
	_, entries := mustRead(t, path)
	require.Len(t, entries, 1)
	assert.Equal(t, "auth0|b", entries[0].User)
}

// TestConcurrentRecordsLandOnce runs as many writers as apply's executor,
// some of them recording lines longer than a whole batch, so that batches
// fill up and Records wait for the disk.
func TestConcurrentRecordsLandOnce(t *testing.T) {
	path, w := createJournal(t)
	const workers, perWorker = 64, 25
	many := make([]report.Status, 1200) // 280 KB, more than maxBatchBytes
	for i := range many {
		many[i] = report.Removed
	}
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range perWorker {
				statuses := []report.Status{report.Removed, report.Absent}
				if g%16 == 0 && i == 10 {
					statuses = many
				}
				assert.NoError(t, w.Record(testEntry("", fmt.Sprintf("auth0|w%02d-%02d", g, i), statuses...)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())

	raw := readRaw(t, path)
	require.True(t, strings.HasSuffix(raw, "\n"), "the journal ends in a newline")
	assert.Equal(t, 1+workers*perWorker, strings.Count(raw, "\n"), "one header line and one line per Record")
	_, entries := mustRead(t, path)
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.User]++
	}
	for g := range workers {
		for i := range perWorker {
			user := fmt.Sprintf("auth0|w%02d-%02d", g, i)
			if !assert.Equal(t, 1, seen[user], "%s recorded once", user) {
				return
			}
		}
	}
}

func TestCloseFlushesEverything(t *testing.T) {
	path, w := createJournal(t)
	const n = 500
	for i := range n {
		mustRecord(t, w, testEntry("", fmt.Sprintf("auth0|u%03d", i), report.Removed))
	}
	require.NoError(t, w.Close())
	_, entries := mustRead(t, path)
	require.Len(t, entries, n)
	for i, e := range entries {
		assert.Equal(t, fmt.Sprintf("auth0|u%03d", i), e.User, "one worker's records stay in order")
	}
	assert.ErrorIs(t, w.Record(testEntry("", "auth0|late", report.Removed)), os.ErrClosed)
}

// TestRecordsRacingClose: a Record that succeeds is in the file once Close
// returns; one that comes too late fails with os.ErrClosed, never silently.
func TestRecordsRacingClose(t *testing.T) {
	path, w := createJournal(t)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[string]bool{}
	)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				user := fmt.Sprintf("auth0|r%d-%03d", g, i)
				err := w.Record(testEntry("", user, report.Removed))
				if err != nil {
					assert.ErrorIs(t, err, os.ErrClosed)
					return
				}
				mu.Lock()
				accepted[user] = true
				mu.Unlock()
			}
		})
	}
	require.NoError(t, w.Close())
	wg.Wait()
	_, entries := mustRead(t, path)
	got := map[string]bool{}
	for _, e := range entries {
		got[e.User] = true
	}
	assert.Equal(t, accepted, got)
}

func TestWriteErrorStopsRecordAndClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /dev/full")
	}
	path, w := createJournal(t)
	mustRecord(t, w, testEntry("", "auth0|a", report.Removed))
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	require.NoError(t, err)
	swapFile(t, w, full) // every write now fails with ENOSPC, as on a full disk

	mustRecord(t, w, testEntry("", "auth0|b", report.Removed)) // queued; the disk has not answered yet
	failure := w.drain()
	require.Error(t, failure)
	assert.ErrorIs(t, failure, syscall.ENOSPC)
	assert.Contains(t, failure.Error(), "journal "+path+": write:")

	assert.Equal(t, failure, w.Record(testEntry("", "auth0|c", report.Removed)), "the failure is sticky")
	assert.Equal(t, failure, w.Close())
	_, entries := mustRead(t, path)
	assert.Len(t, entries, 1, "only what was written before the failure")
}

func TestFsyncErrorStopsRecordAndClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("fsync of a pipe fails on Linux")
	}
	path, w := createJournal(t)
	r, pipe, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	swapFile(t, w, pipe) // a write succeeds, its fsync fails (EINVAL)

	mustRecord(t, w, testEntry("", "auth0|b", report.Removed))
	failure := w.drain()
	require.Error(t, failure)
	assert.Contains(t, failure.Error(), "journal "+path+": fsync:")
	assert.Equal(t, failure, w.Record(testEntry("", "auth0|c", report.Removed)))
	assert.Equal(t, failure, w.Close())
}

// TestFullBatchWaitsForTheDisk stalls the flusher's write on a pipe nobody
// reads, fills the next batch, and shows that one more Record waits for the
// stalled batch instead of growing the next one past maxBatchBytes.
func TestFullBatchWaitsForTheDisk(t *testing.T) {
	_, w := createJournal(t)
	r, pipe, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	swapFile(t, w, pipe)

	waited := make(chan int, 1)
	testHookBatchFull = func() {
		w.mu.Lock()
		gathered := len(w.next)
		w.mu.Unlock()
		select {
		case waited <- gathered:
		default:
		}
	}
	t.Cleanup(func() { testHookBatchFull = nil })

	// A line longer than a pipe's buffer: its write blocks until read.
	statuses := make([]report.Status, 1000)
	for i := range statuses {
		statuses[i] = report.Removed
	}
	mustRecord(t, w, testEntry("", "auth0|stalled", statuses...))
	// Fill the next batch until a Record has to wait.
	recorded := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if err := w.Record(testEntry("", fmt.Sprintf("auth0|f%05d", i), report.Removed)); err != nil {
				recorded <- err
				return
			}
		}
	}()
	gathered := <-waited
	assert.LessOrEqual(t, gathered, maxBatchBytes, "the gathering batch stays within its bound")
	assert.Greater(t, gathered, maxBatchBytes-2048, "it waited only once the batch was full")

	// Let the stalled write through. A pipe cannot be fsynced, so the
	// journal stops, and the waiting Record is the one that says so.
	go io.Copy(io.Discard, r)
	err = <-recorded
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fsync")
	assert.Equal(t, err, w.Close())
}

// TestTornBatch cuts a journal written in batches at every byte of its last
// lines, as a crash in the middle of a batch's write can: Read keeps every
// complete line and Reopen cuts the rest off.
func TestTornBatch(t *testing.T) {
	path, w := createJournal(t)
	const n = 4
	for i := range n {
		mustRecord(t, w, testEntry("", fmt.Sprintf("auth0|t%02d", i), report.Removed))
	}
	require.NoError(t, w.Close())
	full := readRaw(t, path)
	lines := strings.SplitAfter(full, "\n")
	lastTwo := len(full) - len(lines[n-1]) - len(lines[n])

	for cut := lastTwo; cut < len(full); cut++ {
		torn := full[:cut]
		require.NoError(t, os.WriteFile(path, []byte(torn), 0o600))
		_, entries := mustRead(t, path)
		complete := strings.Count(torn, "\n") - 1
		require.Len(t, entries, complete, "cut at byte %d", cut)

		// Reopen fsyncs: try it on line boundaries, just past them and
		// on a sample in between.
		if cut%29 != 0 && full[cut-1] != '\n' && full[cut-2] != '\n' {
			continue
		}
		w, err := Reopen(path)
		require.NoError(t, err, "cut at byte %d", cut)
		mustRecord(t, w, testEntry("", "auth0|retried", report.Removed))
		require.NoError(t, w.Close())
		_, entries = mustRead(t, path)
		require.Len(t, entries, complete+1, "cut at byte %d", cut)
		assert.Equal(t, "auth0|retried", entries[complete].User)
	}
}
