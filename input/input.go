// Package input reads a list of role removals from CSV or YAML into rows that
// carry their line numbers, and validates every row before anything is sent.
//
// It imports nothing else from rolesweep: it knows nothing of plans, tenants
// or reports.
package input

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Format is the syntax of an input file.
type Format string

const (
	CSV  Format = "csv"
	YAML Format = "yaml"
)

// Row is one requested (organization, user, role) removal. A YAML entry with
// several roles becomes several rows, one per role, each with the line of its
// role item.
type Row struct {
	Line           int    // 1-based line in the input where this row (or role item) starts
	UserID         string // "provider|id"; wins over UserEmail when both are set
	UserEmail      string
	RoleID         string // "rol_" + 16 letters or digits; wins over RoleName when both are set
	RoleName       string
	OrganizationID string // optional "org_…"
	Reason         string // optional free text
}

// Options control parsing.
type Options struct {
	// Format is required when reading standard input ("-"); otherwise it may
	// be empty and is taken from the file extension.
	Format            Format
	AllowExtraColumns bool
	// Each, when set, receives every row as it is read instead of the row
	// being kept in Source.Rows, so a million-row input is never held twice.
	// A problem found later still makes Read fail: the caller must then
	// discard whatever it built from the rows it was handed.
	Each func(Row)
	// MaxProblems caps how many problems are kept; the rest are only counted.
	// Zero means DefaultMaxProblems.
	MaxProblems int

	// Map reads a field from a column of another name (a review tool's
	// export), Where keeps only the rows whose columns hold one of the
	// listed values, and Preset names a known export's Map and Where, which
	// Map and Where then override. With any of them, CSV columns that no
	// field or filter names are ignored; on YAML they are an error.
	Map    map[Field]string
	Where  []Filter
	Preset string
}

// DefaultMaxProblems is how many problems are printed before "and N more".
const DefaultMaxProblems = 100

// Source is a parsed and validated input file.
type Source struct {
	Path   string // as given by the user; "-" for standard input
	Format Format
	SHA256 string // hex digest of the exact bytes read
	Rows   []Row  // in input order
	// Records counts the data records read: CSV data rows (blank lines not
	// counted) or YAML removal entries. Excluded rows are among them.
	Records int
	// Excluded counts the CSV rows that Options.Where left out: never
	// validated, never in Rows nor handed to Each.
	Excluded int
	// Where is the filters that were applied (the preset's, overridden by
	// Options.Where), so that a summary can say why rows were excluded.
	Where []Filter
}

// Problem is one positioned input error.
type Problem struct {
	File    string
	Line    int // 0 when the problem concerns the whole file
	Column  int // 0 when unknown
	Message string
}

func (p Problem) Error() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	default:
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	}
}

// ValidationError collects every problem found in one input. Problems holds
// at most Options.MaxProblems entries; Total counts all of them.
type ValidationError struct {
	Problems []Problem
	Total    int
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	if more := e.Total - len(e.Problems); more > 0 {
		fmt.Fprintf(&b, "\n... and %d more problems", more)
	}
	return b.String()
}

// MaxInputBytes is the largest input accepted. It keeps a runaway pipe or a
// wrong file from exhausting memory; a million removals take about 80 MB.
const MaxInputBytes = 512 << 20

// FileError reports that an input could not be opened or read. Like every
// other error from ReadFile and Read, it is an input error (exit 2): content
// problems come as *ValidationError, usage mistakes (unknown extension or
// format, standard input without a format) as plain errors.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("cannot read %s: %v", e.Path, e.Err) }

func (e *FileError) Unwrap() error { return e.Err }

// FormatFromPath returns the format that path's extension names.
func FormatFromPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV, nil
	case ".yaml", ".yml":
		return YAML, nil
	}
	return "", fmt.Errorf("%s: unknown input format: the file name must end in .csv, .yaml or .yml", path)
}

// ReadFile reads and validates the input at path; "-" is standard input,
// which needs opts.Format.
func ReadFile(path string, opts Options) (*Source, error) {
	if path == "-" {
		if opts.Format == "" {
			return nil, errors.New("reading standard input needs its format: --input-format csv or yaml")
		}
		return Read(os.Stdin, path, opts)
	}
	if opts.Format == "" {
		format, err := FormatFromPath(path)
		if err != nil {
			return nil, err
		}
		opts.Format = format
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: pathCause(err)}
	}
	defer f.Close()
	return Read(f, path, opts)
}

// pathCause drops the *PathError wrapper, whose text would repeat the path.
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Read parses and validates one input read from r. path names it in
// messages and in Source.Path; it also gives the format when opts.Format is
// empty. Content problems are returned together as a *ValidationError.
func Read(r io.Reader, path string, opts Options) (*Source, error) {
	return read(r, path, opts, MaxInputBytes)
}

