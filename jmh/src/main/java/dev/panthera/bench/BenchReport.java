package dev.panthera.bench;

import dev.panthera.bench.kit.BenchResult;
import dev.panthera.bench.kit.BenchResults;
import dev.panthera.bench.kit.RatioTable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a JMH JSON result file of {@link GemmBench} (with {@link FmaPeakBench}), {@link BandwidthBench}, {@link MixedGemvBench} and {@link AttentionBench} into the
 * markdown tables of BENCHMARKS.md: GFLOP/s with the OpenBLAS ratio, GB/s with the streaming-read ratio.
 * Usage: {@code java -cp benchmarks.jar dev.panthera.bench.BenchReport result.json}
 */
public final class BenchReport {
    private BenchReport() {}

    record Row(String benchmark, Map<String, String> params, double scoreMs) {}

    public static void main(String[] args) throws IOException {
        List<Row> rows = read(Path.of(args[0]));
        System.out.println(gemmTable(rows));
        System.out.println(bandwidthTable(rows));
        System.out.println(mixedGemvTable(rows));
        System.out.println(attentionTable(rows));
    }

    /** The file's results (BenchResults reads JMH's JSON), each checked to be in ms/op. */
    static List<Row> read(Path file) throws IOException {
        List<Row> out = new ArrayList<>();
        for (BenchResult r : BenchResults.fromJson(file)) {
            if (!r.unit().equals("ms/op"))
                throw new IOException("expected ms/op, got " + r.unit() + " for " + r.benchmark());
            out.add(new Row(r.benchmark(), r.params(), r.score()));
        }
        return out;
    }

    private static Double find(List<Row> rows, String bench, String shape, String threads) {
        for (Row r : rows) {
            if (r.benchmark().equals(bench)
                    && (shape == null || shape.equals(r.params().get("shape")))
                    && threads.equals(r.params().get("threads"))) {
                return r.scoreMs();
            }
        }
        return null;
    }

    static String gemmTable(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append(
                "| M×N×K | threads | Panthera GFLOP/s | OpenBLAS GFLOP/s | Panthera / OpenBLAS | FMA peak GFLOP/s | Panthera / peak |\n|---|---|---|---|---|---|---|\n");
        List<String> seen = new ArrayList<>();
        for (Row r : rows) {
            if (!r.benchmark().startsWith("GemmBench")) continue;
            String key = r.params().get("shape") + "/" + r.params().get("threads");
            if (seen.contains(key)) continue;
            seen.add(key);
            String shape = r.params().get("shape"), th = r.params().get("threads");
            String[] d = shape.split("x");
            double flops = 2.0 * Double.parseDouble(d[0]) * Double.parseDouble(d[1]) * Double.parseDouble(d[2]);
            Double pm = find(rows, "GemmBench.panthera", shape, th), om = find(rows, "GemmBench.openblas", shape, th);
            double pg = pm == null ? Double.NaN : flops / (pm * 1e6), og = om == null ? Double.NaN : flops / (om * 1e6);
            Double peakMs = null;
            for (Row q : rows) if (q.benchmark().equals("FmaPeakBench.peak" + th)) peakMs = q.scoreMs();
            double peak = peakMs == null ? Double.NaN : FmaPeakBench.flops(Integer.parseInt(th)) / (peakMs * 1e6);
            sb.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %.1f | %.1f | %.2f | %.1f | %.2f |%n",
                    shape.replace("x", "×"),
                    th,
                    pg,
                    og,
                    pg / og,
                    peak,
                    pg / peak));
        }
        return sb.toString();
    }

    static String attentionTable(List<Row> rows) {
        StringBuilder sb = new StringBuilder(
                "| attention (8 q heads, 2 kv heads, d 64, causal) | fused ms | fused GFLOP/s | composed ms | fused / composed speed-up |\n|---|---|---|---|---|\n");
        for (String mode : new String[] {"prefill-128", "prefill-512", "prefill-2048", "decode-2048"}) {
            Double f = null, c = null;
            for (Row r : rows) {
                if (!mode.equals(r.params().get("mode"))) continue;
                if (r.benchmark().equals("AttentionBench.fused")) f = r.scoreMs();
                if (r.benchmark().equals("AttentionBench.composed")) c = r.scoreMs();
            }
            if (f == null) continue;
            int[] g = AttentionBench.geometry(mode);
            long lq = g[3], lk = g[4];
            double flops = 4.0 * g[0] * lq * lk * g[2] * (lq == lk ? 0.5 : 1);
            sb.append(String.format(
                    Locale.ROOT,
                    "| %s | %.2f | %.1f | %s | %s |%n",
                    mode,
                    f,
                    flops / (f * 1e6),
                    c == null ? "–" : String.format(Locale.ROOT, "%.2f", c),
                    c == null ? "–" : String.format(Locale.ROOT, "%.1f×", c / f)));
        }
        return sb.toString();
    }

    static String bandwidthTable(List<Row> rows) {
        double mib64 = 64.0 * (1 << 20);
        Map<String, Double> bytes = new LinkedHashMap<>();
        bytes.put("BandwidthBench.gemvF32", mib64);
        bytes.put("BandwidthBench.softmax", 2 * mib64);
        bytes.put("BandwidthBench.rmsNorm", 2 * mib64);
        bytes.put("BandwidthBench.softmaxTensorApi", 2 * mib64);
        return ratioTable(rows, "BandwidthBench.streamSum", bytes);
    }

    /** GEMV with F32, BF16 and F16 weights (4096×4096; bytes = the weight's) beside MixedGemvBench's own stream. */
    static String mixedGemvTable(List<Row> rows) {
        double mib64 = 64.0 * (1 << 20), mib32 = mib64 / 2;
        Map<String, Double> bytes = new LinkedHashMap<>();
        bytes.put("MixedGemvBench.f32Plain", mib64);
        bytes.put("MixedGemvBench.f32Linear", mib64);
        bytes.put("MixedGemvBench.bf16Plain", mib32);
        bytes.put("MixedGemvBench.bf16Linear", mib32);
        bytes.put("MixedGemvBench.f16Plain", mib32);
        bytes.put("MixedGemvBench.f16Linear", mib32);
        return ratioTable(rows, "MixedGemvBench.streamSum", bytes);
    }

    /** GB/s of each kernel beside {@code anchor}'s streaming read, through the benchmark kit's {@link RatioTable}. */
    private static String ratioTable(List<Row> rows, String anchor, Map<String, Double> bytes) {
        RatioTable t = RatioTable.of(anchor, "streaming read", "GB/s", r -> StreamingRead.BYTES);
        for (Map.Entry<String, Double> e : bytes.entrySet()) t.kernel(e.getKey(), e.getValue());
        List<BenchResult> results = new ArrayList<>();
        for (Row r : rows) results.add(new BenchResult(r.benchmark(), r.params(), r.scoreMs(), "ms/op"));
        return t.toMarkdown(results);
    }
}
