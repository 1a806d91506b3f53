#!/usr/bin/env bash
# The no-regression set of the simd kernels, each beside its anchor measured in the same run:
#   MixedGemvBench  decode GEMV (M = 1, 4096×4096) with F32, BF16 and F16 weights, [K, N] and Linear [N, K],
#                   1 and 2 threads, beside a streaming read of 256 MiB in the same fork (ratio = kernel GB/s / read GB/s)
#   AttentionBench  fused causal attention (prefill 128/512/2048, decode against 2048), beside the same attention
#                   composed from matmul + mask + softmax + matmul (speed-up = composed time / fused time)
#   GemmBestOf      SGEMM beside OpenBLAS's cblas_sgemm, nine shapes, 1 then 2 threads, the two libraries alternating
#                   in one process on the same buffers (ratio of the best and of the median times)
# JMH settings for the two JMH benches: 2 forks × (2 × 1 s warm-up + 3 × 1 s measured) per benchmark and parameter,
# shorter iterations than the benches' own (2 × 2 s + 3 × 2 s, 1 fork) but a second fork, because the JIT code of a
# kernel differs between forks by more than the noise within one.
# Time, ESTIMATED from these settings (not yet measured): MixedGemvBench 28 forks × ~7 s ≈ 3.5 min, AttentionBench
# 16 forks × ~7 s ≈ 2 min, GemmBestOf ~1 min per thread count (4 s warm-up per shape), so about 8 minutes of runs plus
# the build (well under a minute when up to date, a few minutes from clean): about 10 minutes on 2 cores.
#
#   jmh/bench-regress.sh [OUT_DIR]        # default OUT_DIR: target/bench-regress/<date-time> under the repository
#
# OUT_DIR gets env.txt (date, commit, CPU, JDK, load), jmh.json and jmh.txt (JMH's raw results and log),
# gemm-best-of-1t.md and gemm-best-of-2t.md (GemmBestOf's tables) and report.md (every table, printed at the end).
# Installs Debian's libopenblas-dev (the GEMM anchor) when it is missing, as jmh/bench-gemm.sh does.
set -euo pipefail
if [ $# -gt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
out=""
if [ $# -eq 1 ]; then out=$(realpath -m -- "$1"); fi # relative to the caller's directory, before the cd below
cd "$(dirname "$0")/.."
out=${out:-$PWD/target/bench-regress/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"

if ! ls /usr/lib/x86_64-linux-gnu/libopenblas.so* /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so* >/dev/null 2>&1; then
  echo "bench-regress: installing Debian's libopenblas-dev (the GEMM anchor)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libopenblas-dev; else sudo apt-get update -qq && sudo apt-get install -y -qq libopenblas-dev; fi
fi

{
  echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit (with uncommitted changes)"; fi
  echo "commit: $commit"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    "(family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -n1)," \
    "model $(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(nproc) CPUs," \
    "AVX-512: $(grep -o -w 'avx512[a-z0-9_]*' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//' | grep . || echo none)"
  echo "memory: $(sed -n 's/^MemTotal:[[:space:]]*//p' /proc/meminfo)"
  echo "jdk: $(./panthera java -version 2>&1 | head -n1)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"
cat "$out/env.txt"

# builds the jmh module (and what it needs), then runs JMH on it
./panthera bench 'MixedGemvBench|AttentionBench' -f 2 -wi 2 -w 1 -i 3 -r 1 -foe true \
  -rf json -rff "$out/jmh.json" 2>&1 | tee "$out/jmh.txt"

jar=jmh/target/benchmarks.jar
for t in 1 2; do
  ./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$jar" \
    dev.panthera.bench.GemmBestOf "$t" | tee "$out/gemm-best-of-${t}t.md"
  if ! grep -q '^| M×N×K' "$out/gemm-best-of-${t}t.md"; then
    echo "bench-regress: GemmBestOf printed no table (see above)" >&2
    exit 1
  fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

{
  echo "# Regression run, $(sed -n 's/^start: //p' "$out/env.txt")"
  echo
  sed 's/^/    /' "$out/env.txt"
  echo
  echo "## SGEMM beside OpenBLAS, best of alternating runs (GemmBestOf)"
  echo
  grep '^|' "$out/gemm-best-of-1t.md"
  grep '^|' "$out/gemm-best-of-2t.md" | tail -n +3
  echo
  echo "## GEMV beside the streaming read (MixedGemvBench), attention beside its composition (AttentionBench)"
  echo
  # BenchReport prints every table it knows; keep those that have rows (header and rule are two lines)
  ./panthera java --add-modules jdk.incubator.vector -cp "$jar" dev.panthera.bench.BenchReport "$out/jmh.json" \
    | awk 'BEGIN { RS = ""; ORS = "\n\n" } split($0, lines, "\n") > 2'
} > "$out/report.md"

echo
cat "$out/report.md"
echo "bench-regress: raw results and report in $out"
