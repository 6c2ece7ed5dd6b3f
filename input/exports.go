package input

import (
	"fmt"
	"slices"
	"strings"
)

// Field is a value a removal row holds, named as its rolesweep column.
type Field string

const (
	FieldUserID         Field = "user_id"
	FieldUserEmail      Field = "user_email"
	FieldRoleID         Field = "role_id"
	FieldRoleName       Field = "role_name"
	FieldOrganizationID Field = "organization_id"
	FieldReason         Field = "reason"
)

// Fields lists every field in column order.
func Fields() []Field {
	fields := make([]Field, fieldCount)
	for kind, name := range columnNames {
		fields[kind] = Field(name)
	}
	return fields
}

func (f Field) kind() int {
	return slices.Index(columnNames[:], string(f))
}

// Filter keeps a row only when its Column equals one of Values, compared
// trimmed and case-insensitively.
type Filter struct {
	Column string
	Values []string
}

func (f Filter) String() string { return f.Column + "=" + strings.Join(f.Values, ",") }

func (f Filter) match(v string) bool {
	v = strings.TrimSpace(v)
	for _, want := range f.Values {
		if strings.EqualFold(v, strings.TrimSpace(want)) {
			return true
		}
	}
	return false
}

// Preset is a named Map and Where for a review tool's export.
type Preset struct {
	Name  string
	Tool  string // the export it reads
	Doc   string // where the tool documents these columns
	Map   map[Field]string
	Where []Filter
	Note  string // what to know before using it, or ""
}

var presets = []Preset{
	{
		Name: "entra-review",
		Tool: "Microsoft Entra ID access review history (CSV download)",
		Doc:  "https://learn.microsoft.com/entra/id-governance/access-reviews-downloadable-review-history",
		Map: map[Field]string{
			FieldUserEmail: "PrincipalUPN",
			FieldRoleName:  "ResourceDisplayName",
			FieldReason:    "Justification",
		},
		Where: []Filter{{Column: "ReviewResult", Values: []string{"Deny"}}},
	},
	{
		Name: "vanta-access",
		Tool: "Vanta access file (the access review's account list)",
		Doc:  "https://help.vanta.com/hc/en-us/articles/9870219958804-Access-File-Uploader",
		Map: map[Field]string{
			FieldUserEmail: "Account owner",
			FieldRoleName:  "Role",
		},
		Where: []Filter{{Column: "Access Appropriate", Values: []string{"No"}}},
		Note: `a Role cell listing several roles ("role 1, role 2") is read as one role name, which then resolves to nothing; ` +
			`an Account owner of "External user", "No owner" or "Not a person" is no email address and fails validation`,
	},
}

// Presets lists the known presets, for help text. The maps and slices are
// copies: changing them changes no preset.
func Presets() []Preset {
	out := make([]Preset, len(presets))
	for i, p := range presets {
		out[i] = clonePreset(p)
	}
	return out
}

// LookupPreset returns the preset called name (case-insensitive).
func LookupPreset(name string) (Preset, error) {
	for _, p := range presets {
		if strings.EqualFold(strings.TrimSpace(name), p.Name) {
			return clonePreset(p), nil
		}
	}
	return Preset{}, &UnknownPresetError{Name: name}
}

func clonePreset(p Preset) Preset {
	m := make(map[Field]string, len(p.Map))
	for k, v := range p.Map {
		m[k] = v
	}
	p.Map = m
	p.Where = slices.Clone(p.Where)
	for i := range p.Where {
		p.Where[i].Values = slices.Clone(p.Where[i].Values)
	}
	return p
}

func presetNames() string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// ParseMap reads "FIELD=COLUMN".
func ParseMap(spec string) (Field, string, error) {
	name, column, ok := strings.Cut(spec, "=")
	name, column = strings.TrimSpace(name), strings.TrimSpace(column)
	if !ok || name == "" || column == "" {
		return "", "", &SpecError{Kind: "map", Spec: spec, Reason: "expected FIELD=COLUMN, e.g. user_email=PrincipalUPN"}
	}
	field := Field(strings.ToLower(name))
	if field.kind() < 0 {
		return "", "", &UnknownFieldError{Field: name}
	}
	return field, column, nil
}

