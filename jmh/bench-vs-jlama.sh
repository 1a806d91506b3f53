#!/usr/bin/env bash
# Llama decode and prefill, ours beside Jlama (com.github.tjake:jlama-core 0.8.4, the pure-Java peer; its Panama
# Vector API operations, jlama-native is not on the class path) on the same HuggingFace safetensors folder, in one
# invocation. The model is a random-weight Llama of the stories110M shape (dim 768, 12 layers, 12 heads, FFN 2048,
# vocab 32000, tied head; JlamaFixtures) written as config.json + model.safetensors + tokenizer.json, in F32 and BF16.
# Both engines get the same token ids (no tokenizer on either side) and are measured alike (JlamaAnchorBench, the
# method of LlamaAnchorBench): pp128 (one forward of 128 ids, BOS then random ids) and tgN (N single-token decodes
# after BOS, random ids fed, no sampling beyond Jlama's own arg-max), after a JIT warm-up of 10 s and one unmeasured
# run, REPS repetitions each, mean tok/s. Each engine runs in its own JVM with the same flags (JAVA_OPTS added to
# both); a round runs every model and thread count on both engines, the order of the two alternating from round to
# round; the table averages each engine's means over the rounds and gives the ratio ours / Jlama of those averages
# and the range of the per-round ratios.
#
# Before any timing, JlamaLogitsCheck loads both engines on the F32 and the BF16 folder at each thread count and
# compares the logits of a 16-token prefill and 4 decode steps against a bound derived from the arithmetic (see its
# documentation); the script stops if either check fails.
#
# Models: F32 and BF16 (both engines read the same folder; Jlama rounds activations to BF16 for a BF16 model, we keep
# them in F32), and Q4: each engine's own 4-bit type from the same F32 weights, ours the folder converted to a Q4_0
# GGUF by our GgufConvert (blocks of 32, F16 scale), Jlama's the folder converted by its own quantizer to its Q4
# (blocks of 32, F32 scale; norms kept F32; its activations stay F32 at dim 768, as its I8 path needs dim / 32 to be a
# multiple of the vector's float lanes). The two Q4 rows are not the same function: no logits check for them. Files
# go to $TMPDIR/panthera-llama-bench.
#
#   jmh/bench-vs-jlama.sh [ROUNDS] [OUT_DIR]
#     ROUNDS   default 2; OUT_DIR default target/bench-vs-jlama/<date-time>
#     env: MODELS (default "F32 BF16 Q4"), THREADS ("1 2"), REPS (3), TG (tokens of the decode test, 32),
#          PP ("128"), WARMUP_S (10), JAVA_OPTS (extra JVM flags for both engines)
# OUT_DIR gets env.txt, check.txt, raw.txt (every measured line: round model engine ...) and table.md (printed at
# the end), and the copy of benchmarks.jar that ran.
set -euo pipefail
if [ $# -gt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
rounds="${1:-2}"
out=""
if [ $# -eq 2 ]; then out=$(realpath -m -- "$2"); fi
cd "$(dirname "$0")/.."
out="${out:-$PWD/target/bench-vs-jlama/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
models="${MODELS:-F32 BF16 Q4}"
threads="${THREADS:-1 2}"
reps="${REPS:-3}"
tg="${TG:-32}"
pp="${PP:-128}"
warmup="${WARMUP_S:-10}"

./panthera mvn -q -o -pl jmh -am package -DskipTests
cp jmh/target/benchmarks.jar "$out/benchmarks.jar" # a later build of the tree does not touch a running benchmark
# shellcheck disable=SC2206
java=(./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${JAVA_OPTS:-}
    -cp "$out/benchmarks.jar")

{
    echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit (with uncommitted changes)"; fi
    echo "commit: $commit"
    echo "jlama: com.github.tjake:jlama-core 0.8.4 (Panama Vector API operations)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "jdk: $(./panthera java -version 2>&1 | head -n1)"
    echo "jvm flags (both engines): --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${JAVA_OPTS:-}"
    echo "rounds $rounds, reps $reps, pp $pp, tg $tg, warm-up ${warmup} s, threads $threads"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"
cat "$out/env.txt"

quiet() { grep -v -e '^WARNING' -e ' INFO ' -e ' WARN ' || true; }
f32=$("${java[@]}" dev.panthera.bench.llama.JlamaFixtures F32 2> >(quiet >&2) | tail -n 1)
bf16=$("${java[@]}" dev.panthera.bench.llama.JlamaFixtures BF16 2> >(quiet >&2) | tail -n 1)
q4=$("${java[@]}" dev.panthera.bench.llama.JlamaFixtures Q4_0 2> >(quiet >&2) | tail -n 1)
jq4=$("${java[@]}" dev.panthera.bench.llama.JlamaFixtures JQ4 2> >(quiet >&2) | tail -n 1)

: > "$out/check.txt"
for t in $threads; do
    for f in "$f32" "$bf16"; do
        "${java[@]}" dev.panthera.bench.llama.JlamaLogitsCheck "$f" -t "$t" 2> >(quiet >&2) | tee -a "$out/check.txt"
    done
done

: > "$out/raw.txt"
run() { # round model threads engine
    local args
    case "$2:$4" in
        F32:*) args=("$f32" --engine "$4") ;;
        BF16:*) args=("$bf16" --engine "$4") ;;
        Q4:panthera) args=("$q4" --engine panthera) ;;
        Q4:jlama) args=("$jq4" --engine jlama) ;;
        *) echo "unknown model $2" >&2; exit 2 ;;
    esac
    "${java[@]}" dev.panthera.bench.llama.JlamaAnchorBench "${args[@]}" -t "$3" -p "$pp" -n "$tg" -r "$reps" \
        --warmup-s "$warmup" 2> >(quiet >&2) | while read -r line; do echo "$1 $2 $4 $line" | tee -a "$out/raw.txt"; done
}
for ((r = 1; r <= rounds; r++)); do
    for m in $models; do
        for t in $threads; do
            if ((r % 2)); then order="jlama panthera"; else order="panthera jlama"; fi
            for e in $order; do run "$r" "$m" "$t" "$e"; done
        done
    done
done
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

# raw line: round model engine test=X threads=T reps=R mean_tok_s=M sd_tok_s=S
awk '
function v(s) { sub(/^[a-z_]*=/, "", s); return s }
{
    key = $2 SUBSEP v($5) SUBSEP v($4); e = $3; r = $1
    mean[key, e, r] = v($7); sum[key, e] += v($7); n[key, e]++
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    if (r > maxr) maxr = r
}
END {
    print "| model | threads | test | Panthera tok/s | Jlama tok/s | ratio | per-round ratios |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP)
        if (!n[key, "panthera"] || !n[key, "jlama"]) continue
        a = sum[key, "panthera"] / n[key, "panthera"]; b = sum[key, "jlama"] / n[key, "jlama"]
        lo = 1e99; hi = 0
        for (r = 1; r <= maxr; r++) if ((key, "panthera", r) in mean && (key, "jlama", r) in mean) {
            x = mean[key, "panthera", r] / mean[key, "jlama", r]; if (x < lo) lo = x; if (x > hi) hi = x
        }
        printf "| %s | %s | %s | %.1f | %.1f | %.2f | %.2f–%.2f |\n", p[1], p[2], p[3], a, b, a / b, lo, hi
    }
}' "$out/raw.txt" > "$out/table.md"
cat "$out/env.txt"
cat "$out/check.txt"
cat "$out/table.md"
