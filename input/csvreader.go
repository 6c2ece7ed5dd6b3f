package input

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSVReader is the one way rolesweep reads a CSV file: the removals input,
// keep lists, protect lists and the sandbox's role catalogue. It strips a
// UTF-8 BOM, refuses UTF-16, normalises the header (trimmed, lower case) and
// keeps every field's position for FILE:LINE:COL messages.
//
// It satisfies gocsv.CSVReader: Read and ReadAll hand over the normalised
// header first, so struct tags in lower case ("user_id") match "User_ID ".
// gocsv itself reports no positions; use Lines to place a decoded record.
type CSVReader struct {
	cr      *csv.Reader
	file    string   // as shown in messages
	columns []string // the header as written, trimmed and without a BOM
	header  []string // columns in lower case
	headPos [][2]int // line and column of each header field
	sent    bool     // Read has handed the header over
	lines   []int    // start line of every data record Read returned
}

// NewCSVReader reads the header row of r. file names the input in
// problems. An empty file, a UTF-16 file or a malformed header come back as
// a Problem; a failing reader as a *FileError.
func NewCSVReader(r io.Reader, file string) (*CSVReader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(utf8BOM))
	switch {
	case string(head) == utf8BOM:
		br.Discard(len(utf8BOM))
	case len(head) >= 2 && (head[0] == 0xff && head[1] == 0xfe || head[0] == 0xfe && head[1] == 0xff):
		return nil, Problem{File: file, Message: "file is UTF-16 encoded; save it as UTF-8 (in Excel: CSV UTF-8)"}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // a short row is the caller's to report, with its line
	c := &CSVReader{cr: cr, file: file}
	raw, err := cr.Read()
	if err == io.EOF {
		if len(head) == 0 {
			return nil, Problem{File: file, Message: "empty file, expected a header row"}
		}
		return nil, Problem{File: file, Message: "no header row: the file holds only blank lines"}
	}
	if err != nil {
		return nil, c.positioned(err)
	}
	c.columns = make([]string, len(raw))
	c.header = make([]string, len(raw))
	for i, name := range raw {
		c.columns[i] = NormaliseColumn(name, false)
		c.header[i] = NormaliseColumn(name, true)
		line, col := cr.FieldPos(i)
		c.headPos = append(c.headPos, [2]int{line, col})
	}
	return c, nil
}

// NormaliseColumn trims spaces and a BOM from a column name, and lowers its
// case when lower is set: the comparison every CSV header gets.
func NormaliseColumn(name string, lower bool) string {
	name = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), "\ufeff"))
	if lower {
		name = strings.ToLower(name)
	}
	return name
}

// File is the name the reader gives in problems.
func (c *CSVReader) File() string { return c.file }

// Header is the normalised header (lower case, trimmed).
func (c *CSVReader) Header() []string { return c.header }

// Columns is the header as written (trimmed, without a BOM), for messages.
func (c *CSVReader) Columns() []string { return c.columns }

// Index returns the position of the column named name (matched like the
// header: trimmed, case-insensitive), or -1. A duplicated column gives its
// first position.
func (c *CSVReader) Index(name string) int {
	name = NormaliseColumn(name, true)
	for i, h := range c.header {
		if h == name {
			return i
		}
	}
	return -1
}

// HeaderPos is the line and column of the i-th header field.
func (c *CSVReader) HeaderPos(i int) (line, column int) {
	return c.headPos[i][0], c.headPos[i][1]
}

// HeaderProblem places a message at the i-th header field (i < 0: the
// header's line only).
func (c *CSVReader) HeaderProblem(i int, format string, args ...any) Problem {
	p := Problem{File: c.file, Message: fmt.Sprintf(format, args...)}
	if i < 0 {
		p.Line = c.headPos[0][0]
	} else {
		p.Line, p.Column = c.HeaderPos(i)
	}
	return p
}

// Next returns the next data record with encoding/csv's own errors (a
// *csv.ParseError keeps its Err, so a caller can go on after a short row).
// The record is reused by the next call.
func (c *CSVReader) Next() ([]string, error) {
	c.cr.ReuseRecord = true
	return c.cr.Read()
}

// FieldPos is the line and column where field i of the last record starts.
func (c *CSVReader) FieldPos(i int) (line, column int) { return c.cr.FieldPos(i) }

// Line is the line where the last record starts.
func (c *CSVReader) Line() int {
	line, _ := c.cr.FieldPos(0)
	return line
}

// Problem places a message at field i of the last record (i < 0: the
// record's line only).
func (c *CSVReader) Problem(i int, format string, args ...any) Problem {
	p := Problem{File: c.file, Message: fmt.Sprintf(format, args...)}
	if i < 0 {
		p.Line = c.Line()
	} else {
		p.Line, p.Column = c.cr.FieldPos(i)
	}
	return p
}

// Read returns the normalised header first, then one data record per call
// (gocsv.CSVReader). Errors are Problems, positioned; a row whose field
// count differs from the header's is one.
func (c *CSVReader) Read() ([]string, error) {
	if !c.sent {
		c.sent = true
		return c.header, nil
	}
	c.cr.ReuseRecord = false
	record, err := c.cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, c.positioned(err)
	}
	if len(record) != len(c.header) && !isBlank(record) {
		return nil, c.Problem(-1, "row has %d fields, the header has %d", len(record), len(c.header))
	}
	c.lines = append(c.lines, c.Line())
	return record, nil
}

// ReadAll returns what Read would, until the end of the input
// (gocsv.CSVReader).
func (c *CSVReader) ReadAll() ([][]string, error) {
	var records [][]string
	for {
		record, err := c.Read()
		if err == io.EOF {
			return records, nil
		}
		if err != nil {
			return records, err
		}
		records = append(records, record)
	}
}

// Lines holds the start line of each data record Read has returned, in
// order: Lines()[i] places the i-th struct gocsv decoded.
func (c *CSVReader) Lines() []int { return c.lines }

// positioned turns a reading error into a Problem with its position, or a
// *FileError when the underlying reader failed.
func (c *CSVReader) positioned(err error) error {
	var (
		readErr  *readError
		limitErr *limitError
		parseErr *csv.ParseError
	)
	switch {
	case errors.As(err, &readErr):
		return &FileError{Path: c.file, Err: readErr.err}
	case errors.As(err, &limitErr):
		return Problem{File: c.file, Line: limitErr.line, Message: limitErr.message}
	case errors.As(err, &parseErr):
		line, col, msg := parseErrorText(parseErr)
		return Problem{File: c.file, Line: line, Column: col, Message: msg}
	}
	return &FileError{Path: c.file, Err: err}
}

// parseErrorText phrases an encoding/csv error for someone fixing the file
// in a spreadsheet or an editor.
func parseErrorText(e *csv.ParseError) (line, column int, msg string) {
	switch {
	case e.Err == csv.ErrBareQuote:
		return e.Line, e.Column, `quote in an unquoted field: quote the whole field and double the quotes inside it ("a ""b"" c")`
	case e.Err == csv.ErrFieldCount:
		return e.StartLine, 0, "row has a different number of fields than the header"
	case e.Err == csv.ErrQuote && e.StartLine != e.Line:
		return e.Line, e.Column, fmt.Sprintf("extraneous or missing quote in a quoted field (the record starts on line %d)", e.StartLine)
	case e.Err == csv.ErrQuote:
		return e.Line, e.Column, "extraneous or missing quote in a quoted field"
	}
	return e.Line, e.Column, e.Err.Error()
}
