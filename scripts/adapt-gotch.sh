#!/usr/bin/env bash
# adapt-gotch.sh OUTDIR
#
# Makes a copy of the gotch module (github.com/sugarme/gotch, version $GOTCH_VERSION) in OUTDIR that
# builds against the libtorch installed on this machine:
#   1. copies the module from the Go module cache (downloading it if needed);
#   2. rewrites libtch/lib.go with cgo flags for that libtorch: the system's (Debian's libtorch-dev) or
#      the one under $LIBTORCH (a libtorch zip from pytorch.org, CPU or CUDA);
#   3. gives the multi-output wrappers' C output arrays the room their outputs need (gotch allocates
#      0 bytes and the C side writes 8 per output: heap corruption from 4 outputs on);
#   4. finds, by compiling, every generated C wrapper (atg_*) that does not compile against that
#      libtorch and replaces its body with one that records the error
#      "atg_<op>: not available in libtorch <version> ..." through gotch's last-error mechanism, so the
#      Go call returns an error (and Must* panics) instead of failing the build or crashing.
# There is no list of names: the same run adapts gotch to any libtorch version. The result is stamped
# with the libtorch version, the gotch version and this script's hash; a second run with nothing changed
# returns at once. The list of stubbed wrappers is cached per stamp in $SHOPCHAT_CACHE (default
# ~/.cache/shopchat) so a fresh clone on the same machine skips the compile passes.
set -euo pipefail

out=${1:?usage: adapt-gotch.sh OUTDIR}
GOTCH_VERSION=${GOTCH_VERSION:-v0.9.1}
cache=${SHOPCHAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shopchat}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf 'adapt-gotch: %s\n' "$*" >&2; }

# ---- find libtorch ------------------------------------------------------------------------------
if [[ -n ${LIBTORCH:-} ]]; then
	inc=("$LIBTORCH/include" "$LIBTORCH/include/torch/csrc/api/include")
	libdir="$LIBTORCH/lib"
	[[ -f $LIBTORCH/include/torch/csrc/api/include/torch/torch.h ]] || { log "LIBTORCH=$LIBTORCH has no include/torch/csrc/api/include/torch/torch.h"; exit 1; }
else
	inc=("/usr/include/torch/csrc/api/include")
	libdir=$(dirname "$(ls /usr/lib/*/libtorch_cpu.so /usr/lib/libtorch_cpu.so 2>/dev/null | head -n1)" 2>/dev/null || true)
	if [[ ! -f /usr/include/torch/csrc/api/include/torch/torch.h || -z $libdir || $libdir == . ]]; then
		log "no system libtorch found: install Debian's libtorch-dev (make deps does) or set LIBTORCH=/path/to/libtorch"
		exit 1
	fi
fi
torch_version=""
if [[ -n ${LIBTORCH:-} && -f $LIBTORCH/build-version ]]; then
	torch_version=$(head -n1 "$LIBTORCH/build-version")
elif [[ -z ${LIBTORCH:-} ]] && command -v dpkg-query >/dev/null; then
	torch_version=$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null | sed 's/[+~].*//' || true)
fi
if [[ -z $torch_version ]]; then # version.h: TORCH_VERSION_MAJOR/MINOR/PATCH
	vh=${inc[-1]}/torch/version.h
	torch_version=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."} END {print v}' "$vh" 2>/dev/null || true)
fi
torch_version=${torch_version:-unknown}
cuda=no
[[ -e $libdir/libtorch_cuda.so ]] && cuda=yes

stamp=$(printf '%s\n' "$GOTCH_VERSION" "$torch_version" "${inc[*]}" "$libdir" "$cuda" "$(sha256sum <"$here/adapt-gotch.sh")" | sha256sum | cut -c1-16)
if [[ -f $out/.shopchat-stamp && $(cat "$out/.shopchat-stamp") == "$stamp" ]]; then
	exit 0
fi
log "adapting gotch $GOTCH_VERSION to libtorch $torch_version ($libdir, cuda=$cuda) into $out"

