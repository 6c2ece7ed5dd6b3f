package journal

import (
	"bytes"
	"github.com/rolesweep/rolesweep/report"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzRead feeds arbitrary files to Read and Reopen, which `apply --resume`
// uses on whatever a crash, a full disk or a person left behind. Neither may
// panic; what Read accepts must be usable (every entry names a user, Latest
// has one entry per group, the newest), and Reopen must accept exactly what
// Read accepts and leave the entries as they were, on a line boundary.
func FuzzRead(f *testing.F) {
	path := filepath.Join(f.TempDir(), "run.journal.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		rewrite(t, path, data)
		h, entries, err := readPath(path)
		if err != nil {
			// apply reads the journal before it reopens it: both must refuse
			// the same files, and a refused file must be left as it was.
			if w, rerr := Reopen(path); rerr == nil {
				w.Close()
				t.Fatalf("Read refuses the journal (%v), Reopen accepts it", err)
			}
			if after, rerr := os.ReadFile(path); rerr != nil || !bytes.Equal(after, data) {
				t.Fatalf("a refused Reopen changed the file (%v)", rerr)
			}
			return
		}
		if h.Journal != formatVersion {
			t.Fatalf("accepted a header of format version %d", h.Journal)
		}

		newest := map[report.GroupKey]int{}
		for i, e := range entries {
			if e.User == "" {
				t.Fatalf("entry %d has no user: %+v", i, e)
			}
			newest[e.Key()] = i
		}
		latest := Latest(entries)
		if len(latest) != len(newest) {
			t.Fatalf("Latest has %d groups, the entries %d", len(latest), len(newest))
		}
		for key, i := range newest {
			got, ok := latest[key]
			if !ok || got.Key() != key || !reflect.DeepEqual(got, entries[i]) {
				t.Fatalf("Latest[%v] = %+v, want entry %d %+v", key, got, i, entries[i])
			}
		}

		w, err := Reopen(path)
		if err != nil {
			t.Fatalf("Read accepts the journal, Reopen refuses it: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close after Reopen: %v", err)
		}
		// Reopen may only cut off a torn or invalid last line, and must leave
		// the file ending in a newline so that the next Record starts a line
		// of its own. (Record itself is not called: its fsync would slow the
		// fuzzer several times over, and the unit tests cover it.)
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, after) || !bytes.HasSuffix(after, []byte("\n")) {
			t.Fatalf("Reopen left %q of %q", after, data)
		}
		h2, entries2, err := readPath(path)
		if err != nil {
			t.Fatalf("Read after Reopen: %v", err)
		}
		if !reflect.DeepEqual(h2, h) || !reflect.DeepEqual(entries2, entries) {
			t.Fatalf("Reopen changed the journal:\n got %+v %+v\nwant %+v %+v", h2, entries2, h, entries)
		}
	})
}

// rewrite makes path hold exactly data. The fuzz target reuses one file per
// process and rewrites it in place: a new file per run, or truncating one to
// empty, makes ext4 flush it, about 1 ms a run against 10 µs for this, which
// left the fuzzer little time for the parsing under test. Reopen needs a
// real file, so this target cannot feed Read an io.Reader alone.
func rewrite(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
