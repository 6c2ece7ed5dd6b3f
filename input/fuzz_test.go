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
	if data, err := os.ReadFile("../testdata/removals.csv"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, extra := range []bool{false, true} {
			src, err := Read(bytes.NewReader(data), "f.csv", Options{AllowExtraColumns: extra})
			checkResult(t, data, bytes.Count(data, []byte("\n"))+1, src, err)
			if err == nil && len(src.Rows) != src.Records {
				t.Fatalf("%d rows from %d records", len(src.Rows), src.Records)
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
