#!/usr/bin/env bash
# SGEMM beside OpenBLAS, memory-bound kernels and F32/BF16/F16 GEMV beside streaming bandwidth, attention, in one run;
# prints the BENCHMARKS.md tables.
#   jmh/bench-gemm.sh                     # everything (about 20 minutes on 2 cores)
#   jmh/bench-gemm.sh -p shape=512x512x512,1024x1024x1024   # any JMH options narrow the run
# Installs Debian's libopenblas-dev (the anchor) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/x86_64-linux-gnu/libopenblas.so* /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so* >/dev/null 2>&1; then
  echo "bench-gemm: installing Debian's libopenblas-dev (the GEMM anchor)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libopenblas-dev; else sudo apt-get update -qq && sudo apt-get install -y -qq libopenblas-dev; fi
fi
./panthera mvn -q -pl jmh -am -DskipTests package
out=jmh/target/gemm-$(date +%Y%m%d-%H%M%S).json
./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar jmh/target/benchmarks.jar \
  'GemmBench|FmaPeakBench|BandwidthBench|MixedGemvBench|AttentionBench' -rf json -rff "$out" "$@"
./panthera java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar dev.panthera.bench.BenchReport "$out"
