GO      ?= go
BIN     ?= bin/rolesweep
VERSION ?= v0.1.0
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test vet race fuzz bench demo clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

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

# Benchmarks: end-to-end runs against the in-process sandbox, and parsing.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=1x ./...

demo: build
	./scripts/demo.sh $(BIN)

clean:
	rm -rf bin demo-out
