#!/usr/bin/env bash
# Llama prefill and decode, ours beside PyTorch (HuggingFace transformers' LlamaForCausalLM, float32, CPU) on the same
# HuggingFace safetensors folder: the random-weight Llama of the stories110M shape in F32 (JlamaFixtures; dim 768,
# 12 layers, 12 heads, FFN 2048, vocab 32000, tied head). Both sides get the same kind of token ids (BOS, then
# uniformly random ids) and are measured alike: ours by LlamaAnchorBench, PyTorch by
# jmh/src/main/python/llama_forward_anchor.py (the same method: ppN one forward of N ids into a fresh cache with the
# last position's logits, tgN N single-token forwards with the cache; a warm-up of WARMUP_S seconds and one unmeasured
# run, then REPS repetitions, mean tok/s). Threads: ours Sgemm.setThreads, PyTorch torch.set_num_threads (intra-op;
# one inter-op thread). A round runs every thread count on both engines, the order alternating from round to round;
# the table averages each engine's means over the rounds, with the ratio ours / PyTorch and the per-round range.
#
#   jmh/bench-vs-pytorch.sh [ROUNDS] [OUT_DIR]
#     ROUNDS   default 2; OUT_DIR default target/bench-vs-pytorch/<date-time>
#     env: THREADS ("1 2"), REPS (3), TG (32), PP ("128,512"), WARMUP_S (10),
#          PANTHERA_PYTHON (an interpreter with torch and transformers; default /work/venv-peft/bin/python)
# OUT_DIR gets env.txt, raw.txt (every measured line: round engine ...) and table.md, and the benchmarks.jar that ran.
set -euo pipefail
if [ $# -gt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
rounds="${1:-2}"
out=""
if [ $# -eq 2 ]; then out=$(realpath -m -- "$2"); fi
cd "$(dirname "$0")/.."
out="${out:-$PWD/target/bench-vs-pytorch/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
threads="${THREADS:-1 2}"
reps="${REPS:-3}"
tg="${TG:-32}"
pp="${PP:-128,512}"
warmup="${WARMUP_S:-10}"
python="${PANTHERA_PYTHON:-/work/venv-peft/bin/python}"
if ! "$python" -c 'import torch, transformers' 2>/dev/null; then
    echo "bench-vs-pytorch: $python cannot import torch and transformers (set PANTHERA_PYTHON)" >&2
    exit 1
fi

./panthera mvn -q -o -pl jmh -am package -DskipTests
cp jmh/target/benchmarks.jar "$out/benchmarks.jar" # a later build of the tree does not touch a running benchmark
java=(./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$out/benchmarks.jar")

{
    echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit (with uncommitted changes)"; fi
    echo "commit: $commit"
    echo "pytorch: $("$python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "jdk: $(./panthera java -version 2>&1 | head -n1)"
    echo "rounds $rounds, reps $reps, pp $pp, tg $tg, warm-up ${warmup} s, threads $threads"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"
cat "$out/env.txt"

quiet() { grep -v -e '^WARNING' -e ' INFO ' -e ' WARN ' -e 'Loading weights' || true; }
f32=$("${java[@]}" dev.panthera.bench.llama.JlamaFixtures F32 2> >(quiet >&2) | tail -n 1)

: > "$out/raw.txt"
run() { # round threads engine
    if [ "$3" = panthera ]; then
        "${java[@]}" dev.panthera.bench.llama.LlamaAnchorBench "$f32" -t "$2" -p "$pp" -n "$tg" -r "$reps" \
            --warmup-s "$warmup" 2> >(quiet >&2)
    else
        "$python" jmh/src/main/python/llama_forward_anchor.py "$f32" -t "$2" -p "$pp" -n "$tg" -r "$reps" \
            --warmup-s "$warmup" 2> >(quiet >&2)
    fi | grep '^test=' | while read -r line; do echo "$1 $3 $line" | tee -a "$out/raw.txt"; done
}
for ((r = 1; r <= rounds; r++)); do
    for t in $threads; do
        if ((r % 2)); then order="pytorch panthera"; else order="panthera pytorch"; fi
        for e in $order; do run "$r" "$t" "$e"; done
    done
done
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

# raw line: round engine test=X threads=T reps=R mean_tok_s=M sd_tok_s=S
awk '
function v(s) { sub(/^[a-z_]*=/, "", s); return s }
{
    key = v($4) SUBSEP v($3); e = $2; r = $1
    mean[key, e, r] = v($6); sum[key, e] += v($6); n[key, e]++
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    if (r > maxr) maxr = r
}
END {
    print "| threads | test | Panthera tok/s | PyTorch tok/s | ratio | per-round ratios |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP)
        if (!n[key, "panthera"] || !n[key, "pytorch"]) continue
        a = sum[key, "panthera"] / n[key, "panthera"]; b = sum[key, "pytorch"] / n[key, "pytorch"]
        lo = 1e99; hi = 0
        for (r = 1; r <= maxr; r++) if ((key, "panthera", r) in mean && (key, "pytorch", r) in mean) {
            x = mean[key, "panthera", r] / mean[key, "pytorch", r]; if (x < lo) lo = x; if (x > hi) hi = x
        }
        printf "| %s | %s | %.1f | %.1f | %.2f | %.2f–%.2f |\n", p[1], p[2], a, b, a / b, lo, hi
    }
}' "$out/raw.txt" > "$out/table.md"
cat "$out/env.txt"
cat "$out/table.md"
