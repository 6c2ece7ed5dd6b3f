package input

// The removals input is read through CSVReader on encoding/csv, not decoded
// by gocsv: gocsv decodes the whole file and returns records without the
// csv.Reader that knows their FieldPos, so it cannot say FILE:LINE:COL of a
// bad value, and it stops at the first error where every problem must be listed.

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode"
)

// columnNames are the known CSV columns, indexed by field kind.
var columnNames = [fieldCount]string{"user_id", "user_email", "role_id", "role_name", "organization_id", "reason"}

var knownColumns = strings.Join(columnNames[:], ", ")

const utf8BOM = "\xef\xbb\xbf"

func readCSV(in *guardReader, opts Options, m mapping, src *Source, p *problems) error {
	in.maxLine = maxLineBytes
	cr, err := NewCSVReader(in, p.file)
	if err != nil {
		return addProblem(err, p)
	}
	var (
		index [fieldCount]int
		where []int
		ok    bool
	)
	if m.active {
		index, where, ok = mapHeader(cr, m, p)
	} else {
		index, ok = readHeader(cr, opts, p)
	}
	if !ok {
		return nil // rows read under a header that is wrong would only add noise
	}
	header := cr.Header()
	// Messages name the file's own column, and the field it gives.
	var names [fieldCount]string
	for kind := range names {
		names[kind] = columnNames[kind]
		if i := index[kind]; i >= 0 && cr.Header()[i] != columnNames[kind] {
			names[kind] = cr.Columns()[i] + " (" + columnNames[kind] + ")"
		}
	}
	// Check a row's fields left to right, so that its problems come in order.
	var order []int
	for col := range header {
		for kind, i := range index {
			if i == col {
				order = append(order, kind)
			}
		}
	}

	var (
		rows = rowChunks{each: opts.Each}
	)
	for {
		record, err := cr.Next()
		if err == io.EOF {
			src.Rows = rows.all()
			return nil
		}
		if err != nil {
			if err := csvError(err, p); err != nil || p.stopped {
				return err
			}
			src.Records++
			continue
		}
		if isBlank(record) {
			continue
		}
		src.Records++
		if len(record) != len(header) {
			p.add(cr.Line(), 0, "row has %d fields, the header has %d", len(record), len(header))
			continue
		}
		if !keep(record, m.where, where) {
			src.Excluded++
			continue
		}
		line := cr.Line()
		if !checkFieldSizes(cr, record, p) {
			continue
		}
		var values [fieldCount]string
		for _, kind := range order {
			v := strings.TrimSpace(record[index[kind]])
			values[kind] = v
			if v == "" {
				continue
			}
			if msg := checkValue(kind, names[kind], v); msg != "" {
				fieldLine, col := cr.FieldPos(index[kind])
				p.add(fieldLine, col, "%s", msg)
			}
		}
		hasUser := values[userIDField] != "" || values[userEmailField] != ""
		hasRole := values[roleIDField] != "" || values[roleNameField] != ""
		switch {
		case !hasUser && !hasRole:
			p.add(line, 0, "row names no user and no role: fill user_id or user_email, and role_id or role_name")
			continue
		case !hasRole:
			p.add(line, 0, "no role: fill role_id or role_name")
			continue
		case !hasUser:
			p.add(line, 0, "no user: fill user_id or user_email")
			continue
		}
		if p.total == 0 { // once anything is wrong, rows are never returned
			rows.add(Row{
				Line:           line,
				UserID:         values[userIDField],
				UserEmail:      values[userEmailField],
				RoleID:         values[roleIDField],
				RoleName:       values[roleNameField],
				OrganizationID: values[organizationIDField],
				Reason:         values[reasonField],
			})
		}
	}
}

// keep reports whether a record passes every filter; columns holds each
// filter's column index.
func keep(record []string, filters []Filter, columns []int) bool {
	for i, f := range filters {
		if !f.match(record[columns[i]]) {
			return false
		}
	}
	return true
}