// ParseWhere reads "COLUMN=VALUE[,VALUE…]". Values are split at commas
// and trimmed; an empty value is refused (it would match blank cells
// silently).
func ParseWhere(spec string) (Filter, error) {
	column, list, ok := strings.Cut(spec, "=")
	column = strings.TrimSpace(column)
	if !ok || column == "" {
		return Filter{}, &SpecError{Kind: "where", Spec: spec, Reason: "expected COLUMN=VALUE[,VALUE...], e.g. ReviewResult=Deny"}
	}
	var values []string
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v == "" {
			return Filter{}, &SpecError{Kind: "where", Spec: spec, Reason: "empty value: list the values a row must hold, separated by commas"}
		}
		values = append(values, v)
	}
	return Filter{Column: column, Values: values}, nil
}

// SpecError is a malformed map or where specification.
type SpecError struct {
	Kind   string // "map" or "where"
	Spec   string
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Kind, e.Spec, e.Reason)
}

// UnknownFieldError is a map onto a field rolesweep does not have.
type UnknownFieldError struct{ Field string }

func (e *UnknownFieldError) Error() string {
	return fmt.Sprintf("unknown field %q: map one of %s", e.Field, knownColumns)
}

// UnknownPresetError names a preset that does not exist.
type UnknownPresetError struct{ Name string }

func (e *UnknownPresetError) Error() string {
	return fmt.Sprintf("unknown preset %q: known presets are %s", e.Name, presetNames())
}

// NotCSVError is a column mapping asked of a format without columns.
type NotCSVError struct {
	Option string // "map", "where" or "preset"
	Format Format
}

func (e *NotCSVError) Error() string {
	return fmt.Sprintf("%s applies to CSV input only; this input is %s", e.Option, e.Format)
}

// mapping is the resolved Map, Where and Preset of Options.
type mapping struct {
	active  bool               // any of Map, Where, Preset given
	columns [fieldCount]string // the column each field is read from; "" for its own name
	where   []Filter
}

// resolveMapping merges a preset with the explicit options, which win: a
// mapped field replaces the preset's, a filter on the same column replaces
// the preset's filter on it.
func resolveMapping(opts Options, format Format) (mapping, error) {
	var m mapping
	if opts.Preset == "" && len(opts.Map) == 0 && len(opts.Where) == 0 {
		return m, nil
	}
	if format != CSV {
		option := "preset"
		switch {
		case len(opts.Map) > 0:
			option = "map"
		case len(opts.Where) > 0:
			option = "where"
		}
		return m, &NotCSVError{Option: option, Format: format}
	}
	m.active = true
	if opts.Preset != "" {
		p, err := LookupPreset(opts.Preset)
		if err != nil {
			return m, err
		}
		for field, column := range p.Map {
			m.columns[field.kind()] = column
		}
		m.where = p.Where
	}
	for field, column := range opts.Map {
		kind := Field(strings.ToLower(string(field))).kind()
		if kind < 0 {
			return m, &UnknownFieldError{Field: string(field)}
		}
		if strings.TrimSpace(column) == "" {
			return m, &SpecError{Kind: "map", Spec: string(field) + "=", Reason: "empty column name"}
		}
		m.columns[kind] = strings.TrimSpace(column)
	}
	for _, f := range opts.Where {
		if strings.TrimSpace(f.Column) == "" || len(f.Values) == 0 {
			return m, &SpecError{Kind: "where", Spec: f.String(), Reason: "expected COLUMN=VALUE[,VALUE...]"}
		}
		m.where = slices.DeleteFunc(m.where, func(old Filter) bool {
			return NormaliseColumn(old.Column, true) == NormaliseColumn(f.Column, true)
		})
		m.where = append(m.where, f)
	}
	return m, nil
}
