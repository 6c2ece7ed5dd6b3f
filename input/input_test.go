package input

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.err from the current messages")

func TestFormatFromPath(t *testing.T) {
	for path, want := range map[string]Format{
		"removals.csv": CSV, "dir.d/REMOVALS.CSV": CSV, "r.yaml": YAML, "r.yml": YAML, "r.YmL": YAML,
	} {
		if got, err := FormatFromPath(path); got != want || err != nil {
			t.Errorf("FormatFromPath(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"removals.txt", "removals", "csv", "removals.csv.gz", "-"} {
		_, err := FormatFromPath(path)
		if want := path + ": unknown input format: the file name must end in .csv, .yaml or .yml"; err == nil || err.Error() != want {
			t.Errorf("FormatFromPath(%q) error %v, want %q", path, err, want)
		}
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	csvData := "user_id,role_id\n" + testUser + "," + testRole + "\n"

	t.Run("csv by extension", func(t *testing.T) {
		path := write("r.CSV", csvData)
		src, err := ReadFile(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(csvData))
		if src.Path != path || src.Format != CSV || src.SHA256 != hex.EncodeToString(sum[:]) || src.Records != 1 || len(src.Rows) != 1 {
			t.Fatalf("source %+v", src)
		}
	})
	t.Run("yml by extension", func(t *testing.T) {
		src, err := ReadFile(write("r.yml", "removals: []\n"), Options{})
		if err != nil || src.Format != YAML {
			t.Fatalf("%+v, %v", src, err)
		}
	})
	t.Run("format option overrides the extension", func(t *testing.T) {
		src, err := ReadFile(write("export.txt", csvData), Options{Format: CSV})
		if err != nil || src.Format != CSV || len(src.Rows) != 1 {
			t.Fatalf("%+v, %v", src, err)
		}
	})
	t.Run("unknown extension", func(t *testing.T) {
		path := write("export.txt", csvData)
		_, err := ReadFile(path, Options{})
		var fe *FileError
		if err == nil || errors.As(err, &fe) || err.Error() != path+": unknown input format: the file name must end in .csv, .yaml or .yml" {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("unknown format option", func(t *testing.T) {
		_, err := ReadFile(write("r.csv", csvData), Options{Format: "xml"})
		if err == nil || err.Error() != `unknown input format "xml": expected csv or yaml` {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(dir, "missing.csv")
		_, err := ReadFile(path, Options{})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != path || !errors.Is(err, fs.ErrNotExist) ||
			err.Error() != "cannot read "+path+": no such file or directory" {
			t.Fatalf("error %T %v", err, err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		path := filepath.Join(dir, "d.csv")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(path, Options{})
		var fe *FileError
		if !errors.As(err, &fe) || err.Error() != "cannot read "+path+": is a directory" {
			t.Fatalf("error %T %v", err, err)
		}
	})
	t.Run("invalid content", func(t *testing.T) {
		_, err := ReadFile(write("bad.csv", "user_id,role_id\n"+testUser+",rol_1\n"), Options{})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Problems[0].File != filepath.Join(dir, "bad.csv") || ve.Problems[0].Line != 2 {
			t.Fatalf("error %T %v", err, err)
		}
	})
}

func TestReadFileStdin(t *testing.T) {
	stdin := os.Stdin
	t.Cleanup(func() { os.Stdin = stdin })
	useStdin := func(data string) {
		path := filepath.Join(t.TempDir(), "stdin")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		os.Stdin = f
	}

	useStdin("removals: []\n")
	_, err := ReadFile("-", Options{})
	if err == nil || err.Error() != "reading standard input needs its format: --input-format csv or yaml" {
		t.Fatalf("without a format: %v", err)
	}

	useStdin("user_id,role_id\n" + testUser + "," + testRole + "\n")
	src, err := ReadFile("-", Options{Format: CSV})
	if err != nil || src.Path != "-" || src.Format != CSV || len(src.Rows) != 1 {
		t.Fatalf("%+v, %v", src, err)
	}

	useStdin("removals:\n  - user_id: x\n    roles: [" + testRole + "]\n")
	_, err = ReadFile("-", Options{Format: YAML})
	want := `<stdin>:2:14: user_id "x" is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

type failingReader struct{ data io.Reader }

func (r failingReader) Read(b []byte) (int, error) {
	n, err := r.data.Read(b)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestReadFailure(t *testing.T) {
	for _, path := range []string{"r.csv", "r.yaml"} {
		_, err := Read(failingReader{strings.NewReader("user_id,role_id\n")}, path, Options{})
		var fe *FileError
		if !errors.As(err, &fe) || err.Error() != "cannot read "+path+": connection reset" {
			t.Errorf("%s: error %T %v", path, err, err)
		}
	}
}

func TestSHA256IsOfTheExactBytes(t *testing.T) {
	for path, data := range map[string]string{
		"r.csv":  "\ufeffuser_id,role_id\r\n\r\n" + testUser + "," + testRole + "\r\n,\r\n",
		"r.yaml": "\ufeff# c\nremovals: []\n\n",
	} {
		src, errs := readString(t, path, data, Options{})
		if errs != nil {
			t.Fatal(errs)
		}
		if sum := sha256.Sum256([]byte(data)); src.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: SHA256 %s, want %x", path, src.SHA256, sum)
		}
	}
}

func TestMaxProblems(t *testing.T) {
	data := "user_id,role_id\n" + strings.Repeat(testUser+",rol_1\n", 150)
	_, err := Read(strings.NewReader(data), "r.csv", Options{})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != DefaultMaxProblems || ve.Total != 150 {
		t.Fatalf("error %T with %d problems", err, len(ve.Problems))
	}
	if last := ve.Problems[DefaultMaxProblems-1]; last.Line != DefaultMaxProblems+1 {
		t.Errorf("last problem kept is on line %d, want the first %d", last.Line, DefaultMaxProblems)
	}
	if msg := err.Error(); !strings.HasSuffix(msg, "\nr.csv:101:32: role_id \"rol_1\" is not a role id (expected rol_ followed by 16 letters or digits)\n... and 50 more problems") {
		t.Errorf("message ends %q", msg[len(msg)-200:])
	}

	_, err = Read(strings.NewReader(data), "r.csv", Options{MaxProblems: 3})
	want := `r.csv:2:32: role_id "rol_1" is not a role id (expected rol_ followed by 16 letters or digits)
r.csv:3:32: role_id "rol_1" is not a role id (expected rol_ followed by 16 letters or digits)
r.csv:4:32: role_id "rol_1" is not a role id (expected rol_ followed by 16 letters or digits)
... and 147 more problems`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestInputSizeLimit(t *testing.T) {
	const limit = 1 << 20
	pad := func(data string) string { return data + strings.Repeat("\n", limit-len(data)) }
	csvData := pad("user_id,role_id\n" + strings.Repeat(testUser+","+testRole+"\n", limit/60))
	yamlData := pad("removals:\n" + strings.Repeat("  - {user_id: \""+testUser+"\", roles: ["+testRole+"]}\n", limit/80))
	for path, data := range map[string]string{"r.csv": csvData, "r.yaml": yamlData} {
		if _, err := read(strings.NewReader(data), path, Options{}, limit); err != nil {
			t.Errorf("%s at the limit: %v", path, err)
		}
		_, err := read(strings.NewReader(data+"\n"), path, Options{}, limit)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Total != 1 || ve.Problems[0].Error() != path+": input is larger than 1 MiB" {
			t.Errorf("%s over the limit: %v", path, err)
		}
	}
}

func TestLongLine(t *testing.T) {
	huge := strings.Repeat("a", 10<<20)
	cases := []struct{ data, want string }{
		{huge + "\n", "r.csv:1: line is longer than 64 KiB"},
		{"user_id,role_id\n" + testUser + "," + testRole + "\n" + huge, "r.csv:3: line is longer than 64 KiB"},
		{"user_id,role_id\r\n" + testUser + ",\"" + huge + "\"\r\n", "r.csv:2: line is longer than 64 KiB"},
		{"user_id,role_id\n" + strings.Repeat("a", maxLineBytes) + "\n", "r.csv:2: row has 1 fields, the header has 2"},
	}
	for _, tc := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, errs := readString(t, "r.csv", tc.data, Options{})
		runtime.ReadMemStats(&after)
		if len(errs) != 1 || errs[0] != tc.want {
			t.Errorf("problems %q, want %q", errs, tc.want)
		}
		// The parser must stop near the limit instead of buffering the line.
		if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 4<<20 {
			t.Errorf("reading allocated %d bytes", allocated)
		}
	}
}

func TestLongQuotedField(t *testing.T) {
	// Short lines, one long field: the line limit does not see it.
	field := strings.Repeat("abcdefghi\n", 7000)
	data := "user_id,role_id,reason\n" + testUser + "," + testRole + ",\"" + field + "\"\n" + testUser + ",rol_2,\n"
	_, errs := readString(t, "r.csv", data, Options{AllowExtraColumns: true})
	want := []string{
		"r.csv:2:53: field is longer than 64 KiB",
		`r.csv:7003:32: role_id "rol_2" is not a role id (expected rol_ followed by 16 letters or digits)`,
	}
	if strings.Join(errs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems %q, want %q", errs, want)
	}
}

type triple struct{ org, user, role, reason string }

func triples(t *testing.T, path string) map[triple]int {
	t.Helper()
	src, err := ReadFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := map[triple]int{}
	for _, r := range src.Rows {
		user, role := r.UserID, r.RoleID
		if user == "" {
			user = r.UserEmail
		}
		if role == "" {
			role = r.RoleName
		}
		set[triple{r.OrganizationID, user, role, r.Reason}]++
	}
	return set
}

// TestExamples checks the bundled examples that the demo, the sandbox and
// other packages' tests use.
func TestExamples(t *testing.T) {
	fromCSV := triples(t, "../testdata/removals.csv")
	fromYAML := triples(t, "../testdata/removals.yaml")
	if fmt.Sprint(fromCSV) != fmt.Sprint(fromYAML) {
		t.Fatalf("removals.csv and removals.yaml differ:\n%v\n%v", fromCSV, fromYAML)
	}
	duplicates := 0
	for _, n := range fromCSV {
		duplicates += n - 1
	}
	if len(fromCSV) != 24 || duplicates != 1 {
		t.Errorf("%d distinct triples with %d duplicates, want 24 and 1", len(fromCSV), duplicates)
	}

	src, err := ReadFile("../testdata/removals.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Records != 25 || len(src.Rows) != 25 {
		t.Errorf("removals.csv: %d records, %d rows", src.Records, len(src.Rows))
	}
	catalogue, err := ReadFile("../testdata/roles.csv", Options{AllowExtraColumns: true, Format: CSV})
	if err == nil {
		t.Fatalf("roles.csv parsed as removals: %+v", catalogue)
	}
	names := readCatalogue(t, "../testdata/roles.csv")
	for _, r := range src.Rows {
		if name, ok := names[r.RoleID]; r.RoleID != "" && (!ok || r.RoleName != "" && r.RoleName != name) {
			t.Errorf("line %d: role %s %q is not in roles.csv", r.Line, r.RoleID, r.RoleName)
		}
	}
}

func readCatalogue(t *testing.T, path string) map[string]string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		id, name, _ := strings.Cut(line, ",")
		if checkValue(roleIDField, "role_id", id) != "" || checkValue(roleNameField, "role_name", name) != "" {
			t.Errorf("%s: bad role %q", path, line)
		}
		names[id] = name
	}
	if len(names) < 6 {
		t.Errorf("%s: %d roles", path, len(names))
	}
	return names
}

// TestInvalidExamples compares the messages for testdata/invalid/* with the
// .err file beside each; go test ./input -run InvalidExamples -update
// rewrites them.
func TestInvalidExamples(t *testing.T) {
	paths, err := filepath.Glob("../testdata/invalid/*")
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, path := range paths {
		if filepath.Ext(path) != ".err" {
			inputs = append(inputs, path)
		}
	}
	sort.Strings(inputs)
	if len(inputs) < 6 {
		t.Fatalf("only %d invalid examples", len(inputs))
	}
	for _, path := range inputs {
		name := strings.TrimPrefix(path, "../")
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = Read(f, name, Options{})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T %v, want a *ValidationError", err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, filepath.Ext(path)) + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("messages:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}