// mapHeader finds the columns of a mapped export: each field's mapped
// column, or its own name when it is not mapped and the file has it, and
// each filter's column. Other columns are ignored.
func mapHeader(cr *CSVReader, m mapping, p *problems) (index [fieldCount]int, where []int, ok bool) {
	before := p.total
	line, _ := cr.HeaderPos(0)
	used := map[string]bool{}
	for _, column := range m.columns {
		if column != "" {
			used[NormaliseColumn(column, true)] = true
		}
	}
	find := func(column, purpose string) int {
		i := cr.Index(column)
		if i < 0 {
			p.add(line, 0, "no column %s (%s); the file's columns are %s", quote(column), purpose, quoteAll(cr.Columns()))
			return -1
		}
		if j := slices.Index(cr.Header()[i+1:], cr.Header()[i]); j >= 0 {
			_, first := cr.HeaderPos(i)
			dupLine, dupCol := cr.HeaderPos(i + 1 + j)
			p.add(dupLine, dupCol, "duplicate column %s (first at column %d): which one %s reads is unclear", quote(cr.Columns()[i]), first, purpose)
		}
		return i
	}
	for kind, column := range m.columns {
		switch {
		case column != "":
			index[kind] = find(column, "mapped to "+columnNames[kind])
		case !used[columnNames[kind]] && cr.Index(columnNames[kind]) >= 0:
			index[kind] = find(columnNames[kind], "read as "+columnNames[kind])
		default:
			index[kind] = -1
		}
	}
	for _, f := range m.where {
		where = append(where, find(f.Column, "filtered by "+f.String()))
	}
	if p.total == before {
		if index[userIDField] < 0 && index[userEmailField] < 0 {
			p.add(line, 0, "no column gives user_id or user_email: map one of them to a column of the file")
		}
		if index[roleIDField] < 0 && index[roleNameField] < 0 {
			p.add(line, 0, "no column gives role_id or role_name: map one of them to a column of the file")
		}
	}
	return index, where, p.total == before
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quote(n)
	}
	return strings.Join(quoted, ", ")
}

// addProblem records an error from NewCSVReader: a Problem is kept, a
// failing reader returned.
func addProblem(err error, p *problems) error {
	var pr Problem
	if errors.As(err, &pr) {
		p.add(pr.Line, pr.Column, "%s", pr.Message)
		return nil
	}
	return err
}

// readHeader maps each field kind to its column index (-1 when absent) and
// reports what is wrong with the header.
func readHeader(cr *CSVReader, opts Options, p *problems) (index [fieldCount]int, ok bool) {
	before := p.total
	for kind := range index {
		index[kind] = -1
	}
	headerLine, _ := cr.HeaderPos(0)
	for i, name := range cr.Columns() {
		kind := -1
		for k, known := range columnNames {
			if cr.Header()[i] == known {
				kind = k
			}
		}
		line, col := cr.HeaderPos(i)
		switch {
		case kind < 0 && didYouMean(name, columnNames[:]) != "":
			// Even among extra columns: ignoring "Role ID" would silently
			// fall back to role_name, or to nothing.
			p.add(line, col, "unknown column %s%s", quote(name), didYouMean(name, columnNames[:]))
		case kind < 0 && !opts.AllowExtraColumns:
			p.add(line, col, "unknown column %s; known columns are %s (--allow-extra-columns ignores others)", quote(name), knownColumns)
		case kind < 0:
		case index[kind] >= 0:
			_, firstCol := cr.HeaderPos(index[kind])
			p.add(line, col, "duplicate column %s (first at column %d)", quote(name), firstCol)
		default:
			index[kind] = i
		}
	}
	if index[userIDField] < 0 && index[userEmailField] < 0 {
		p.add(headerLine, 0, "the header has neither a user_id nor a user_email column")
	}
	if index[roleIDField] < 0 && index[roleNameField] < 0 {
		p.add(headerLine, 0, "the header has neither a role_id nor a role_name column")
	}
	return index, p.total == before
}

// didYouMean suggests the known name that a spreadsheet-style name such as
// "User ID" stands for, or returns "".
func didYouMean(name string, known []string) string {
	normal := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return unicode.ToLower(r)
	}, strings.TrimSpace(name))
	for _, k := range known {
		if normal == k {
			return " (did you mean " + k + "?)"
		}
	}
	return ""
}

// csvError turns a reading error into a problem, or into a FileError when
// the reader itself failed. Limits stop reading; quoting errors do not,
// since encoding/csv resumes at the next line.
func csvError(err error, p *problems) error {
	var (
		readErr  *readError
		limitErr *limitError
		parseErr *csv.ParseError
	)
	switch {
	case errors.As(err, &readErr):
		return &FileError{Path: p.file, Err: readErr.err}
	case errors.As(err, &limitErr):
		p.add(limitErr.line, 0, "%s", limitErr.message)
		p.stopped = true
	case errors.As(err, &parseErr):
		line, col, msg := parseErrorText(parseErr)
		p.add(line, col, "%s", msg)
	default:
		return &FileError{Path: p.file, Err: err}
	}
	return nil
}

// checkFieldSizes bounds fields, which quoted line breaks let grow past the
// line limit.
func checkFieldSizes(cr *CSVReader, record []string, p *problems) bool {
	ok := true
	for i, f := range record {
		if len(f) > maxLineBytes {
			line, col := cr.FieldPos(i)
			p.add(line, col, "field is longer than 64 KiB")
			ok = false
		}
	}
	return ok
}

// isBlank reports a record with nothing but spaces, like the ",,,,," rows
// that spreadsheets leave at the end of an export.
func isBlank(record []string) bool {
	for _, f := range record {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
