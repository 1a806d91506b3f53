#!/usr/bin/env bash
# Set-up shared by bench-rss-vs-llamacpp.sh, bench-cold-vs-llamacpp.sh and bench-convert-vs-llamacpp.sh, sourced
# from the repository root once they have set out (the output folder), models and settings (their parameters, one
# line for env.txt). It builds the llama.cpp anchor (jmh/native/llama-anchor/build.sh) and this tree's
# benchmarks.jar (copied into $out), and sets:
#   anchor      the anchor binary
#   engines     "llama.cpp panthera", then the labels of JARS ("label=path/to/benchmarks.jar ...")
#   jar[label]  the benchmarks.jar of each engine of ours: panthera (this tree's copy) and JARS' entries
#   java        the java binary the launcher runs
#   file[name]  the GGUF file of each of $models (jmh/llama-model-file.sh)
# and writes $out/env.txt (start, commit, llama.cpp version, cpu, jdk, $settings, jars, load average), printing it.
jmh/native/llama-anchor/build.sh
anchor="${ANCHOR_WORK:-jmh/target/llama-anchor}/build/llama-anchor"
./panthera mvn -q -o -pl jmh -am package -DskipTests
cp jmh/target/benchmarks.jar "$out/benchmarks.jar"
declare -A jar=([panthera]="$out/benchmarks.jar")
engines="llama.cpp panthera"
for j in ${JARS:-}; do
    jar[${j%%=*}]="${j#*=}"
    engines="$engines ${j%%=*}"
done
java=$(./panthera java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.home = //p')/bin/java

{
    echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit (with uncommitted changes)"; fi
    echo "commit: $commit"
    echo "llama.cpp: $(cat "${ANCHOR_WORK:-jmh/target/llama-anchor}/src/VERSION")"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "jdk: $("$java" -version 2>&1 | head -n1)"
    echo "$settings, engines $engines"
    for e in $engines; do if [ "$e" != llama.cpp ]; then echo "jar $e: ${jar[$e]}"; fi; done
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"
cat "$out/env.txt"

declare -A file
for m in $models; do file[$m]=$(jmh/llama-model-file.sh "$anchor" "$out/benchmarks.jar" "$m"); done
