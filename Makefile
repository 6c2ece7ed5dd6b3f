GO      ?= go
BIN     ?= bin/rolesweep
# The version, commit and date come from git, so a dev build never passes for
# a release (a checkout without tags says v0.0.0-dev-<commit>).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^\([0-9a-f]\{7,\}\)/v0.0.0-dev-\1/')
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)

.PHONY: build test vet race fuzz bench demo man clean

# A static binary (no cgo): it runs in a scratch or distroless image.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# The man page is generated from the command-line definition (a hidden
# `rolesweep man` command), so it cannot drift from --help.
man:
	$(GO) run . man > docs/rolesweep.1

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }

# The README's test command: vet, gofmt, and every test under the race detector.
test: vet
	$(GO) test -race -count=1 ./...

# A short run of every fuzz target (seed corpora live in */testdata/fuzz/).
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzReadCSV$$' -fuzztime=$(FUZZTIME) ./input/
	$(GO) test -run='^$$' -fuzz='^FuzzReadYAML$$' -fuzztime=$(FUZZTIME) ./input/
	$(GO) test -run='^$$' -fuzz='^FuzzReadJSON$$' -fuzztime=$(FUZZTIME) ./report/
	$(GO) test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) ./journal/
	$(GO) test -run='^$$' -fuzz='^FuzzLoadProtection$$' -fuzztime=$(FUZZTIME) ./reconcile/
	$(GO) test -run='^$$' -fuzz='^FuzzLoadSeed$$' -fuzztime=$(FUZZTIME) ./sandbox/

# Benchmarks (not run in CI; docs/BENCHMARKS.md has the results and the machine):
# pacing against sandbox tenants in real time, through the real client and
# pacer with the CLI's defaults (about 5 minutes; the same rows run in
# simulated time in make test), then parsing and planning 100,000 and
# 1,000,000 rows, then the per-call costs.
bench:
	$(GO) test -run='^$$' -bench='^BenchmarkPacing$$' -benchtime=1x -timeout=15m ./pacer/
	$(GO) test -run='^$$' -bench='^BenchmarkPlan' -benchmem -benchtime=3x .
	$(GO) test -run='^$$' -bench='^Benchmark(CheckedApplyReads|SweepPacing)$$' -benchtime=1x -timeout=30m ./reconcile/ ./job/
	$(GO) test -run='^$$' -bench='^Benchmark(ReadCSV|Build|PacerOverhead|Record|Write|DeleteUserRoles)' -benchmem \
		./input/ ./reconcile/ ./pacer/ ./journal/ ./report/ ./sandbox/

demo: build
	./scripts/demo.sh $(BIN)

clean:
	rm -rf bin demo-out
