package input

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// checkResult asserts what must hold for any input: success means every row
// is valid and positioned; failure means a *ValidationError with positioned
// problems. A FileError cannot come from an in-memory reader.
func checkResult(t *testing.T, data []byte, lines int, src *Source, err error) {
	t.Helper()
	if err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("error %T: %v", err, err)
		}
		if len(ve.Problems) == 0 || ve.Total < len(ve.Problems) || len(ve.Problems) > DefaultMaxProblems {
			t.Fatalf("%d problems kept of %d", len(ve.Problems), ve.Total)
		}
		for _, p := range ve.Problems {
			if p.Line < 0 || p.Line > lines || p.Column < 0 || p.Message == "" || p.File == "" {
				t.Fatalf("bad problem %+v (input has %d lines)", p, lines)
			}
		}
		return
	}
	if sum := sha256.Sum256(data); src.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("SHA256 %s, want %x", src.SHA256, sum)
	}
	for _, r := range src.Rows {
		if r.Line < 1 || r.Line > lines {
			t.Fatalf("row %+v outside the input's %d lines", r, lines)
		}
		if r.UserID == "" && r.UserEmail == "" || r.RoleID == "" && r.RoleName == "" {
			t.Fatalf("row %+v names no user or no role", r)
		}
		for kind, v := range [fieldCount]string{r.UserID, r.UserEmail, r.RoleID, r.RoleName, r.OrganizationID, r.Reason} {
			if v == "" {
				continue
			}
			if strings.TrimSpace(v) != v {
				t.Fatalf("row %+v: %s %q is not trimmed", r, columnNames[kind], v)
			}
			if msg := checkValue(kind, columnNames[kind], v); msg != "" {
				t.Fatalf("row %+v passed, but %s", r, msg)
			}
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{"../testdata/removals.csv", "../testdata/campaign/entra-review.csv"} {
		if data, err := os.ReadFile(seed); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("Mail,Entitlement,Decision\nx@example.com,Billing Admin,Revoke\n"))
	mapped := []Options{
		{AllowExtraColumns: false},
		{AllowExtraColumns: true},
		{Preset: "entra-review"},
		{Map: map[Field]string{FieldUserEmail: "Mail", FieldRoleName: "Entitlement"}, Where: []Filter{{Column: "Decision", Values: []string{"Revoke", "Remove"}}}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range mapped {
			src, err := Read(bytes.NewReader(data), "f.csv", opts)
			checkResult(t, data, bytes.Count(data, []byte("\n"))+1, src, err)
			if err == nil && len(src.Rows)+src.Excluded != src.Records {
				t.Fatalf("%d rows and %d excluded from %d records", len(src.Rows), src.Excluded, src.Records)
			}
			if err == nil && len(opts.Where) == 0 && opts.Preset == "" && src.Excluded != 0 {
				t.Fatalf("%d excluded without a filter", src.Excluded)
			}
		}
	})
}

func FuzzReadKeep(f *testing.F) {
	for _, seed := range []string{"user_id,role_name\nauth0|x,Billing Admin\n", "user_email\n\"a@example.com\"\n,\n"} {
		f.Add([]byte(seed), false)
	}
	if data, err := os.ReadFile("../testdata/campaign/keep.yaml"); err == nil {
		f.Add(data, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, isYAML bool) {
		format := CSV
		if isYAML {
			format = YAML
		}
		list, err := ReadKeep(bytes.NewReader(data), "k", format)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		for _, e := range list.Entries {
			if e.Line < 1 || e.UserID == "" && e.UserEmail == "" {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzReadYAML(f *testing.F) {
	if data, err := os.ReadFile("../testdata/removals.yaml"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := Read(bytes.NewReader(data), "f.yaml", Options{})
		checkResult(t, data, yamlLines(data), src, err)
		if err == nil && len(src.Rows) < src.Records {
			t.Fatalf("%d rows from %d entries", len(src.Rows), src.Records)
		}
	})
}
