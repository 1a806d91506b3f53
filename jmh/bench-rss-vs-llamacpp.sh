#!/usr/bin/env bash
# Resident memory of a decode, ours beside a native llama.cpp (jmh/native/llama-anchor, as in bench-vs-llamacpp.sh) on
# the same GGUF files. Each engine decodes in a process of its own (ours LlamaAnchorBench, llama.cpp the anchor's bench
# mode: tgTG on THREADS threads after BOS, REPS repetitions, no prompt test), and the script reads /proc/PID/status
# every 0.2 s for the peaks of VmRSS (all resident memory), RssAnon (ours: the Java heap, with the regrouped copies of
# quantized weights and the F32 copies of LoadMode.HEAP, and native buffers such as the KV cache; llama.cpp: its buffers
# and KV cache) and RssFile (pages of mapped files: the GGUF, and for the JVM also its own files, libjvm.so and the
# class-data archive). Peaks are sampled, so a run of under a second or two (a small TG or REPS) reads low. A round
# runs every model on every engine, the order alternating from round to round; the table
# gives each engine's means over the rounds and the per-round range of VmRSS.
#
#   GGML_GIT=/path/to/ggml/.git jmh/bench-rss-vs-llamacpp.sh [ROUNDS] [OUT_DIR]
#     ROUNDS   default 2; OUT_DIR default target/bench-rss-vs-llamacpp/<date-time>
#     env: MODELS (default "110M 110M:Q4_K 1.1B:Q4_K_M", LlamaFixtures names, or NAME:Q4_K_M / NAME:Q5_K_M for
#          llama.cpp's own mixes, see jmh/llama-model-file.sh), THREADS (1), TG (32), REPS (3),
#          JARS (more engines: "label=path/to/benchmarks.jar ...", e.g. an older build of ours beside this tree's),
#          ANCHOR_WORK, ANCHOR_CPU_FLAGS (passed to jmh/native/llama-anchor/build.sh)
# OUT_DIR gets env.txt, raw.txt (round model engine tok/s peak-VmRSS peak-RssAnon peak-RssFile, MiB) and table.md,
# and the benchmarks.jar that ran. Linux only (/proc).
set -euo pipefail
if [ $# -gt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
rounds="${1:-2}"
out=""
if [ $# -eq 2 ]; then out=$(realpath -m -- "$2"); fi
cd "$(dirname "$0")/.."
out="${out:-$PWD/target/bench-rss-vs-llamacpp/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
models="${MODELS:-110M 110M:Q4_K 1.1B:Q4_K_M}"
threads="${THREADS:-1}"
tg="${TG:-32}"
reps="${REPS:-3}"

settings="rounds $rounds, reps $reps, tg $tg, threads $threads"
source jmh/llama-engines.sh

# peak VmRSS, RssAnon and RssFile of process $1 (kB), polled until it exits
peaks() {
    local pid=$1 v a f mv=0 ma=0 mf=0
    while kill -0 "$pid" 2>/dev/null; do
        read -r v a f < <(awk '/^VmRSS/ { v = $2 } /^RssAnon/ { a = $2 } /^RssFile/ { f = $2 }
            END { print v + 0, a + 0, f + 0 }' "/proc/$pid/status" 2>/dev/null || echo "0 0 0")
        if ((v > mv)); then mv=$v; fi
        if ((a > ma)); then ma=$a; fi
        if ((f > mf)); then mf=$f; fi
        sleep 0.2
    done
    echo "$mv $ma $mf"
}

: > "$out/raw.txt"
run() { # round model engine
    local f="${file[$2]}" log="$out/run.log" p
    if [ "$3" = llama.cpp ]; then
        "$anchor" bench "$f" -t "$threads" -p 0 -n "$tg" -r "$reps" > "$log" 2>&1 &
    else
        ./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "${jar[$3]}" \
            dev.panthera.bench.llama.LlamaAnchorBench "$f" -t "$threads" -p 0 -n "$tg" -r "$reps" > "$log" 2>&1 &
    fi
    local pid=$!
    read -r v a fl < <(peaks "$pid")
    wait "$pid" || { echo "$3 failed on $2:" >&2; cat "$log" >&2; exit 1; }
    local tok
    tok=$(grep -o 'mean_tok_s=[0-9.]*' "$log" | cut -d= -f2)
    echo "$1 $2 $3 $tok $((v / 1024)) $((a / 1024)) $((fl / 1024))" | tee -a "$out/raw.txt"
}
for ((r = 1; r <= rounds; r++)); do
    for m in $models; do
        if ((r % 2)); then order="$engines"; else order=$(tr ' ' '\n' <<< "$engines" | tac | tr '\n' ' '); fi
        for e in $order; do run "$r" "$m" "$e"; done
    done
done
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"

# raw line: round model engine tok/s vmrss anon file (MiB)
awk '
{
    key = $2 SUBSEP $3; n[key]++; tok[key] += $4; v[key] += $5; a[key] += $6; f[key] += $7
    if (!(key in lo) || $5 < lo[key]) lo[key] = $5
    if ($5 > hi[key]) hi[key] = $5
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
}
END {
    print "| model | engine | tok/s | peak VmRSS MiB | per-round VmRSS | peak RssAnon MiB | peak RssFile MiB |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
        key = order[i]; split(key, p, SUBSEP); c = n[key]
        printf "| %s | %s | %.1f | %.0f | %d–%d | %.0f | %.0f |\n", p[1], p[2], tok[key] / c, v[key] / c, lo[key], hi[key], a[key] / c, f[key] / c
    }
}' "$out/raw.txt" > "$out/table.md"
cat "$out/env.txt"
cat "$out/table.md"
