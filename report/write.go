package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// FilePerm is the mode of report, plan and journal files. Reports name users
// by id and email, which is personal data: on a shared machine they must not
// be world-readable by default. An auditor who needs to share one can chmod it.
const FilePerm os.FileMode = 0o600

// Formats accepted by Write.
const (
	FormatJSON     = "json"
	FormatCSV      = "csv"
	FormatMarkdown = "md"
	FormatText     = "text"
)

// FormatFromPath returns the report format for path's extension: ".json",
// ".csv" or ".md", compared case-insensitively.
func FormatFromPath(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		return FormatJSON, nil
	case ".csv":
		return FormatCSV, nil
	case ".md":
		return FormatMarkdown, nil
	default:
		return "", fmt.Errorf("report %q: cannot tell the format from the extension %q; use .json, .csv or .md", path, ext)
	}
}

// Write renders r in format: "json", "csv", "md" (or "markdown") or "text".
func Write(w io.Writer, format string, r *Report) error {
	canonical, err := canonicalFormat(format)
	if err != nil {
		return err
	}
	switch canonical {
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatCSV:
		return WriteCSV(w, r)
	case FormatMarkdown:
		return WriteMarkdown(w, r)
	default:
		return WritePlanText(w, r)
	}
}

func canonicalFormat(format string) (string, error) {
	switch f := strings.ToLower(format); f {
	case FormatJSON, FormatCSV, FormatMarkdown, FormatText:
		return f, nil
	case "markdown":
		return FormatMarkdown, nil
	default:
		return "", fmt.Errorf("unknown report format %q; use json, csv, md or text", format)
	}
}

// WriteFile writes r to path atomically, in the format its extension names,
// with mode FilePerm.
func WriteFile(path string, r *Report) error {
	format, err := FormatFromPath(path)
	if err != nil {
		return err
	}
	return WriteFileFormat(path, format, r)
}

// WriteFileFormat is WriteFile with an explicit format, for files whose name
// does not say it (plan --out).
func WriteFileFormat(path, format string, r *Report) error {
	// Reject an unknown format before a temporary file is created.
	if _, err := canonicalFormat(format); err != nil {
		return err
	}
	return AtomicWrite(path, FilePerm, func(w io.Writer) error {
		return Write(w, format, r)
	})
}

// AtomicWrite replaces path with what write produces, or leaves it as it was.
// It writes to a temporary file in the same directory (so the rename cannot
// cross file systems), syncs it, sets perm, renames it over path and syncs the
// directory so the rename itself survives a crash. Readers and a crash at any
// point see either the old file or the complete new one, never a truncated
// report. If write fails (or panics) the temporary file is removed and path
// is untouched.
//
// If path is a symbolic link, the link itself is replaced by a regular file.
func AtomicWrite(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()

	buffered := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(buffered); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := buffered.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	// Chmod rather than relying on CreateTemp's 0600 and the umask: the mode
	// is exactly what the caller asked for.
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	committed = true
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// SyncDir makes a new or renamed file's directory entry in dir durable: a
// report or journal must survive the crash it is written for. Windows cannot
// fsync a directory (and does not need to), so there it does nothing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, os.ErrInvalid) {
		return nil
	}
	return err
}

// Target is where one report goes: a file in a format, or standard output.
type Target struct {
	Format string // json, csv or md
	Path   string // "-" is standard output
}

// Stdout reports whether the target is standard output.
func (t Target) Stdout() bool { return t.Path == "-" }

func (t Target) String() string {
	return t.Format + ":" + t.Path
}

// ParseTarget parses a `--report [FORMAT:]FILE` value. FORMAT is json, csv,
// md or markdown (any case); without it the format comes from FILE's
// extension. FILE "-" is standard output, which needs a FORMAT. A prefix of
// one letter (C:\reports\x.json) is a Windows drive, not a format, and so is
// any prefix that is not a known format (a file may be called "notes:x.md").
func ParseTarget(s string) (Target, error) {
	if prefix, rest, ok := strings.Cut(s, ":"); ok && len(prefix) > 1 {
		switch f := strings.ToLower(prefix); f {
		case FormatJSON, FormatCSV, FormatMarkdown, "markdown":
			if rest == "" {
				return Target{}, fmt.Errorf("report %q: no file after %q (use - for standard output)", s, prefix+":")
			}
			canonical, _ := canonicalFormat(f)
			return Target{Format: canonical, Path: rest}, nil
		}
	}
	if s == "" {
		return Target{}, errors.New("report: empty path")
	}
	if s == "-" {
		return Target{}, errors.New(`report "-": standard output needs a format: json:-, csv:- or md:-`)
	}
	format, err := FormatFromPath(s)
	if err != nil {
		return Target{}, fmt.Errorf("%w, or a json:, csv: or md: prefix", err)
	}
	return Target{Format: format, Path: s}, nil
}

// WriteTarget writes r to t: atomically to its file, or to stdout when t is
// standard output.
func WriteTarget(t Target, stdout io.Writer, r *Report) error {
	if t.Stdout() {
		bw := bufio.NewWriterSize(stdout, 64<<10)
		if err := Write(bw, t.Format, r); err != nil {
			return fmt.Errorf("write report to standard output: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write report to standard output: %w", err)
		}
		return nil
	}
	return WriteFileFormat(t.Path, t.Format, r)
}

// NotWritableError says that a report, journal or metrics path cannot be
// written, found before anything was sent.
type NotWritableError struct {
	Path string
	Err  error
}

func (e *NotWritableError) Error() string {
	return fmt.Sprintf("%s cannot be written: %v", e.Path, e.Err)
}

func (e *NotWritableError) Unwrap() error { return e.Err }

// CheckWritable proves that path can be created or replaced as AtomicWrite
// will do it: path is not a directory, and a temporary file can be created
// (and is removed again) in its directory. Standard output ("-") is always
// writable. Errors are *NotWritableError.
func CheckWritable(path string) error {
	if path == "-" {
		return nil
	}
	if path == "" {
		return &NotWritableError{Path: path, Err: errors.New("empty path")}
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return &NotWritableError{Path: path, Err: errors.New("is a directory")}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	info, err := os.Stat(dir)
	switch {
	case err != nil:
		return &NotWritableError{Path: path, Err: fmt.Errorf("directory %s: %w", dir, err)}
	case !info.IsDir():
		return &NotWritableError{Path: path, Err: fmt.Errorf("%s is not a directory", dir)}
	}
	tmp, err := os.CreateTemp(dir, "."+base+".check-*")
	if err != nil {
		return &NotWritableError{Path: path, Err: err}
	}
	name := tmp.Name()
	cerr := tmp.Close()
	if err := os.Remove(name); err != nil {
		return &NotWritableError{Path: path, Err: err}
	}
	if cerr != nil {
		return &NotWritableError{Path: path, Err: cerr}
	}
	return nil
}
