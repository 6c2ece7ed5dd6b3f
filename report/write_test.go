package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// dirEntries lists the names in dir, to catch leftover temporary files.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestAtomicWriteFailureKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	err := AtomicWrite(path, 0o600, func(w io.Writer) error {
		// Write well past the buffer so part of it reaches the temp file.
		if _, err := w.Write(bytes.Repeat([]byte("partial "), 100_000)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the write error", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old report\n" {
		t.Errorf("target changed to %d bytes", len(got))
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only report.json", names)
	}
}

func TestAtomicWritePanicLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic was swallowed")
			}
		}()
		AtomicWrite(path, 0o600, func(w io.Writer) error {
			io.WriteString(w, "half")
			panic("renderer bug")
		})
	}()
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("directory holds %v after a panic, want nothing", names)
	}
}

func TestAtomicWriteReplacesAndSetsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.csv")
	if err := os.WriteFile(path, []byte("a much longer old report that must not leave a tail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, perm := range []os.FileMode{0o600, 0o644, 0o640} {
		if err := AtomicWrite(path, perm, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "new %o\n", perm)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if want := fmt.Sprintf("new %o\n", perm); string(got) != want {
			t.Errorf("content %q, want %q", got, want)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// Chmod is not subject to the umask: the mode is exactly perm.
		if info.Mode().Perm() != perm {
			t.Errorf("mode %o, want %o", info.Mode().Perm(), perm)
		}
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v", names)
	}
}

func TestAtomicWriteMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "r.json")
	err := AtomicWrite(path, 0o600, func(w io.Writer) error { return nil })
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want one naming %s", err, path)
	}
}

func TestAtomicWriteRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := AtomicWrite("r.md", 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile("r.md"); string(got) != "x" {
		t.Errorf("content %q", got)
	}
}

func TestAtomicWriteConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.json")
	const writers = 16
	// Each writer's content is large and self-identifying, so an interleaved
	// or truncated result cannot pass for any one of them.
	contents := make([][]byte, writers)
	for i := range contents {
		contents[i] = bytes.Repeat([]byte(fmt.Sprintf("writer %02d\n", i)), 20_000)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- AtomicWrite(path, FilePerm, func(w io.Writer) error {
				// Write in pieces so writers really overlap.
				for off := 0; off < len(contents[i]); off += 4096 {
					if _, err := w.Write(contents[i][off:min(off+4096, len(contents[i]))]); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	matched := false
	for _, c := range contents {
		if bytes.Equal(got, c) {
			matched = true
		}
	}
	if !matched {
		t.Errorf("final file (%d bytes) is not any one writer's complete content", len(got))
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v", names)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	r := applyReport()
	for _, name := range []string{"r.json", "r.CSV", "r.md"} {
		path := filepath.Join(dir, name)
		if err := WriteFile(path, r); err != nil {
			t.Fatal(err)
		}
		format, _ := FormatFromPath(name)
		var want bytes.Buffer
		if err := Write(&want, format, r); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: file differs from Write(%s)", name, format)
		}
		info, _ := os.Stat(path)
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 0600 (reports hold personal data)", name, info.Mode().Perm())
		}
	}
	if err := WriteFile(filepath.Join(dir, "r.txt"), r); err == nil {
		t.Errorf("WriteFile accepted .txt")
	}
	if err := WriteFileFormat(filepath.Join(dir, "plan.out"), "yaml", r); err == nil {
		t.Errorf("WriteFileFormat accepted yaml")
	}
	if err := WriteFileFormat(filepath.Join(dir, "plan.out"), "json", smallPlan()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "plan.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.CheckDigest(); err != nil {
		t.Errorf("plan written with WriteFileFormat fails its digest: %v", err)
	}
	names := dirEntries(t, dir)
	if strings.Join(names, " ") != "plan.out r.CSV r.json r.md" {
		t.Errorf("directory holds %v", names)
	}
}