# ---- copy the module ------------------------------------------------------------------------------
tmpmod=$(mktemp -d)
trap 'rm -rf "$tmpmod"' EXIT
src=$(cd "$tmpmod" && GOFLAGS=-mod=mod go mod download -json "github.com/sugarme/gotch@$GOTCH_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d $src ]] || { log "go mod download github.com/sugarme/gotch@$GOTCH_VERSION failed"; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$(dirname "$out")"
cp -r "$src" "$out.tmp"
chmod -R u+w "$out.tmp"
rm -rf "$out.tmp/example" "$out.tmp/gen"

# ---- multi-output wrappers -------------------------------------------------------------------------
# A generated wrapper with several tensor outputs allocates their C array with malloc(0) and the C side
# writes 8 bytes per output past it: 4 or more outputs (EmbeddingBag, ...) overwrite the next heap chunk
# ("double free or corruption", ../shared/GOTCH.md 4.2). Give every such array room for 8 outputs (the
# most any wrapper has is 7). Single-output wrappers (ptr := ... malloc(0)) write 8 bytes, which fit.
sed -i 's/^\([[:space:]]*ctensorPtr0 := (\*lib\.Ctensor)(unsafe\.Pointer(C\.malloc(\)0)))$/\1C.size_t(64))))/' "$out.tmp/ts/tensor-generated.go"
sed -i 's/^\([[:space:]]*ctensorPtr1 := (\*lib\.Ctensor)(unsafe\.Pointer(C\.malloc(\)0)))$/\1C.size_t(64))))/' "$out.tmp/ts/patch.go"
if grep -q 'ctensorPtr[01] := (\*lib\.Ctensor)(unsafe\.Pointer(C\.malloc(0)))' "$out.tmp/ts/tensor-generated.go" "$out.tmp/ts/patch.go"; then
	log "could not enlarge the output arrays of the multi-output wrappers"
	exit 1
fi
if grep -q 'ctensorPtr7 :=' "$out.tmp/ts/tensor-generated.go"; then
	log "a wrapper has more than 7 outputs: enlarge its output array"
	exit 1
fi

# ---- cgo flags ------------------------------------------------------------------------------------
cxxinc=""
for d in "${inc[@]}"; do cxxinc+=" -I$d"; done
ldextra=""
cudalibs=""
if [[ -n ${LIBTORCH:-} ]]; then
	ldextra=" -L$libdir -Wl,-rpath,$libdir"
fi
if [[ $cuda == yes ]]; then
	cudalibs=" -ltorch_cuda -lc10_cuda"
fi
cat >"$out.tmp/libtch/lib.go" <<GO
// Generated by scripts/adapt-gotch.sh for libtorch $torch_version ($libdir, cuda=$cuda). Do not edit.

package libtch

// #cgo CFLAGS: -I\${SRCDIR} -O2 -Wall -Wno-unused-variable -Wno-deprecated-declarations -Wno-unused-function
// #cgo CXXFLAGS: -std=c++17 -I\${SRCDIR}$cxxinc -O1 -D_GLIBCXX_USE_CXX11_ABI=1 -w
// #cgo LDFLAGS: -lstdc++$ldextra -ltorch -ltorch_cpu -lc10$cudalibs
import "C"
GO

# ---- stub the wrappers that do not compile ---------------------------------------------------------
gen="$out.tmp/libtch/torch_api_generated.cpp.h"
stubfile="$cache/gotch-$stamp.stubs"
mkdir -p "$cache"

# functions: name start end, one a line
index_functions() {
	awk '/^[a-z_0-9]+ \*?atg_[A-Za-z0-9_]+\(.*\{$/ { match($0, /atg_[A-Za-z0-9_]+/); name = substr($0, RSTART, RLENGTH); start = NR }
	     /^\}/ && name != "" { print name, start, NR; name = "" }' "$1"
}

