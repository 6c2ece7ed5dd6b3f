package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
	"github.com/rolesweep/rolesweep/sandbox"
)

func TestHelp(t *testing.T) {
	top := rolesweep(t, invocation{}, "help")
	require.Equal(t, 0, top.code, top.stderr)
	for _, cmd := range []string{"validate", "plan", "apply", "sandbox", "help", "version", "completion"} {
		assert.Contains(t, top.stdout, "\n  "+cmd+" ", "the command list names %s", cmd)
	}
	assert.NotContains(t, top.stdout, "\n  man ", "the man page command is hidden")

	apply := rolesweep(t, invocation{}, "help", "apply")
	require.Equal(t, 0, apply.code, apply.stderr)
	assert.Equal(t, apply.stdout, rolesweep(t, invocation{}, "apply", "--help").stdout, "help apply and apply --help agree")
	out := apply.stdout
	// Grouped, in the contract's order.
	last := -1
	for _, cat := range []string{"\nInput:\n", "\nTenant and credentials:\n", "\nSafety:\n", "\nPacing:\n", "\nReports and logs:\n"} {
		i := strings.Index(out, cat)
		require.Greater(t, i, last, "category %q in order in\n%s", cat, out)
		last = i
	}
	for _, want := range []string{
		"--concurrency N ", "--report [FORMAT:]FILE ", "--metrics-file FILE ", "--notify URL ", "--plan PLAN.json ",
		"(default: off)", "(default: rolesweep-report-<UTC time>.json)", "[$AUTH0_DOMAIN]", "[$AUTH0_CLIENT_SECRET]",
		"--reserve P", "(default: 20)", "first burst", "Examples:",
	} {
		assert.Contains(t, out, want)
	}
	for _, unwanted := range []string{"value", "(default: -1)", "(default: false)", "(default: 0)"} {
		assert.NotContains(t, out, unwanted)
	}
	sb := rolesweep(t, invocation{}, "sandbox", "--help").stdout
	assert.Contains(t, sb, "--token-ttl DURATION")
	assert.Contains(t, sb, "(default: 24h)")
	assert.NotContains(t, sb, "(default 24h)")
	assert.NotContains(t, sb, "0s")
}

func TestEveryFlagHasACategoryAndEveryCommandExamples(t *testing.T) {
	app := newApp(env{})
	for _, cmd := range app.Commands {
		if cmd.Hidden {
			continue
		}
		assert.Contains(t, cmd.Description, "Example", "%s has examples", cmd.Name)
		for _, f := range cmd.Flags {
			cf, ok := f.(interface{ GetCategory() string })
			require.True(t, ok)
			assert.Contains(t, flagCategories, cf.GetCategory(), "%s --%s", cmd.Name, f.Names()[0])
		}
	}
}

func TestHelpTopics(t *testing.T) {
	helpTopics["test-topic"] = func(w io.Writer) { io.WriteString(w, "topic text\n") }
	defer delete(helpTopics, "test-topic")
	got := rolesweep(t, invocation{}, "help", "test-topic")
	assert.Equal(t, result{0, "topic text\n", ""}, got)
	assert.Contains(t, rolesweep(t, invocation{}, "help").stdout, "Topics: rolesweep help presets | test-topic")

	got = rolesweep(t, invocation{}, "help", "aply")
	assert.Equal(t, 2, got.code)
	assert.Contains(t, got.stderr, "did you mean apply?")
}

