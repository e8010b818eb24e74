#!/usr/bin/env bash
# deps.sh: installs what the build and tests need and is missing, with Debian's apt. Idempotent and fast
# when everything is there (make calls it on every build).
set -euo pipefail
log() { printf 'deps: %s\n' "$*" >&2; }

# Debian packages: libtorch (the neural networks), OpenBLAS built for OpenMP (libtorch's default
# reference BLAS is ~20x slower), a C++ compiler for cgo, SQLite headers.
pkgs=(libtorch-dev libopenblas0-openmp g++ make pkg-config libsqlite3-dev ca-certificates git)
# Headless Chromium for the chat widget's browser tests (web/widget_test.go).
pkgs+=(chromium)
pkgs+=(${SHOPCHAT_EXTRA_PKGS:-})
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	sudo=""
	[[ $(id -u) == 0 ]] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

need=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$(dirname "$0")/../go.mod")
if ! command -v go >/dev/null; then
	log "Go is not installed: install Go $need or newer (https://go.dev/dl), or any Go >= 1.21 (it fetches the toolchain go.mod asks for), and put it on PATH"
	exit 1
fi
# Go >= 1.21 switches to the toolchain go.mod asks for by itself (GOTOOLCHAIN=auto), through the module proxy.
gov=$(GOTOOLCHAIN=local go env GOVERSION | sed 's/^go//')
if [[ $(printf '%s\n1.21\n' "$gov" | sort -V | head -n1) != 1.21 ]]; then
	log "Go $gov is too old: install Go $need or newer (https://go.dev/dl)"
	exit 1
fi
