package job

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rolesweep/rolesweep/report"
)

func TestOutputsCheck(t *testing.T) {
	o := Outputs{Reports: []string{"-", "md:summary"}}
	require.NoError(t, o.Check())
	assert.Equal(t, []string{"json:-", "md:summary"}, o.Reports)
	assert.True(t, o.ToStdout())

	dir := t.TempDir()
	for name, tc := range map[string]struct {
		o     Outputs
		field string
	}{
		"two on stdout":   {Outputs{Reports: []string{"json:-", "md:-"}}, "reports"},
		"unknown format":  {Outputs{Reports: []string{"r.txt"}}, "reports"},
		"metrics nowhere": {Outputs{MetricsFile: filepath.Join(dir, "no", "such", "m.prom")}, "metrics_file"},
		"not a URL":       {Outputs{Notify: "ftp://hooks.example/x"}, "notify"},
	} {
		err := tc.o.Check()
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%s: %v", name, err)
		assert.Equal(t, tc.field, ce.Field, name)
	}
	assert.NotContains(t, (&Outputs{Notify: "hooks.slack.com/services/SECRET"}).Check().Error(), "SECRET")
}

func TestLogEnd(t *testing.T) {
	var buf bytes.Buffer
	r := &report.Report{Outcome: report.Completed, Summary: report.Summary{Roles: 3, Removed: 3, Requests: 4}}
	LogEnd(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), "apply",
		Summary{Report: r, Reports: []string{"r.json"}}, Outputs{MetricsFile: "m.prom"}, 0, 1500*time.Millisecond)
	var rec struct {
		Event    string         `json:"event"`
		Outcome  string         `json:"outcome"`
		ExitCode int            `json:"exit_code"`
		Duration float64        `json:"duration_seconds"`
		Summary  report.Summary `json:"summary"`
		Reports  []string       `json:"reports"`
		Metrics  string         `json:"metrics_file"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	assert.Equal(t, "end", rec.Event)
	assert.Equal(t, "completed", rec.Outcome)
	assert.Equal(t, 1.5, rec.Duration)
	assert.Equal(t, 3, rec.Summary.Removed)
	assert.Equal(t, []string{"r.json"}, rec.Reports)
	assert.Equal(t, "m.prom", rec.Metrics)
}
