#!/usr/bin/env bash
# A short greedy generation from a cold process, ours beside a native llama.cpp (jmh/native/llama-anchor, as in
# bench-vs-llamacpp.sh) on the same GGUF files: what a user waits for when a program loads a model and generates a
# few dozen tokens once, load and the JIT's warm-up included. Each run is a process of its own, timed from its start
# to its exit by this script: ours the CLI's generate (`dev.panthera.models.cli.Main generate FILE --ids
# --max-new-tokens N --temperature 0`, an empty prompt starting from BOS), llama.cpp the anchor's logits mode (`--ids
# BOS --gen N`: one decode of BOS, then N - 1 greedy steps; N ids printed, as ours prints). Both use an F32 KV cache.
# A round runs every model on both engines, the order alternating from round to round; the table gives the mean wall
# time of each engine, their ratio (llama.cpp's time over ours: above 1, ours finished first) and the per-round ratios,
# and our CLI's own steady-part figures (its "decode N tokens X tok/s" line, which counts the warm-up too).
#
#   GGML_GIT=/path/to/ggml/.git jmh/bench-cold-vs-llamacpp.sh [ROUNDS] [OUT_DIR]
#     ROUNDS   default 3; OUT_DIR default target/bench-cold-vs-llamacpp/<date-time>
#     env: MODELS (default "110M:Q4_K 1.1B:Q4_K_M", LlamaFixtures names, or NAME:Q4_K_M / NAME:Q5_K_M for llama.cpp's
#          own mixes, see jmh/llama-model-file.sh), THREADS (2), N (64 tokens), BOS (1),
#          JARS (more engines: "label=path/to/benchmarks.jar ...", e.g. an older build of ours beside this tree's),
#          ANCHOR_WORK, ANCHOR_CPU_FLAGS (passed to jmh/native/llama-anchor/build.sh)
# OUT_DIR gets env.txt, raw.txt (round model engine wall-seconds decode-tok/s) and table.md, and the benchmarks.jar
# that ran.
set -euo pipefail
if [ $# -gt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
rounds="${1:-3}"
out=""
if [ $# -eq 2 ]; then out=$(realpath -m -- "$2"); fi
cd "$(dirname "$0")/.."
out="${out:-$PWD/target/bench-cold-vs-llamacpp/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
models="${MODELS:-110M:Q4_K 1.1B:Q4_K_M}"
threads="${THREADS:-2}"
n="${N:-64}"
bos="${BOS:-1}"

settings="rounds $rounds, tokens $n, threads $threads"
source jmh/llama-engines.sh

: > "$out/raw.txt"
run() { # round model engine
    local f="${file[$2]}" log="$out/run.log" t0 t1 tok=-
    t0=$(date +%s%N)
    if [ "$3" = llama.cpp ]; then
        "$anchor" logits "$f" --ids "$bos" --gen "$n" -t "$threads" > "$log" 2>&1 ||
            { echo "llama.cpp failed on $2:" >&2; cat "$log" >&2; exit 1; }
    else
        "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "${jar[$3]}" \
            dev.panthera.models.cli.Main generate "$f" --ids --max-new-tokens "$n" --temperature 0 \
            --threads "$threads" > "$log" 2>&1 || { echo "$3 failed on $2:" >&2; cat "$log" >&2; exit 1; }
        tok=$(sed -n 's/^decode [0-9]* tokens \([0-9.]*\) tok\/s$/\1/p' "$log")
    fi
    t1=$(date +%s%N)
    echo "$1 $2 $3 $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $tok" | tee -a "$out/raw.txt"
}
for ((r = 1; r <= rounds; r++)); do
    for m in $models; do
        if ((r % 2)); then order="$engines"; else order=$(tr ' ' '\n' <<< "$engines" | tac | tr '\n' ' '); fi
        for e in $order; do run "$r" "$m" "$e"; done
    done
done
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

# raw line: round model engine wall-seconds decode-tok/s (ours; "-" for llama.cpp)
awk '
{
    key = $2 SUBSEP $3; n[key]++; w[key] += $4; t[key] += ($5 == "-" ? 0 : $5); at[$1, $2, $3] = $4
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    if (!($2 in ms)) { ms[$2] = 1; mo[++nm] = $2 }
    if ($1 > rounds) rounds = $1
}
END {
    print "| model | engine | wall s | llama.cpp / this (time) | per-round | CLI decode tok/s |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP); c = n[key]
        ratio = "—"; per = "—"; tok = "—"
        if (p[2] != "llama.cpp") {
            ratio = sprintf("%.2f", w[p[1], "llama.cpp"] / w[key])
            lo = 1e9; hi = 0
            for (r = 1; r <= rounds; r++) if ((r, p[1], p[2]) in at) {
                q = at[r, p[1], "llama.cpp"] / at[r, p[1], p[2]]
                if (q < lo) lo = q
                if (q > hi) hi = q
            }
            per = sprintf("%.2f–%.2f", lo, hi); tok = sprintf("%.1f", t[key] / c)
        }
        printf "| %s | %s | %.2f | %s | %s | %s |\n", p[1], p[2], w[key] / c, ratio, per, tok
    }
}' "$out/raw.txt" > "$out/table.md"
cat "$out/env.txt"
cat "$out/table.md"
