package input

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/gocarina/gocsv"
	yaml "go.yaml.in/yaml/v3"
)

// KeepEntry is one assignment that a sweep leaves in place. With no role,
// the user keeps every swept role. Emails are kept as given: resolving them
// is the tenant's business.
type KeepEntry struct {
	Line      int
	UserID    string // wins over UserEmail when both are set
	UserEmail string
	RoleID    string // wins over RoleName when both are set
	RoleName  string
}

// AllRoles reports an entry that keeps the user in every swept role.
func (e KeepEntry) AllRoles() bool { return e.RoleID == "" && e.RoleName == "" }

// KeepList is a parsed and validated keep file.
type KeepList struct {
	Path    string // as given; "-" for standard input
	Format  Format
	SHA256  string // hex digest of the exact bytes read
	Entries []KeepEntry
}

// keepColumns are the CSV columns of a keep list; the notes are read and
// ignored, since a keep list is a reviewed document that says why.
var keepColumns = []string{"user_id", "user_email", "role_id", "role_name", "reason", "note", "comment"}

// keepRecord is one CSV row of a keep list, decoded by gocsv.
type keepRecord struct {
	UserID    string `csv:"user_id"`
	UserEmail string `csv:"user_email"`
	RoleID    string `csv:"role_id"`
	RoleName  string `csv:"role_name"`
}

// ReadKeepFile reads the keep list at path; format may be empty to take it
// from the extension.
func ReadKeepFile(path string, format Format) (*KeepList, error) {
	if format == "" {
		var err error
		if format, err = FormatFromPath(path); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: pathCause(err)}
	}
	defer f.Close()
	return ReadKeep(f, path, format)
}

// ReadKeep reads a keep list: CSV with user_id or user_email and optionally
// role_id or role_name, or YAML with a "keep:" list of entries shaped like
// removals (roles and role_names optional). Problems come together as a
// *ValidationError with FILE:LINE positions.
func ReadKeep(r io.Reader, path string, format Format) (*KeepList, error) {
	switch format {
	case CSV, YAML:
	case "":
		var err error
		if format, err = FormatFromPath(path); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("unknown keep list format " + quote(string(format)) + ": expected csv or yaml")
	}
	display := path
	if path == "-" {
		display = "<stdin>"
	}
	p := &problems{file: display, max: DefaultMaxProblems}
	in := &guardReader{r: r, hash: sha256.New(), limit: MaxInputBytes, line: 1}
	list := &KeepList{Path: path, Format: format}
	var err error
	if format == CSV {
		in.maxLine = maxLineBytes
		list.Entries, err = readKeepCSV(in, p)
	} else {
		list.Entries, err = readKeepYAML(in, p)
	}
	if err != nil {
		return nil, err
	}
	if p.total > 0 {
		return nil, &ValidationError{Problems: p.kept, Total: p.total}
	}
	list.SHA256 = hex.EncodeToString(in.hash.Sum(nil))
	return list, nil
}

