package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// commit and buildDate are stamped by `make build` (-ldflags -X); a plain
// `go build` or `go install` leaves them empty and they come from the Go
// build info instead.
var (
	commit    string
	buildDate string
)

// devVersion is what a build that nobody stamped calls itself, so that a
// developer's binary never passes for a release.
const devVersion = "v0.0.0-dev"

// buildVersion is what `rolesweep version`, reports and the User-Agent say.
type buildVersion struct {
	Version string
	Commit  string
	Date    string
	Dirty   bool
	Go      string
}

// resolveVersion prefers what the build stamped, then what the Go build info
// knows: the module version for `go install …@v1.2.3`, and the VCS revision
// and time for a build from a checkout.
func resolveVersion(stamped, stampedCommit, stampedDate string, bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: stamped, Commit: stampedCommit, Date: stampedDate, Go: runtime.Version()}
	if ok && bi != nil {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				v.Dirty = s.Value == "true"
			}
		}
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
	}
	if v.Version == "" {
		v.Version = devVersion
	}
	return v
}

func currentVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	return resolveVersion(version, commit, buildDate, bi, ok)
}

// String is the multi-line answer of `rolesweep version`.
func (v buildVersion) String() string {
	c := v.Commit
	if c == "" {
		c = "unknown"
	} else if len(c) > 12 {
		c = c[:12]
	}
	if v.Dirty {
		c += " (modified)"
	}
	d := v.Date
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("rolesweep %s\ncommit: %s\nbuilt:  %s\ngo:     %s\n", v.Version, c, d, v.Go)
}