// read is Read with the size limit as a parameter, so tests need not feed it
// half a gigabyte.
func read(r io.Reader, path string, opts Options, limit int64) (*Source, error) {
	format := opts.Format
	switch format {
	case CSV, YAML:
	case "":
		var err error
		if format, err = FormatFromPath(path); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown input format %q: expected csv or yaml", format)
	}
	m, err := resolveMapping(opts, format)
	if err != nil {
		return nil, err
	}
	display := path
	if path == "-" {
		display = "<stdin>"
	}
	maxProblems := opts.MaxProblems
	if maxProblems <= 0 {
		maxProblems = DefaultMaxProblems
	}
	p := &problems{file: display, max: maxProblems}
	src := &Source{Path: path, Format: format, Where: m.where}
	in := &guardReader{r: r, hash: sha256.New(), limit: limit, line: 1}
	if format == CSV {
		err = readCSV(in, opts, m, src, p)
	} else {
		err = readYAML(in, opts, src, p)
	}
	if err != nil {
		return nil, err
	}
	if p.total > 0 {
		// YAML entries are checked key by key, not line by line.
		sort.SliceStable(p.kept, func(i, j int) bool {
			a, b := p.kept[i], p.kept[j]
			return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
		})
		return nil, &ValidationError{Problems: p.kept, Total: p.total}
	}
	src.SHA256 = hex.EncodeToString(in.hash.Sum(nil))
	return src, nil
}

// problems collects positioned problems, keeping the first max of them.
type problems struct {
	file    string // the path as shown in messages
	max     int
	kept    []Problem
	total   int
	stopped bool // a limit ended reading early
}

func (p *problems) add(line, column int, format string, args ...any) {
	p.total++
	if len(p.kept) < p.max {
		p.kept = append(p.kept, Problem{File: p.file, Line: line, Column: column, Message: fmt.Sprintf(format, args...)})
	}
}

// rowChunks gathers rows in chunks and copies them once at the end.
// Appending to one slice would allocate five times the final size for a
// million rows (slices grow by a quarter at that size) and keep two copies
// alive at each step.
type rowChunks struct {
	each  func(Row) // Options.Each: hand rows over instead of keeping them
	full  [][]Row
	last  []Row
	count int
}

const maxRowChunk = 1 << 16

func (c *rowChunks) add(r Row) {
	if c.each != nil {
		c.each(r)
		c.count++
		return
	}
	if len(c.last) == cap(c.last) {
		if c.last != nil {
			c.full = append(c.full, c.last)
		}
		// Small inputs get small chunks.
		c.last = make([]Row, 0, min(max(64, 2*cap(c.last)), maxRowChunk))
	}
	c.last = append(c.last, r)
	c.count++
}

func (c *rowChunks) all() []Row {
	if len(c.full) == 0 {
		return c.last
	}
	rows := make([]Row, 0, c.count)
	for _, chunk := range c.full {
		rows = append(rows, chunk...)
	}
	return append(rows, c.last...)
}

// maxLineBytes bounds a physical line, and a CSV field, so that a file with
// no line breaks cannot make the parser buffer it whole.
const maxLineBytes = 64 << 10

// limitError is a size limit that guardReader hit; reading stops there.
type limitError struct {
	line    int // 0 when the whole input is too large
	message string
}

func (e *limitError) Error() string { return e.message }

// readError is a failure of the underlying reader, kept apart from
// limitError so that it becomes a FileError.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// guardReader hashes the bytes it passes on, counts lines, and fails as soon
// as the input or one of its lines grows past its limit.
type guardReader struct {
	r       io.Reader
	hash    hash.Hash
	limit   int64 // bytes in all
	maxLine int   // bytes in one line; 0 for no limit
	n       int64 // bytes read so far
	line    int   // current line, 1-based
	lineLen int   // bytes of the current line read so far
	err     error // sticky: parsers may call Read again after an error
}

func (g *guardReader) Read(b []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(b)
	if n > 0 {
		g.hash.Write(b[:n])
		g.n += int64(n)
		if g.n > g.limit {
			g.err = &limitError{message: fmt.Sprintf("input is larger than %d MiB", g.limit>>20)}
			return 0, g.err
		}
		chunk := b[:n]
		for g.maxLine > 0 && len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				g.lineLen += len(chunk)
				break
			}
			if g.lineLen += i; g.lineLen > g.maxLine {
				break
			}
			g.line++
			g.lineLen = 0
			chunk = chunk[i+1:]
		}
		if g.maxLine > 0 && g.lineLen > g.maxLine {
			g.err = &limitError{line: g.line, message: "line is longer than 64 KiB"}
			return 0, g.err
		}
	}
	if err != nil && err != io.EOF {
		g.err = &readError{pathCause(err)}
		return n, g.err
	}
	return n, err
}

// EstimateRows counts the line breaks of a regular file, an upper bound on
// its rows that lets a caller size its tables once instead of growing them
// (growing a million-row table keeps old and new copies alive together).
// It returns 0 when the file cannot be read; reading it properly reports why.
func EstimateRows(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	n := 0
	var read int64
	for read < MaxInputBytes {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		read += int64(k)
		if err != nil {
			break
		}
	}
	return n
}
