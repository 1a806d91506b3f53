#!/usr/bin/env bash
# Batched decode, ours beside a native llama.cpp (jmh/native/llama-anchor, as in bench-vs-llamacpp.sh) on the same
# GGUF files, in one invocation. BATCH prompts of PROMPT − r·PROMPT/(2·BATCH) tokens (r = 0 … BATCH−1, BOS then
# random ids) decoded together, NEW − 1 steps of BATCH tokens timed, the prompts' prefill not:
#   ours       BatchDecodeBench (BatchGenerator, left-padded rows with a key-padding mask, greedy; the rate is the
#              time of a NEW-token generation less that of a one-token generation, over RUN_SECONDS seconds of rounds,
#              the mean of the second half), its decode_tok_s;
#   llama.cpp  llama-anchor batch (a sequence id per prompt, random ids fed, logits for every row, no sampling),
#              REPS repetitions after one unmeasured, its mean_tok_s.
# Both with the KV cache in CACHE. A round runs every model and thread count on both engines, one process each, the
# order alternating from round to round; the table gives each engine's mean over the rounds, the ratio ours /
# llama.cpp, and the range of the per-round ratios.
#
#   GGML_GIT=/path/to/ggml/.git jmh/bench-batch-vs-llamacpp.sh [ROUNDS] [OUT_DIR]
#     ROUNDS   default 2; OUT_DIR default target/bench-batch-vs-llamacpp/<date-time>
#     env: MODELS (default "110M:Q4_0 110M:Q4_K 110M:Q8_0 110M:F16", LlamaFixtures names, or NAME:Q4_K_M / NAME:Q5_K_M
#          for llama.cpp's own mixes, see jmh/llama-model-file.sh), THREADS ("1 2"),
#          BATCH (4), PROMPT (32), NEW (65), RUN_SECONDS (25), REPS (10), CACHE (f16; f32 also works on both sides),
#          ANCHOR_WORK, ANCHOR_CPU_FLAGS (passed to jmh/native/llama-anchor/build.sh)
# OUT_DIR gets env.txt, raw.txt (round model threads engine tok/s) and table.md, and the benchmarks.jar that ran.
set -euo pipefail
if [ $# -gt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
rounds="${1:-2}"
out=""
if [ $# -eq 2 ]; then out=$(realpath -m -- "$2"); fi
cd "$(dirname "$0")/.."
out="${out:-$PWD/target/bench-batch-vs-llamacpp/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
models="${MODELS:-110M:Q4_0 110M:Q4_K 110M:Q8_0 110M:F16}"
threads="${THREADS:-1 2}"
batch="${BATCH:-4}"
prompt="${PROMPT:-32}"
new="${NEW:-65}"
seconds="${RUN_SECONDS:-25}"
reps="${REPS:-10}"
cache="${CACHE:-f16}"

jmh/native/llama-anchor/build.sh
anchor="${ANCHOR_WORK:-jmh/target/llama-anchor}/build/llama-anchor"
./panthera mvn -q -o -pl jmh -am package -DskipTests
cp jmh/target/benchmarks.jar "$out/benchmarks.jar"
java=(./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$out/benchmarks.jar")

{
    echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit (with uncommitted changes)"; fi
    echo "commit: $commit"
    echo "llama.cpp: $(cat "${ANCHOR_WORK:-jmh/target/llama-anchor}/src/VERSION")"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "jdk: $(./panthera java -version 2>&1 | head -n1)"
    echo "rounds $rounds, batch $batch, prompt $prompt, new $new, ours ${seconds} s, llama.cpp reps $reps, threads $threads, kv cache $cache"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"
cat "$out/env.txt"

declare -A file
for m in $models; do file[$m]=$(jmh/llama-model-file.sh "$anchor" "$out/benchmarks.jar" "$m"); done

: > "$out/raw.txt"
run() { # round model threads engine
    local f="${file[$2]}" line rate
    if [ "$4" = llama.cpp ]; then
        line=$("$anchor" batch "$f" -t "$3" -b "$batch" -p "$prompt" -n "$new" -r "$reps" -ctk "$cache" | tail -n 1)
        rate=$(sed -n 's/.*mean_tok_s=\([0-9.]*\).*/\1/p' <<< "$line")
    else
        line=$("${java[@]}" dev.panthera.bench.llama.BatchDecodeBench "$f" -t "$3" -b "$batch" -p "$prompt" \
            -n "$new" -s "$seconds" -ctk "$cache" | tail -n 1)
        rate=$(sed -n 's/.*decode_tok_s=\([0-9.]*\).*/\1/p' <<< "$line")
    fi
    if [ -z "$rate" ]; then echo "no rate in: $line" >&2; exit 1; fi
    echo "$1 $2 $3 $4 $rate" | tee -a "$out/raw.txt"
}
for ((r = 1; r <= rounds; r++)); do
    for m in $models; do
        for t in $threads; do
            if ((r % 2)); then order="llama.cpp panthera"; else order="panthera llama.cpp"; fi
            for e in $order; do run "$r" "$m" "$t" "$e"; done
        done
    done
done
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

awk -v batch="$batch" '
{
    key = $2 SUBSEP $3; mean[key, $4, $1] = $5; sum[key, $4] += $5; n[key, $4]++
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    if ($1 > maxr) maxr = $1
}
END {
    print "| model | threads | batch | Panthera tok/s | llama.cpp tok/s | ratio | per-round ratios |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP)
        a = sum[key, "panthera"] / n[key, "panthera"]; b = sum[key, "llama.cpp"] / n[key, "llama.cpp"]
        lo = 1e99; hi = 0
        for (r = 1; r <= maxr; r++) if ((key, "panthera", r) in mean && (key, "llama.cpp", r) in mean) {
            x = mean[key, "panthera", r] / mean[key, "llama.cpp", r]; if (x < lo) lo = x; if (x > hi) hi = x
        }
        printf "| %s | %s | %s | %.1f | %.1f | %.2f | %.2f–%.2f |\n", p[1], p[2], batch, a, b, a / b, lo, hi
    }
}' "$out/raw.txt" > "$out/table.md"
cat "$out/env.txt"
cat "$out/table.md"
