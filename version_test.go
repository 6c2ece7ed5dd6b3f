package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResolveVersion(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name                  string
		stamped, commit, date string
		bi                    *debug.BuildInfo
		want                  buildVersion
	}{
		{"make build stamps everything", "v1.2.3", "abc", "2026-11-30", vcs,
			buildVersion{Version: "v1.2.3", Commit: "abc", Date: "2026-11-30", Dirty: true, Go: "go1.26.8"}},
		{"a checkout build is a dev build with its commit", "", "", "", vcs,
			buildVersion{Version: devVersion, Commit: "0123456789abcdef0123", Date: "2026-12-01T10:00:00Z", Dirty: true, Go: "go1.26.8"}},
		{"go install @version", "", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			buildVersion{Version: "v1.4.0", Go: "go1.26.8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, resolveVersion(tc.stamped, tc.commit, tc.date, tc.bi, true))
		})
	}
	assert.Contains(t, resolveVersion("", "", "", nil, false).String(), "rolesweep "+devVersion+"\ncommit: unknown")
	assert.Contains(t, resolveVersion("v1", "0123456789abcdef", "", nil, false).String(), "commit: 0123456789ab\n")
}