func readKeepCSV(in *guardReader, p *problems) ([]KeepEntry, error) {
	cr, err := NewCSVReader(in, p.file)
	if err != nil {
		return nil, addProblem(err, p)
	}
	seen := map[string]int{}
	for i, name := range cr.Header() {
		line, col := cr.HeaderPos(i)
		known := false
		for _, k := range keepColumns {
			known = known || name == k
		}
		switch {
		case !known:
			p.add(line, col, "unknown column %s%s; a keep list has %s", quote(cr.Columns()[i]), didYouMean(name, keepColumns), strings.Join(keepColumns, ", "))
		case seen[name] > 0:
			p.add(line, col, "duplicate column %s (first at column %d)", quote(cr.Columns()[i]), seen[name])
		default:
			seen[name] = col
		}
	}
	if line, _ := cr.HeaderPos(0); seen["user_id"] == 0 && seen["user_email"] == 0 && p.total == 0 {
		p.add(line, 0, "the header has neither a user_id nor a user_email column")
	}
	if p.total > 0 {
		return nil, nil
	}
	var records []keepRecord
	if err := gocsv.UnmarshalCSV(cr, &records); err != nil {
		return nil, addProblem(err, p)
	}
	lines := cr.Lines()
	entries := make([]KeepEntry, 0, len(records))
	for i, rec := range records {
		e := KeepEntry{
			Line:      lines[i],
			UserID:    strings.TrimSpace(rec.UserID),
			UserEmail: strings.TrimSpace(rec.UserEmail),
			RoleID:    strings.TrimSpace(rec.RoleID),
			RoleName:  strings.TrimSpace(rec.RoleName),
		}
		if e.UserID == "" && e.UserEmail == "" && e.AllRoles() {
			continue // a spreadsheet's ",,," row
		}
		if checkKeepEntry(e, p, e.Line, 0) {
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// checkKeepEntry reports what is wrong with an entry at line:column.
func checkKeepEntry(e KeepEntry, p *problems, line, column int) bool {
	before := p.total
	for kind, v := range [...]string{userIDField: e.UserID, userEmailField: e.UserEmail, roleIDField: e.RoleID, roleNameField: e.RoleName} {
		if v == "" {
			continue
		}
		if msg := checkValue(kind, columnNames[kind], v); msg != "" {
			p.add(line, column, "%s", msg)
		}
	}
	if e.UserID == "" && e.UserEmail == "" {
		p.add(line, column, "no user: fill user_id or user_email")
	}
	return p.total == before
}

const expectedKeepYAML = `expected "keep:" followed by a list of entries`

func readKeepYAML(in *guardReader, p *problems) ([]KeepEntry, error) {
	data, err := io.ReadAll(in)
	var (
		readErr  *readError
		limitErr *limitError
	)
	switch {
	case errors.As(err, &readErr):
		return nil, &FileError{Path: p.file, Err: readErr.err}
	case errors.As(err, &limitErr):
		p.add(0, 0, "%s", limitErr.message)
		return nil, nil
	case err != nil:
		return nil, &FileError{Path: p.file, Err: err}
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		p.add(0, 0, "file is UTF-16 encoded; save it as UTF-8")
		return nil, nil
	}
	if line, col, msg := findBadCharacter(data); msg != "" {
		p.add(line, col, "%s", msg)
		return nil, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.add(0, 0, "empty keep list, %s", expectedKeepYAML)
		} else {
			addYAMLError(err, data, p)
		}
		return nil, nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.add(next.Line, 0, "a second YAML document: put the whole keep list in one document")
		return nil, nil
	case err != io.EOF:
		addYAMLError(err, data, p)
		return nil, nil
	}
	if line, col, msg := checkStructure(&doc, 0); msg != "" {
		p.add(line, col, "%s", msg)
		return nil, nil
	}
	root := doc.Content[0]
	list, ok := topLevelList(root, "keep", expectedKeepYAML, p)
	switch {
	case !ok:
		return nil, nil
	case list.Kind == yaml.ScalarNode && list.ShortTag() == "!!null":
		return nil, nil // "keep:" with nothing under it keeps nobody
	case list.Kind != yaml.SequenceNode:
		p.add(list.Line, list.Column, "keep must be a list of entries, found %s", describe(list))
		return nil, nil
	}
	var entries []KeepEntry
	for _, entry := range list.Content {
		entries = append(entries, readKeepEntry(entry, p)...)
	}
	return entries, nil
}

// keepKeys are the keys of a YAML keep entry, indexed by field kind.
var keepKeys = map[string]int{"user_id": userIDField, "user_email": userEmailField, "roles": roleIDField, "role_names": roleNameField, "reason": reasonField}

func readKeepEntry(entry *yaml.Node, p *problems) []KeepEntry {
	if entry.Kind != yaml.MappingNode {
		p.add(entry.Line, entry.Column, "a keep entry must be a mapping with user_id or user_email, and optionally roles or role_names; found %s", describe(entry))
		return nil
	}
	var nodes [fieldCount]*yaml.Node
	for i := 0; i+1 < len(entry.Content); i += 2 {
		key, value := entry.Content[i], entry.Content[i+1]
		kind, known := -1, false
		if key.Kind == yaml.ScalarNode {
			kind, known = keepKeys[key.Value]
		}
		switch {
		case !known:
			p.add(key.Line, key.Column, "unknown key %s in a keep entry; known keys are user_id, user_email, roles, role_names, reason", keyText(key))
		case nodes[kind] != nil:
			p.add(key.Line, key.Column, "duplicate key %s", keyText(key))
		default:
			nodes[kind] = value
		}
	}
	before := p.total
	var e KeepEntry
	if n := nodes[userIDField]; n != nil {
		e.UserID = scalarValue(n, userIDField, "user_id", p)
	}
	if n := nodes[userEmailField]; n != nil {
		e.UserEmail = scalarValue(n, userEmailField, "user_email", p)
	}
	if n := nodes[reasonField]; n != nil {
		scalarValue(n, reasonField, "reason", p)
	}
	roleIDs := listValues(nodes[roleIDField], roleIDField, p)
	roleNames := listValues(nodes[roleNameField], roleNameField, p)
	if e.UserID == "" && e.UserEmail == "" && p.total == before {
		p.add(entry.Line, entry.Column, "entry names no user: add user_id or user_email")
	}
	if p.total > before {
		return nil
	}
	e.Line = entry.Line
	if len(roleIDs) == 0 && len(roleNames) == 0 {
		return []KeepEntry{e}
	}
	var out []KeepEntry
	for _, item := range roleIDs {
		e.Line, e.RoleID, e.RoleName = item.Line, item.Value, ""
		out = append(out, e)
	}
	for _, item := range roleNames {
		e.Line, e.RoleID, e.RoleName = item.Line, "", item.Value
		out = append(out, e)
	}
	return out
}