func TestVersion(t *testing.T) {
	got := rolesweep(t, invocation{}, "version")
	require.Equal(t, 0, got.code)
	assert.Equal(t, currentVersion().String(), got.stdout)
	assert.True(t, strings.HasPrefix(got.stdout, "rolesweep "+currentVersion().Version+"\ncommit: "), got.stdout)
	assert.Contains(t, got.stdout, "\nbuilt: ")
	assert.Equal(t, got.stdout, rolesweep(t, invocation{}, "--version").stdout)
	// Nobody stamped the test binary: it must not pass for a release.
	assert.Equal(t, "rolesweep "+currentVersion().Version, toolName())
	assert.NotEqual(t, "v0.1.0", currentVersion().Version)
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		got := rolesweep(t, invocation{}, "completion", shell)
		require.Equal(t, 0, got.code, "%s: %s", shell, got.stderr)
		assert.Contains(t, got.stdout, "rolesweep", shell)
		if shell == "fish" {
			for _, cmd := range []string{"validate", "plan", "apply", "sandbox"} {
				assert.Contains(t, got.stdout, "-a '"+cmd+"'", "fish completes %s", cmd)
			}
			assert.Contains(t, got.stdout, "-l max-removals")
			assert.NotContains(t, got.stdout, "`")
		} else {
			assert.Contains(t, got.stdout, "--generate-bash-completion", "%s calls rolesweep back", shell)
		}
	}
	// What the bash and zsh scripts get when they call back.
	assert.Equal(t, "apply\n", rolesweep(t, invocation{}, "ap", "--generate-bash-completion").stdout)
	cmds := rolesweep(t, invocation{}, "", "--generate-bash-completion").stdout
	assert.Equal(t, "validate\nplan\napply\nundo\nsandbox\nhelp\nversion\ncompletion\n", cmds)
	assert.Equal(t, "--resume\n--report\n--reserve\n", rolesweep(t, invocation{}, "apply", "--re", "--generate-bash-completion").stdout)
	assert.Equal(t, "bash\nzsh\nfish\n", rolesweep(t, invocation{}, "completion", "", "--generate-bash-completion").stdout)

	got := rolesweep(t, invocation{}, "completion", "powershell")
	assert.Equal(t, 2, got.code)
	assert.Contains(t, got.stderr, "bash, zsh or fish")
}

func TestManPage(t *testing.T) {
	got := rolesweep(t, invocation{}, "man")
	require.Equal(t, 0, got.code, got.stderr)
	assert.True(t, strings.HasPrefix(got.stdout, ".nh\n.TH rolesweep 1"), got.stdout[:min(40, len(got.stdout))])
	assert.Contains(t, got.stdout, "max-removals")
}

func TestSuggestions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		see  string
	}{
		{[]string{"aply"}, "did you mean apply?", "see rolesweep help"},
		{[]string{"valdiate", "x.csv"}, "did you mean validate?", "see rolesweep help"},
		{[]string{"apply", "--yse", "x.csv"}, "did you mean --yes?", "see rolesweep help apply"},
		{[]string{"plan", "x.csv", "--chekc"}, "did you mean --check?", "see rolesweep help plan"},
		{[]string{"sandbox", "--bukcet", "5"}, "did you mean --bucket?", "see rolesweep help sandbox"},
	} {
		got := rolesweep(t, invocation{}, tc.args...)
		assert.Equal(t, 2, got.code, "%v", tc.args)
		assert.Empty(t, got.stdout, "%v: no help dump", tc.args)
		assert.Contains(t, got.stderr, tc.want, "%v", tc.args)
		assert.Contains(t, got.stderr, tc.see, "%v", tc.args)
		assert.LessOrEqual(t, strings.Count(got.stderr, "\n"), 4, "%v: a short error, not the help:\n%s", tc.args, got.stderr)
	}
	got := rolesweep(t, invocation{}, "frobnicate")
	assert.Equal(t, 2, got.code)
	assert.NotContains(t, got.stderr, "did you mean", "nothing close to suggest")
	got = rolesweep(t, invocation{}, "apply", "--concurrency", "many", "x.csv")
	assert.Equal(t, 2, got.code)
	assert.Contains(t, got.stderr, "see rolesweep help apply")
}

