package input

// encoding/csv is used directly rather than gocsv: gocsv takes its settings
// from package-level variables and hides its csv.Reader, so it can give
// neither per-call options nor the line and column of each field.

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode"
)

// columnNames are the known CSV columns, indexed by field kind.
var columnNames = [fieldCount]string{"user_id", "user_email", "role_id", "role_name", "organization_id", "reason"}

var knownColumns = strings.Join(columnNames[:], ", ")

const utf8BOM = "\xef\xbb\xbf"

func readCSV(in *guardReader, opts Options, src *Source, p *problems) error {
	in.maxLine = maxLineBytes
	br := bufio.NewReader(in)
	head, _ := br.Peek(len(utf8BOM))
	switch {
	case string(head) == utf8BOM:
		br.Discard(len(utf8BOM))
	case len(head) >= 2 && (head[0] == 0xff && head[1] == 0xfe || head[0] == 0xfe && head[1] == 0xff):
		p.add(0, 0, "file is UTF-16 encoded; save it as UTF-8 (in Excel: CSV UTF-8)")
		return nil
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		if in.n == 0 {
			p.add(0, 0, "empty file, expected a header row")
		} else {
			p.add(0, 0, "no header row: the file holds only blank lines")
		}
		return nil
	}
	if err != nil {
		return csvError(err, p)
	}
	index, ok := readHeader(cr, header, opts, p)
	if !ok {
		return nil // rows read under a header that is wrong would only add noise
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
		rows     = rowChunks{each: opts.Each}
		parseErr *csv.ParseError
	)
	for {
		record, err := cr.Read()
		if err == io.EOF {
			src.Rows = rows.all()
			return nil
		}
		if err != nil && !(errors.As(err, &parseErr) && parseErr.Err == csv.ErrFieldCount) {
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
		if err != nil {
			p.add(parseErr.StartLine, 0, "row has %d fields, the header has %d", len(record), len(header))
			continue
		}
		line, _ := cr.FieldPos(0)
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
			if msg := checkValue(kind, columnNames[kind], v); msg != "" {
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

// readHeader maps each field kind to its column index (-1 when absent) and
// reports what is wrong with the header.
func readHeader(cr *csv.Reader, header []string, opts Options, p *problems) (index [fieldCount]int, ok bool) {
	before := p.total
	for kind := range index {
		index[kind] = -1
	}
	headerLine, _ := cr.FieldPos(0)
	for i, raw := range header {
		name := strings.TrimSpace(raw)
		kind := -1
		for k, known := range columnNames {
			if strings.EqualFold(name, known) {
				kind = k
			}
		}
		line, col := cr.FieldPos(i)
		switch {
		case kind < 0 && didYouMean(name, columnNames[:]) != "":
			// Even among extra columns: ignoring "Role ID" would silently
			// fall back to role_name, or to nothing.
			p.add(line, col, "unknown column %s%s", quote(name), didYouMean(name, columnNames[:]))
		case kind < 0 && !opts.AllowExtraColumns:
			p.add(line, col, "unknown column %s; known columns are %s (--allow-extra-columns ignores others)", quote(name), knownColumns)
		case kind < 0:
		case index[kind] >= 0:
			_, firstCol := cr.FieldPos(index[kind])
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
	case errors.As(err, &parseErr) && parseErr.Err == csv.ErrBareQuote:
		p.add(parseErr.Line, parseErr.Column, `quote in an unquoted field: quote the whole field and double the quotes inside it ("a ""b"" c")`)
	case errors.As(err, &parseErr) && parseErr.StartLine != parseErr.Line:
		p.add(parseErr.Line, parseErr.Column, "extraneous or missing quote in a quoted field (the record starts on line %d)", parseErr.StartLine)
	case errors.As(err, &parseErr):
		p.add(parseErr.Line, parseErr.Column, "extraneous or missing quote in a quoted field")
	default:
		return &FileError{Path: p.file, Err: err}
	}
	return nil
}

// checkFieldSizes bounds fields, which quoted line breaks let grow past the
// line limit.
func checkFieldSizes(cr *csv.Reader, record []string, p *problems) bool {
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
