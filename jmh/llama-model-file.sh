#!/usr/bin/env bash
# Prints the path of a benchmark model by name, writing the file first where absent; shared by
# bench-vs-llamacpp.sh, bench-batch-vs-llamacpp.sh and llama-engines.sh (the rss and cold scripts).
#   NAME:Q4_K_M, NAME:Q5_K_M  llama.cpp's own mixed files (the form users download: Q4_K or Q5_K matrices with Q6_K
#                             for the head and for attn_v and ffn_down in some layers), written from NAME's F32 GGUF
#                             by the anchor's quantize mode (llama_model_quantize)
#   any other name            LlamaFixtures (ours: the F32 GGUF, or our GgufConvert's file of one type)
# Usage: jmh/llama-model-file.sh ANCHOR BENCHMARKS_JAR NAME
set -euo pipefail
if [ $# -ne 3 ]; then echo "usage: $0 ANCHOR BENCHMARKS_JAR NAME" >&2; exit 2; fi
anchor="$1" jar="$2" name="$3"
cd "$(dirname "$0")/.."
fixture() {
    ./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$jar" \
        dev.panthera.bench.llama.LlamaFixtures "$1" | tail -n 1
}
case "$name" in
*:Q4_K_M | *:Q5_K_M)
    f32=$(fixture "${name%%:*}")
    type=$(tr 'A-Z' 'a-z' <<< "${name##*:}")
    mixed="$(dirname "$f32")/${name%%:*}-$type.gguf"
    if [ ! -f "$mixed" ]; then
        "$anchor" quantize "$f32" --out "$mixed.tmp" --type "$type" -t "$(nproc)" > /dev/null
        mv "$mixed.tmp" "$mixed"
    fi
    echo "$mixed"
    ;;
*) fixture "$name" ;;
esac