func TestQuietSuccessPrintsNothing(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	path := filepath.Join(t.TempDir(), "r.json")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(), "--report", path)
	assert.Equal(t, result{0, "", ""}, got)
	assert.Equal(t, report.Completed, readReport(t, path).Outcome)
	tn, url = startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--log-format", "json", "--domain", url, "--api-token", tn.Token(), "--report", path)
	assert.Equal(t, result{0, "", ""}, got, "quiet JSON: not even the end event")

	// A failed run still says so.
	tn, url = startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	tn.SetFailNext(1000, 503)
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--max-retries", "0", "--domain", url, "--api-token", tn.Token(), "--report", path)
	assert.Equal(t, 1, got.code)
	assert.Contains(t, got.stdout, "completed_with_failures: removed 0 · absent 0 · not_found 0 · failed 24")
	tn, url = startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	tn.SetFailNext(1000, 503)
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--log-format", "json", "--max-retries", "0", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(t.TempDir(), "r.json"))
	assert.Equal(t, 1, got.code)
	records := jsonLines(t, got.stderr)
	require.NotEmpty(t, records)
	assert.Equal(t, "completed_with_failures", records[len(records)-1]["outcome"], "a failed run's end event still prints")
}

// jsonLines parses every line of a JSON log, failing on any that is not.
func jsonLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var records []map[string]any
	for line := range strings.SplitSeq(strings.TrimSuffix(log, "\n"), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "not JSON: %q", line)
		records = append(records, rec)
	}
	return records
}

func TestJSONLogEndsWithTheRunEvent(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{Latency: 5 * time.Millisecond}, "testdata/removals.csv")
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	var stdout, stderr syncBuffer
	code := run(t.Context(), []string{"rolesweep", "apply", "testdata/removals.csv", "--yes", "--concurrency", "1", "--domain", url, "--api-token", tn.Token(),
		"--report", path, "--log-format", "json"}, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, progressEvery: 20 * time.Millisecond,
		terminal: func(any) bool { return true }}) // even on a terminal: no bar, only JSON
	require.Equal(t, 0, code, stderr.String())
	records := jsonLines(t, stderr.String())
	require.NotEmpty(t, records)
	var progress map[string]any
	for _, r := range records {
		if r["msg"] == "progress" {
			progress = r
		}
	}
	require.NotNil(t, progress, "a progress record in %s", stderr.String())
	assert.IsType(t, float64(0), progress["roles_per_second"], "a number, not a string")
	assert.IsType(t, float64(0), progress["done"])

	end := records[len(records)-1]
	assert.Equal(t, "end", end["event"])
	assert.Equal(t, "completed", end["outcome"])
	assert.Equal(t, float64(0), end["exit_code"])
	assert.IsType(t, float64(0), end["duration_seconds"])
	assert.Equal(t, []any{path}, end["reports"])
	sum, ok := end["summary"].(map[string]any)
	require.True(t, ok, "%v", end)
	assert.Equal(t, float64(24), sum["removed"])
	assert.Equal(t, float64(24), sum["roles"])
	assert.Empty(t, stdout.String(), "the run event is the summary")

	// An error is a JSON line too, followed by the run event.
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--log-format", "json", "--domain", url, "--api-token", tn.Token(), "--report", filepath.Join(dir, "x.json"))
	require.Equal(t, 2, got.code)
	records = jsonLines(t, got.stderr)
	assert.Equal(t, "ERROR", records[0]["level"])
	assert.Contains(t, records[0]["msg"], "--yes")
	assert.Equal(t, "end", records[len(records)-1]["event"])
	assert.Equal(t, float64(2), records[len(records)-1]["exit_code"])

	got = rolesweep(t, invocation{}, "apply", "--log-format", "json", "--yse")
	require.Equal(t, 2, got.code)
	records = jsonLines(t, got.stderr)
	assert.Contains(t, records[0]["msg"], "did you mean --yes?")
}

