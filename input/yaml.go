package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// yamlKeys are the keys of a removal entry, indexed by field kind; roles and
// role_names hold lists.
var yamlKeys = [fieldCount]string{"user_id", "user_email", "roles", "role_names", "organization_id", "reason"}

var knownKeys = strings.Join(yamlKeys[:], ", ")

// maxYAMLDepth is far deeper than the format needs (role items sit at depth 5)
// and shallow enough that no document can make walking it expensive.
const maxYAMLDepth = 20

const expectedYAML = `expected "removals:" followed by a list of entries`

func readYAML(in *guardReader, opts Options, src *Source, p *problems) error {
	data, err := io.ReadAll(in)
	var (
		readErr  *readError
		limitErr *limitError
	)
	switch {
	case errors.As(err, &readErr):
		return &FileError{Path: p.file, Err: readErr.err}
	case errors.As(err, &limitErr):
		p.add(0, 0, "%s", limitErr.message)
		return nil
	case err != nil:
		return &FileError{Path: p.file, Err: err}
	case len(data) == 0:
		p.add(0, 0, "empty file, %s", expectedYAML)
		return nil
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		p.add(0, 0, "file is UTF-16 encoded; save it as UTF-8")
		return nil
	}
	if line, col, msg := findBadCharacter(data); msg != "" {
		p.add(line, col, "%s", msg)
		return nil
	}

	// Decoding into nodes, not values, never expands aliases, so an alias
	// bomb costs no more than its own size before checkStructure refuses it.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.add(0, 0, "no removals in the file, %s", expectedYAML)
		} else {
			addYAMLError(err, data, p)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.add(next.Line, 0, "a second YAML document: put all removals in one document")
		return nil
	case err != io.EOF:
		addYAMLError(err, data, p)
		return nil
	}
	if line, col, msg := checkStructure(&doc, 0); msg != "" {
		p.add(line, col, "%s", msg)
		return nil
	}

	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		p.add(0, 0, "no removals in the file, %s", expectedYAML)
		return nil
	}
	removals, ok := topLevelList(root, "removals", expectedYAML, p)
	switch {
	case !ok:
		return nil
	case removals.Kind != yaml.SequenceNode:
		p.add(removals.Line, removals.Column, "removals must be a list of entries, found %s", describe(removals))
		return nil
	}
	rows := rowChunks{each: opts.Each}
	for _, entry := range removals.Content {
		src.Records++
		readEntry(entry, &rows, p)
	}
	src.Rows = rows.all()
	return nil
}

// readEntry validates one removal entry and, while the input has no
// problems, adds one row per role item.
func readEntry(entry *yaml.Node, rows *rowChunks, p *problems) {
	if entry.Kind != yaml.MappingNode {
		p.add(entry.Line, entry.Column, "a removal entry must be a mapping with user_id or user_email, and roles or role_names; found %s", describe(entry))
		return
	}
	var nodes [fieldCount]*yaml.Node
	for i := 0; i+1 < len(entry.Content); i += 2 {
		key, value := entry.Content[i], entry.Content[i+1]
		kind := -1
		for k, name := range yamlKeys {
			if isKey(key, name) {
				kind = k
			}
		}
		switch {
		case kind < 0:
			if hint := didYouMean(key.Value, yamlKeys[:]); hint != "" {
				p.add(key.Line, key.Column, "unknown key %s%s", keyText(key), hint)
			} else {
				p.add(key.Line, key.Column, "unknown key %s in a removal entry; known keys are %s", keyText(key), knownKeys)
			}
		case nodes[kind] != nil:
			p.add(key.Line, key.Column, "duplicate key %s", keyText(key))
		default:
			nodes[kind] = value
		}
	}

	// A user or role that was given but is wrong has been reported; saying
	// that the entry names none would only add noise.
	var values [fieldCount]string
	scalar := func(kind int) {
		if n := nodes[kind]; n != nil {
			values[kind] = scalarValue(n, kind, yamlKeys[kind], p)
		}
	}
	before := p.total
	scalar(userIDField)
	scalar(userEmailField)
	userGiven := values[userIDField] != "" || values[userEmailField] != "" || p.total > before
	before = p.total
	roleIDs := listValues(nodes[roleIDField], roleIDField, p)
	roleNames := listValues(nodes[roleNameField], roleNameField, p)
	roleGiven := len(roleIDs) > 0 || len(roleNames) > 0 || p.total > before
	scalar(organizationIDField)
	scalar(reasonField)

	if !userGiven {
		p.add(entry.Line, entry.Column, "entry names no user: add user_id or user_email")
	}
	if !roleGiven {
		p.add(entry.Line, entry.Column, "entry names no role: add roles or role_names")
	}
	if p.total > 0 {
		return
	}
	row := Row{
		UserID:         values[userIDField],
		UserEmail:      values[userEmailField],
		OrganizationID: values[organizationIDField],
		Reason:         values[reasonField],
	}
	for _, item := range roleIDs {
		row.Line, row.RoleID, row.RoleName = item.Line, item.Value, ""
		rows.add(row)
	}
	for _, item := range roleNames {
		row.Line, row.RoleID, row.RoleName = item.Line, "", item.Value
		rows.add(row)
	}
}

