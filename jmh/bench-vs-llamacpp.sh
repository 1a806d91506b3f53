#!/usr/bin/env bash
# Llama decode and prefill, ours beside a native llama.cpp (jmh/native/llama-anchor: llama.cpp b10257 built here
# with -march=native and OpenMP) on the same GGUF files, in one invocation. Both sides measure the same way
# (llama-bench's method, see anchor.cpp and LlamaAnchorBench): pp128 and pp512 (one forward of that many tokens,
# BOS then random ids) and tgN (N single-token decodes after BOS, random ids fed, no sampling), REPS repetitions
# each, mean tok/s. A round runs every model and thread count on both engines, one process each, the order of the
# two engines alternating from round to round; the table averages each engine's means over the rounds and gives the
# ratio ours / llama.cpp of those averages and the range of the per-round ratios.
#
# Models (LlamaFixtures): stories260K (../shared/data) and a random-weight Llama of the stories110M shape, both F32
# GGUFs, and the 110M one converted by our GgufConvert to F16, BF16, Q8_0, Q4_0 and Q4_K. Files go to
# $TMPDIR/panthera-llama-bench. NAME:Q4_K_M and NAME:Q5_K_M are llama.cpp's own mixed files (the form users download:
# Q4_K or Q5_K matrices with Q6_K for the head and for attn_v and ffn_down in some layers), written from the F32 GGUF
# by the anchor's quantize mode (jmh/llama-model-file.sh). Both sides run each test once unmeasured, as llama-bench
# does; ours first warms the JIT up for 10 s (the smallest prompt and short decodes alternating, see LlamaAnchorBench).
#
#   GGML_GIT=/path/to/ggml/.git jmh/bench-vs-llamacpp.sh [ROUNDS] [OUT_DIR]
#     ROUNDS   default 2; OUT_DIR default target/bench-vs-llamacpp/<date-time>
#     env: MODELS (default "stories260K 110M 110M:F16 110M:BF16 110M:Q8_0 110M:Q4_0 110M:Q4_K"), THREADS ("1 2"),
#          REPS (3), TG (tokens of the decode test, 32), PP ("128,512"), DEPTH (0: tokens in the cache before each
#          test, llama-bench's --n-depth; the tests are then named tg32@d512 and so on), CACHE (the KV cache type of
#          both engines, f32 or f16, as llama-bench's -ctk; unset: each engine's default, llama.cpp's F16 and our F32)
#          ANCHOR_WORK, ANCHOR_CPU_FLAGS: passed to jmh/native/llama-anchor/build.sh (the anchor's build folder;
#          compiler flags after ggml's -march=native, e.g. "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" on a virtual
#          machine that lists AMX but traps it)
# OUT_DIR gets env.txt, raw.txt (every measured line: round model engine ...) and table.md (printed at the end), and
# the copy of benchmarks.jar that ran.
#
# Decode against the memory limit (roofline.txt, and a second table in table.md): the weight bytes a decode step
# reads from each GGUF (DecodeRoofline: every tensor but the token embedding, plus the embedding again when the head
# is tied to it) and the streaming-read bandwidth at each thread count (DecodeRoofline read: best of 20 passes over
# 256 MiB), measured before the first round and after the last; the limit is the mean of the two bandwidths over the
# bytes, and each engine's tgN rate is given as a fraction of it.
set -euo pipefail
if [ $# -gt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
rounds="${1:-2}"
out=""
if [ $# -eq 2 ]; then out=$(realpath -m -- "$2"); fi
cd "$(dirname "$0")/.."
out="${out:-$PWD/target/bench-vs-llamacpp/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
models="${MODELS:-stories260K 110M 110M:F16 110M:BF16 110M:Q8_0 110M:Q4_0 110M:Q4_K}"
threads="${THREADS:-1 2}"
reps="${REPS:-3}"
tg="${TG:-32}"
pp="${PP:-128,512}"
depth="${DEPTH:-0}"
cache="${CACHE:-}"
ctk=()
if [ -n "$cache" ]; then ctk=(-ctk "$cache"); fi

jmh/native/llama-anchor/build.sh
anchor="${ANCHOR_WORK:-jmh/target/llama-anchor}/build/llama-anchor"
./panthera mvn -q -o -pl jmh -am package -DskipTests
cp jmh/target/benchmarks.jar "$out/benchmarks.jar" # a later build of the tree does not touch a running benchmark
java=(./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$out/benchmarks.jar")

{
    echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit (with uncommitted changes)"; fi
    echo "commit: $commit"
    echo "llama.cpp: $(cat "${ANCHOR_WORK:-jmh/target/llama-anchor}/src/VERSION")"
    echo "llama.cpp CPU flags after -march=native (ANCHOR_CPU_FLAGS): ${ANCHOR_CPU_FLAGS:-none}"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "jdk: $(./panthera java -version 2>&1 | head -n1)"
    echo "rounds $rounds, reps $reps, pp $pp, tg $tg, depth $depth, threads $threads, kv cache ${cache:-default}"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"
cat "$out/env.txt"

declare -A file
for m in $models; do file[$m]=$(jmh/llama-model-file.sh "$anchor" "$out/benchmarks.jar" "$m"); done
: > "$out/roofline.txt"
for m in $models; do
    echo "bytes $m $("${java[@]}" dev.panthera.bench.llama.DecodeRoofline bytes "${file[$m]}" | tail -n 1)" >> "$out/roofline.txt"
done
for t in $threads; do
    echo "read $t $("${java[@]}" dev.panthera.bench.llama.DecodeRoofline read "$t" | tail -n 1)" >> "$out/roofline.txt"
done

: > "$out/raw.txt"
run() { # round model threads engine
    local f="${file[$2]}"
    if [ "$4" = llama.cpp ]; then
        "$anchor" bench "$f" -t "$3" -p "$pp" -n "$tg" -r "$reps" -d "$depth" "${ctk[@]}"
    else
        "${java[@]}" dev.panthera.bench.llama.LlamaAnchorBench "$f" -t "$3" -p "$pp" -n "$tg" -r "$reps" -d "$depth" \
            "${ctk[@]}"
    fi | while read -r line; do echo "$1 $2 $4 $line" | tee -a "$out/raw.txt"; done
}
for ((r = 1; r <= rounds; r++)); do
    for m in $models; do
        for t in $threads; do
            if ((r % 2)); then order="llama.cpp panthera"; else order="panthera llama.cpp"; fi
            for e in $order; do run "$r" "$m" "$t" "$e"; done
        done
    done
done
for t in $threads; do
    echo "read $t $("${java[@]}" dev.panthera.bench.llama.DecodeRoofline read "$t" | tail -n 1)" >> "$out/roofline.txt"
done
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

# raw line: round model engine test=X threads=T reps=R mean_tok_s=M sd_tok_s=S
awk '
function v(s) { sub(/^[a-z_]*=/, "", s); return s }
{
    key = $2 SUBSEP v($5) SUBSEP v($4); e = $3; r = $1
    mean[key, e, r] = v($7); sum[key, e] += v($7); n[key, e]++
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    rounds[key, r] = 1; if (r > maxr) maxr = r
}
END {
    print "| model | threads | test | Panthera tok/s | llama.cpp tok/s | ratio | per-round ratios |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP)
        a = sum[key, "panthera"] / n[key, "panthera"]; b = sum[key, "llama.cpp"] / n[key, "llama.cpp"]
        lo = 1e99; hi = 0
        for (r = 1; r <= maxr; r++) if ((key, "panthera", r) in mean && (key, "llama.cpp", r) in mean) {
            x = mean[key, "panthera", r] / mean[key, "llama.cpp", r]; if (x < lo) lo = x; if (x > hi) hi = x
        }
        printf "| %s | %s | %s | %.1f | %.1f | %.2f | %.2f–%.2f |\n", p[1], p[2], p[3], a, b, a / b, lo, hi
    }
}' "$out/raw.txt" > "$out/table.md"

# decode against the memory limit: roofline.txt has "bytes MODEL N" and "read THREADS GB/s" (twice per thread count);
# weights only, so decodes from an empty cache only (a decode at depth also reads the cache)
awk '
function v(s) { sub(/^[a-z_]*=/, "", s); return s }
FNR == NR {
    if ($1 == "bytes") bytes[$2] = $3
    if ($1 == "read") { bw[$2] += $3; nbw[$2]++; if (!($2 in lo) || $3 < lo[$2]) lo[$2] = $3; if ($3 > hi[$2]) hi[$2] = $3 }
    next
}
v($4) ~ /^tg[0-9]+$/ {
    key = $2 SUBSEP v($5); sum[key, $3] += v($7); n[key, $3]++
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
}
END {
    if (k == 0) exit
    print ""
    print "| model | threads | weight MB read per token | streaming read GB/s | memory limit tok/s | Panthera tok/s | Panthera / limit | llama.cpp tok/s | llama.cpp / limit |"
    print "|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP); m = p[1]; t = p[2]
        if (!(m in bytes) || !(t in nbw)) continue
        b = bw[t] / nbw[t]; lim = b * 1e9 / bytes[m]
        a = sum[key, "panthera"] / n[key, "panthera"]; c = sum[key, "llama.cpp"] / n[key, "llama.cpp"]
        printf "| %s | %s | %.1f | %.1f (%.1f–%.1f) | %.1f | %.1f | %.2f | %.1f | %.2f |\n", m, t, bytes[m] / 1e6, b, lo[t], hi[t], lim, a, a / lim, c, c / lim
    }
}' "$out/roofline.txt" "$out/raw.txt" >> "$out/table.md"
cat "$out/env.txt"
cat "$out/table.md"
