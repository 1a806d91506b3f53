#!/usr/bin/env bash
# Quantizing a model file, ours beside a native llama.cpp (jmh/native/llama-anchor, as in bench-vs-llamacpp.sh): the
# same F32 GGUF written with every matrix in one K-quant type. Each run is a process of its own, timed from its start
# to its exit by this script: ours the CLI's `convert F32.gguf OUT.gguf --type T` in a fresh JVM, llama.cpp the
# anchor's `quantize F32.gguf --out OUT.gguf --type t -t THREADS` (llama_model_quantize, what llama-quantize runs;
# q4_k and q5_k as llama-quantize --pure writes them, every matrix one type; q6_k is llama.cpp's Q6_K file type).
# Our JVM is given THREADS processors (-XX:ActiveProcessorCount), which is the thread count its quantizers use. A
# round runs every model and type on both engines, the order alternating from round to round; the table gives the
# mean wall time of each engine, their ratio (llama.cpp's time over ours: above 1, ours finished first) and the
# per-round ratios.
#
#   GGML_GIT=/path/to/ggml/.git jmh/bench-convert-vs-llamacpp.sh [ROUNDS] [OUT_DIR]
#     ROUNDS   default 3; OUT_DIR default target/bench-convert-vs-llamacpp/<date-time>
#     env: MODELS (default "110M", LlamaFixtures names of F32 models), TYPES (default "Q4_K Q5_K Q6_K"), THREADS (2),
#          JARS (more engines: "label=path/to/benchmarks.jar ...", e.g. an older build of ours beside this tree's),
#          ANCHOR_WORK, ANCHOR_CPU_FLAGS (passed to jmh/native/llama-anchor/build.sh)
# OUT_DIR gets env.txt, raw.txt (round model type engine wall-seconds) and table.md, and the benchmarks.jar that ran;
# the quantized files are written into OUT_DIR and removed after each run.
set -euo pipefail
if [ $# -gt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
rounds="${1:-3}"
out=""
if [ $# -eq 2 ]; then out=$(realpath -m -- "$2"); fi
cd "$(dirname "$0")/.."
out="${out:-$PWD/target/bench-convert-vs-llamacpp/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
models="${MODELS:-110M}"
types="${TYPES:-Q4_K Q5_K Q6_K}"
threads="${THREADS:-2}"

settings="rounds $rounds, types $types, threads $threads"
source jmh/llama-engines.sh

: > "$out/raw.txt"
run() { # round model type engine
    local f="${file[$2]}" log="$out/run.log" target="$out/converted.gguf" t0 t1
    t0=$(date +%s%N)
    if [ "$4" = llama.cpp ]; then
        "$anchor" quantize "$f" --out "$target" --type "$(tr 'A-Z' 'a-z' <<< "$3")" -t "$threads" > "$log" 2>&1 ||
            { echo "llama.cpp failed on $2 $3:" >&2; cat "$log" >&2; exit 1; }
    else
        "$java" -XX:ActiveProcessorCount="$threads" --add-modules jdk.incubator.vector \
            --enable-native-access=ALL-UNNAMED -cp "${jar[$4]}" dev.panthera.models.cli.Main convert "$f" "$target" \
            --type "$3" > "$log" 2>&1 || { echo "$4 failed on $2 $3:" >&2; cat "$log" >&2; exit 1; }
    fi
    t1=$(date +%s%N)
    rm -f "$target"
    echo "$1 $2 $3 $4 $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" | tee -a "$out/raw.txt"
}
for ((r = 1; r <= rounds; r++)); do
    for m in $models; do
        for t in $types; do
            if ((r % 2)); then order="$engines"; else order=$(tr ' ' '\n' <<< "$engines" | tac | tr '\n' ' '); fi
            for e in $order; do run "$r" "$m" "$t" "$e"; done
        done
    done
done
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

# raw line: round model type engine wall-seconds
awk '
{
    job = $2 " " $3; key = job SUBSEP $4; n[key]++; w[key] += $5; at[$1, job, $4] = $5
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    if ($1 > rounds) rounds = $1
}
END {
    print "| model | type | engine | wall s | llama.cpp / this (time) | per-round |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP); split(p[1], mt, " "); c = n[key]
        ratio = "—"; per = "—"
        if (p[2] != "llama.cpp") {
            ratio = sprintf("%.2f", w[p[1], "llama.cpp"] / w[key])
            lo = 1e9; hi = 0
            for (r = 1; r <= rounds; r++) if ((r, p[1], p[2]) in at) {
                q = at[r, p[1], "llama.cpp"] / at[r, p[1], p[2]]
                if (q < lo) lo = q
                if (q > hi) hi = q
            }
            per = sprintf("%.2f–%.2f", lo, hi)
        }
        printf "| %s | %s | %s | %.2f | %s | %s |\n", mt[1], mt[2], p[2], w[key] / c, ratio, per
    }
}' "$out/raw.txt" > "$out/table.md"
cat "$out/env.txt"
cat "$out/table.md"
