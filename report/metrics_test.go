package report

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseTextFormat is a small parser of the Prometheus text format: it checks
// that every sample follows HELP and TYPE lines for its metric, that names
// and labels are well formed, and returns sample values by "name{labels}".
func parseTextFormat(t *testing.T, text string) (samples map[string]float64, types map[string]string) {
	t.Helper()
	samples, types = map[string]float64{}, map[string]string{}
	helped := map[string]bool{}
	validName := func(s string) bool {
		for i, c := range s {
			if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
		return s != ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, help, ok := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			require.True(t, ok && help != "", "HELP without text: %q", line)
			helped[name] = true
		case strings.HasPrefix(line, "# TYPE "):
			name, kind, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			require.Contains(t, []string{"gauge", "counter"}, kind, line)
			require.True(t, helped[name], "TYPE before HELP: %q", line)
			types[name] = kind
		default:
			series, val, ok := strings.Cut(line, " ")
			require.True(t, ok, "sample without value: %q", line)
			name := series
			if i := strings.IndexByte(series, '{'); i >= 0 {
				name = series[:i]
				labels := series[i+1:]
				require.True(t, strings.HasSuffix(labels, "}"), line)
				for _, pair := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
					k, v, ok := strings.Cut(pair, "=")
					require.True(t, ok && validName(k) && len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"', "label %q", pair)
				}
			}
			require.True(t, validName(name), "metric name %q", name)
			require.Contains(t, types, name, "sample before its TYPE: %q", line)
			f, err := strconv.ParseFloat(val, 64)
			require.NoError(t, err, line)
			_, dup := samples[series]
			require.False(t, dup, "duplicate series %q", series)
			samples[series] = f
		}
	}
	return samples, types
}

func TestMetricsParseBack(t *testing.T) {
	r := applyReport()
	r.Results[4].Status = Protected
	r.Tally()
	path := filepath.Join(t.TempDir(), "rolesweep.prom")
	require.NoError(t, WriteMetricsFile(path, r, 3))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, MetricsFilePerm, info.Mode().Perm())

	samples, types := parseTextFormat(t, string(data))
	assert.Equal(t, float64(fixedFinish.UnixMilli())/1000, samples["rolesweep_last_run_timestamp_seconds"])
	assert.Equal(t, 62.5, samples["rolesweep_last_run_duration_seconds"])
	assert.Equal(t, 3.0, samples["rolesweep_last_run_exit_code"])
	assert.Equal(t, 0.0, samples["rolesweep_last_run_success"])
	assert.Equal(t, 9.0, samples["rolesweep_requests_total"])
	assert.Equal(t, 2.0, samples["rolesweep_rate_limited_total"])
	assert.Equal(t, "counter", types["rolesweep_requests_total"])
	want := map[Status]float64{Removed: 2, Absent: 1, NotFound: 1, Failed: 1, Protected: 1, Skipped: 1}
	for _, st := range Statuses(CommandApply) {
		assert.Equal(t, want[st], samples[`rolesweep_roles{status="`+string(st)+`"}`], st)
	}

	// Undo reports export their own statuses.
	r.Command = CommandUndo
	var b strings.Builder
	require.NoError(t, WriteMetrics(&b, r, 0))
	samples, _ = parseTextFormat(t, b.String())
	assert.Contains(t, samples, `rolesweep_roles{status="restored"}`)
	assert.Equal(t, 1.0, samples["rolesweep_last_run_success"])
}