func TestReportTargets(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	dir := t.TempDir()
	summary := filepath.Join(dir, "step_summary") // $GITHUB_STEP_SUMMARY has no extension
	jsonPath := filepath.Join(dir, "r.json")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(),
		"--report", jsonPath, "--report", "md:"+summary, "--report", "csv:-")
	require.Equal(t, 0, got.code, got.stderr)
	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.Contains(t, string(md), "| ", "a Markdown table")
	assert.True(t, strings.HasPrefix(got.stdout, "user_id,") || strings.Contains(strings.SplitN(got.stdout, "\n", 2)[0], "role_id"),
		"standard output is the CSV report and nothing else: %q", got.stdout[:min(80, len(got.stdout))])
	assert.Equal(t, 25, strings.Count(got.stdout, "\n"), "a header and 24 rows")
	assert.NotContains(t, got.stdout, "completed:")
	assert.Contains(t, got.stderr, "completed: removed 24", "the summary moves to standard error")
	assert.Contains(t, got.stderr, "report: "+jsonPath)
	assert.Contains(t, got.stderr, "report: "+summary)
	assert.Equal(t, 24, readReport(t, jsonPath).Summary.Removed)

	tn, url = startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(), "--report", "-")
	require.Equal(t, 0, got.code, got.stderr)
	r, err := report.ReadJSON(strings.NewReader(got.stdout))
	require.NoError(t, err, "a bare - is the JSON report on standard output")
	assert.Equal(t, 24, r.Summary.Removed)
	assert.Empty(t, got.stderr)
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "rolesweep-report-"), "the completed run left %s behind", e.Name())
	}

	for _, bad := range []string{"xml:r.xml", "r.txt", "json:"} {
		got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(), "--report", bad)
		assert.Equal(t, 2, got.code, bad)
	}
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(), "--report", "json:-", "--report", "md:-")
	assert.Equal(t, 2, got.code)
	assert.Contains(t, got.stderr, "only one report")
}

func TestMetricsFile(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	dir := t.TempDir()
	metrics := filepath.Join(dir, "rolesweep.prom")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
		"--report", filepath.Join(dir, "r.json"), "--metrics-file", metrics)
	require.Equal(t, result{0, "", ""}, got)
	values := parseMetrics(t, metrics)
	assert.Equal(t, 0.0, values["rolesweep_last_run_exit_code"])
	assert.Equal(t, 24.0, values[`rolesweep_roles{status="removed"}`])
	assert.Equal(t, 0.0, values[`rolesweep_roles{status="failed"}`])
	assert.Greater(t, values["rolesweep_requests_total"], 0.0)
	assert.Greater(t, values["rolesweep_last_run_timestamp_seconds"], 1.7e9)
	assert.Contains(t, values, "rolesweep_last_run_duration_seconds")
	assert.Contains(t, values, "rolesweep_rate_limited_total")

	// An aborted run says so in the exit-code gauge.
	// (--no-check: the first run removed everything, so a checked run would find nothing to guard.)
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--no-check", "--max-removals", "1", "--domain", url, "--api-token", tn.Token(),
		"--report", filepath.Join(dir, "r2.json"), "--metrics-file", metrics)
	require.Equal(t, 3, got.code, got.stderr)
	assert.Equal(t, 3.0, parseMetrics(t, metrics)["rolesweep_last_run_exit_code"])

	// A metrics file that cannot be written is refused before anything is sent.
	before := tn.Stats().Total
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(),
		"--report", filepath.Join(dir, "r3.json"), "--metrics-file", filepath.Join(dir, "missing", "x.prom"))
	assert.Equal(t, 2, got.code)
	assert.Contains(t, got.stderr, "--metrics-file")
	assert.Equal(t, before, tn.Stats().Total)
}

// parseMetrics reads a Prometheus text file: every line a comment or
// "name{labels} value".
func parseMetrics(t *testing.T, path string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	values := map[string]float64{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, "metric line %q", line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, "metric line %q", line)
		values[line[:i]] = v
	}
	return values
}