// scalarValue returns the trimmed text of a scalar field, or "" after
// reporting what is wrong with it. A null value counts as absent.
func scalarValue(n *yaml.Node, kind int, name string, p *problems) string {
	if n.Kind != yaml.ScalarNode {
		p.add(n.Line, n.Column, "%s must be a single value, found %s", name, describe(n))
		return ""
	}
	switch n.ShortTag() {
	case "!!null":
		return ""
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		// Plain text that YAML would read as a number or a date is still
		// text here: `reason: 2026` means "2026".
	default:
		p.add(n.Line, n.Column, "%s has the unsupported tag %s", name, n.Tag)
		return ""
	}
	v := strings.TrimSpace(n.Value)
	if v == "" {
		return ""
	}
	if msg := checkValue(kind, name, v); msg != "" {
		p.add(n.Line, n.Column, "%s", msg)
		return ""
	}
	return v
}

// roleItem is one valid item of a roles or role_names list.
type roleItem struct {
	Line  int
	Value string
}

// listValues returns the valid items of a roles or role_names list,
// reporting the others. A missing or null list is empty.
func listValues(n *yaml.Node, kind int, p *problems) []roleItem {
	name := yamlKeys[kind]
	switch {
	case n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return nil
	case n.Kind != yaml.SequenceNode:
		p.add(n.Line, n.Column, "%s must be a list (%s: [a, b]), found %s", name, name, describe(n))
		return nil
	}
	items := make([]roleItem, 0, len(n.Content))
	for _, item := range n.Content {
		if item.Kind == yaml.ScalarNode && (item.ShortTag() == "!!null" || strings.TrimSpace(item.Value) == "") {
			p.add(item.Line, item.Column, "empty item in %s", name)
			continue
		}
		if v := scalarValue(item, kind, name+" item", p); v != "" {
			items = append(items, roleItem{Line: item.Line, Value: v})
		}
	}
	return items
}

// checkStructure refuses anchors, aliases and deep nesting anywhere in the
// document before any of it is interpreted.
func checkStructure(n *yaml.Node, depth int) (line, column int, msg string) {
	switch {
	case n.Kind == yaml.AliasNode || n.Anchor != "":
		return n.Line, n.Column, "aliases are not allowed (nor anchors): write every value out"
	case depth > maxYAMLDepth:
		return n.Line, n.Column, "nesting is deeper than " + strconv.Itoa(maxYAMLDepth) + " levels"
	}
	for _, child := range n.Content {
		if line, column, msg := checkStructure(child, depth+1); msg != "" {
			return line, column, msg
		}
	}
	return 0, 0, ""
}

// findBadCharacter finds the first byte sequence that is no text at all,
// which the YAML parser would report without its line.
func findBadCharacter(data []byte) (line, column int, msg string) {
	line, column = 1, 1
	for i := 0; i < len(data); {
		if n := yamlBreak(data, i); n > 0 {
			line, column = line+1, 1
			i += n
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line, column, "invalid UTF-8: this is not a text file"
		case unicode.IsControl(r) && r != '\t':
			return line, column, fmt.Sprintf("control character %U: this is not a text file", r)
		}
		i += size
		column++
	}
	return 0, 0, ""
}

// yamlBreak returns the length of the line break at data[i], or 0. YAML
// breaks lines at CR LF, CR, LF, NEL, LS and PS alike, and counts them so.
func yamlBreak(data []byte, i int) int {
	rest := data[i:]
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		return 2
	case rest[0] == '\r' || rest[0] == '\n':
		return 1
	case bytes.HasPrefix(rest, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(rest, []byte("\u2028")) || bytes.HasPrefix(rest, []byte("\u2029")):
		return 3
	}
	return 0
}

// yamlLines counts the lines of data as YAML does; a final line break
// starts no new line.
func yamlLines(data []byte) int {
	lines := 1
	for i := 0; i < len(data); {
		n := yamlBreak(data, i)
		if n == 0 {
			i++
			continue
		}
		if i += n; i < len(data) {
			lines++
		}
	}
	return lines
}

// addYAMLError turns a syntax error into a problem, keeping its line.
func addYAMLError(err error, data []byte, p *problems) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				if yamlParserProblems[text] {
					line++
				}
				// Errors at the end of the input can point past its last line.
				line = min(line, yamlLines(data))
				p.add(line, 0, "invalid YAML: %s", text)
				return
			}
		}
	}
	p.add(0, 0, "invalid YAML: %s", msg)
}

// yamlParserProblems are the messages of the YAML parser, as opposed to its
// scanner. The library reports their lines counting from 0, the scanner's
// from 1; its errors carry no type to tell them apart.
var yamlParserProblems = map[string]bool{
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
}

func isKey(n *yaml.Node, name string) bool {
	return n.Kind == yaml.ScalarNode && n.Value == name
}

func keyText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return quote(n.Value)
	}
	return "(" + describe(n) + ")"
}

func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!null":
		return "nothing"
	}
	return quote(n.Value)
}

// topLevelList finds the one top-level key of a YAML file (removals:,
// keep:) and reports every other key, a duplicate, or its absence. ok is
// false when a problem was reported; the list itself is not checked.
func topLevelList(root *yaml.Node, name, expected string, p *problems) (list *yaml.Node, ok bool) {
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, root.Column, "%s, found %s", expected, describe(root))
		return nil, false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		switch {
		case !isKey(key, name):
			p.add(key.Line, key.Column, "unknown key %s at the top level; only %q is allowed%s", keyText(key), name, didYouMean(key.Value, []string{name}))
		case list != nil:
			p.add(key.Line, key.Column, "duplicate key %q", name)
		default:
			list = value
		}
	}
	if p.total > 0 {
		return nil, false
	}
	if list == nil {
		p.add(root.Line, root.Column, "missing %q: %s", name, expected)
		return nil, false
	}
	return list, true
}
