package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden compares got with testdata/golden/NAME.golden, or rewrites it
// under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking the change):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	fixtures := map[string]func() *Report{
		"small-plan":   smallPlan,
		"apply-report": applyReport,
		"large-plan":   largePlan,
	}
	formats := map[string]string{"json": "json", "csv": "csv", "md": "md", "text": "txt"}
	for fixture, build := range fixtures {
		for format, ext := range formats {
			t.Run(fixture+"."+ext, func(t *testing.T) {
				r := build()
				var buf bytes.Buffer
				if err := Write(&buf, format, r); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, fixture+"."+ext, buf.Bytes())
			})
		}
	}
}