func TestNotify(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	path := filepath.Join(t.TempDir(), "r.json")
	got := rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
		"--report", path, "--notify", hook.URL+"/hooks/rolesweep")
	require.Equal(t, result{0, "", ""}, got)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, bodies, 1, "one POST")
	assert.True(t, strings.HasPrefix(bodies[0], "POST /hooks/rolesweep {"), bodies[0])
	var payload struct {
		Outcome  string         `json:"outcome"`
		ExitCode int            `json:"exit_code"`
		Summary  report.Summary `json:"summary"`
		Reports  []string       `json:"reports"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(bodies[0], " ", 3)[2]), &payload))
	assert.Equal(t, "completed", payload.Outcome)
	assert.Equal(t, 24, payload.Summary.Removed)
	assert.Equal(t, []string{path}, payload.Reports)
	assert.NotContains(t, bodies[0], tn.Token(), "no secret in the notification")

	// A webhook that fails is logged and changes nothing.
	hook.Close()
	tn, url = startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--quiet", "--domain", url, "--api-token", tn.Token(),
		"--report", path, "--notify", hook.URL+"/hooks/secret-path")
	assert.Equal(t, 0, got.code)
	assert.Contains(t, got.stderr, "notification was not sent")
	assert.NotContains(t, got.stderr, "secret-path")

	got = rolesweep(t, invocation{}, "apply", "testdata/removals.csv", "--yes", "--notify", "ftp://example.invalid/x")
	assert.Equal(t, 2, got.code)
}

func TestProgressBarOnATerminal(t *testing.T) {
	tn, url := startTenant(t, sandbox.Options{}, "testdata/removals.csv")
	var stdout, stderr syncBuffer
	code := run(t.Context(), []string{"rolesweep", "apply", "testdata/removals.csv", "--yes", "--domain", url, "--api-token", tn.Token(),
		"--report", filepath.Join(t.TempDir(), "r.json")}, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		terminal: func(s any) bool { _, isReader := s.(*strings.Reader); return !isReader }})
	require.Equal(t, 0, code, stderr.String())
	lines := strings.Split(stderr.String(), "\n")
	require.Len(t, lines, 2, "one bar line, ended: %q", stderr.String())
	frames := strings.Split(lines[0], "\r\x1b[K")
	last := frames[len(frames)-1]
	assert.Contains(t, last, "24/24 roles", "the last bar counts what the summary counts")
	assert.Contains(t, last, "failed 0 · 429s 0")
	assert.Contains(t, stdout.String(), "completed: removed 24")
}

func TestInterruptedBarAgreesWithTheSummary(t *testing.T) {
	in := writeIDRemovals(t, 40)
	tn, url := startTenant(t, sandbox.Options{Latency: 20 * time.Millisecond}, in)
	path := filepath.Join(t.TempDir(), "r.json")
	signals := make(chan os.Signal, 1)
	go func() {
		for tn.Stats().RolesRemoved < 5 {
			time.Sleep(time.Millisecond)
		}
		signals <- syscall.SIGINT
	}()
	var stdout, stderr syncBuffer
	code := run(t.Context(), []string{"rolesweep", "apply", in, "--yes", "--concurrency", "4", "--domain", url, "--api-token", tn.Token(), "--report", path},
		env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, signals: signals,
			terminal: func(s any) bool { _, isReader := s.(*strings.Reader); return !isReader }})
	require.Equal(t, 3, code, stderr.String())
	r := readReport(t, path)
	require.Positive(t, r.Summary.Skipped)
	bar := ""
	for line := range strings.SplitSeq(stderr.String(), "\n") {
		if frames := strings.Split(line, "\r\x1b[K"); strings.Contains(frames[len(frames)-1], " roles · ") {
			bar = frames[len(frames)-1]
		}
	}
	done := r.Summary.Roles - r.Summary.Skipped
	assert.Contains(t, bar, fmt.Sprintf("] %d/40 roles", done), "the last bar says what the report says (%d done)", done)
	assert.Contains(t, stderr.String(), "stopping; requests in flight may finish", "the notice is printed above the bar")
}