apply_stubs() { # file stublist
	awk -v ver="$torch_version" -v gv="$GOTCH_VERSION" '
		FNR == NR { if ($1 != "") stub[$1] = 1; next }
		/^[a-z_0-9]+ \*?atg_[A-Za-z0-9_]+\(.*\{$/ {
			match($0, /atg_[A-Za-z0-9_]+/); name = substr($0, RSTART, RLENGTH)
			if (name in stub) {
				ret = $1
				print
				printf "  torch_last_err = strdup(\"%s: not available in libtorch %s (gotch %s wraps a newer libtorch)\");\n", name, ver, gv
				if (ret == "tensor") print "  return nullptr;"
				else if (ret != "void") print "  return 0;"
				skipping = 1
				next
			}
		}
		skipping && /^\}/ { skipping = 0; print; next }
		skipping { next }
		{ print }' "$2" "$1" >"$1.new"
	mv "$1.new" "$1"
}

compile_errors() { # prints names of failing functions
	local errs
	errs=$(mktemp)
	( cd "$out.tmp/libtch" && g++ -std=c++17 -fsyntax-only -w -I. $cxxinc -D_GLIBCXX_USE_CXX11_ABI=1 torch_api.cpp ) 2>"$errs" || true
	if grep -q 'torch_api\.\(cpp\|h\):[0-9]*:[0-9]*: \(fatal \)\?error' "$errs"; then
		log "torch_api.cpp itself does not compile against this libtorch:"
		grep -m 20 'error' "$errs" >&2
		rm -f "$errs"
		return 2
	fi
	grep -o 'torch_api_generated\.cpp\.h:[0-9]*:[0-9]*: \(error\|  required from here\)' "$errs" | cut -d: -f2 | sort -un >"$errs.lines" || true
	index_functions "$gen" | awk 'FNR == NR { bad[$1] = 1; next } { for (l in bad) if (l + 0 >= $2 + 0 && l + 0 <= $3 + 0) { print $1; break } }' "$errs.lines" - | sort -u
	if grep -q 'error' "$errs" && [[ ! -s $errs.lines ]]; then
		log "compiler errors outside the generated wrappers:"
		grep -m 20 'error' "$errs" >&2
		rm -f "$errs" "$errs.lines"
		return 2
	fi
	rm -f "$errs" "$errs.lines"
}

: >"$tmpmod/stubs"
if [[ -s $stubfile ]]; then
	log "using cached list of $(wc -l <"$stubfile") wrappers to stub ($stubfile)"
	cp "$stubfile" "$tmpmod/stubs"
	apply_stubs "$gen" "$tmpmod/stubs"
fi
for pass in 1 2 3 4 5 6; do
	[[ -s $stubfile ]] && break # the cached list was made by this script for this very stamp
	log "compile pass $pass (g++ -fsyntax-only, about a minute)"
	bad=$(compile_errors) || exit 1
	if [[ -z $bad ]]; then
		break
	fi
	log "pass $pass: $(wc -w <<<"$bad") wrappers do not compile; stubbing them"
	printf '%s\n' $bad >>"$tmpmod/stubs"
	apply_stubs "$gen" <(printf '%s\n' $bad)
	if [[ $pass == 6 ]]; then
		log "still failing after 6 passes"
		exit 1
	fi
done
sort -u "$tmpmod/stubs" -o "$tmpmod/stubs"
cp "$tmpmod/stubs" "$stubfile"
cp "$tmpmod/stubs" "$out.tmp/STUBBED_WRAPPERS.txt"
printf 'libtorch %s\ngotch %s\nstubbed %s\n' "$torch_version" "$GOTCH_VERSION" "$(wc -l <"$tmpmod/stubs")" >"$out.tmp/ADAPTED.txt"
echo "$stamp" >"$out.tmp/.shopchat-stamp"
rm -rf "$out"
mv "$out.tmp" "$out"
log "done: $(wc -l <"$out/STUBBED_WRAPPERS.txt") wrappers stubbed; see $out/STUBBED_WRAPPERS.txt"
