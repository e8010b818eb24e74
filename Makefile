# shopchat: `make run` starts the demo shop, `make test` runs every test. Both install what is missing.
SHELL := bash
GO ?= go
GOTCH_DIR := .build/gotch
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export CGO_ENABLED := 1
# -trimpath keeps build-cache keys independent of the checkout's directory, so gotch's C++ wrappers
# compile once per machine rather than once per clone.
export GOFLAGS := $(GOFLAGS) -trimpath -tags=sqlite_fts5
# Packages cheap enough to test under the race detector (no libtorch training in their tests).
RACE_PKGS ?= ./chat/... ./kb/... ./nlp/...

.PHONY: all deps gotch build run test vet bench fuzz clean

all: build

deps:
	@scripts/deps.sh

# Adapt gotch to the installed libtorch (idempotent; see docs/libtorch.md).
gotch: deps
	@scripts/adapt-gotch.sh $(GOTCH_DIR)

build: gotch
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/shopchat ./cmd/shopchat

run: build
	bin/shopchat serve --demo $(if $(SHOPCHAT_ADDR),--addr $(SHOPCHAT_ADDR),)

vet: gotch
	$(GO) vet ./...

test: gotch
	$(GO) vet ./...
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(GO) test -count=1 -timeout 30m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	scripts/bench-chat.sh

clean:
	rm -rf bin .build
