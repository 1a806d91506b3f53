package dev.panthera.bench.kit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * A markdown table of kernels' throughput beside an anchor measured in the same JMH run, and their ratio to it: GB/s
 * beside the streaming read, GFLOP/s beside the FMA peak or OpenBLAS. The work per operation (bytes moved, flops) is
 * declared per kernel; rates are work / seconds per op. Rows pair a kernel with the anchor run at the same
 * {@code threads} parameter (a benchmark without one counts as 1 thread).
 *
 * <pre>{@code
 * String md = RatioTable.bandwidth()
 *         .kernel("BiasGeluBench.fused", 2.0 * 4 * N)     // reads and writes N floats
 *         .toMarkdown(BenchResults.of(new Runner(options).run()));
 * }</pre>
 */
public final class RatioTable {
    private final String anchor, anchorLabel, unit;
    private final ToDoubleFunction<BenchResult> anchorWork;
    private final Map<String, ToDoubleFunction<BenchResult>> kernels = new LinkedHashMap<>();

    private RatioTable(String anchor, String anchorLabel, String unit, ToDoubleFunction<BenchResult> anchorWork) {
        this.anchor = anchor;
        this.anchorLabel = anchorLabel;
        this.unit = unit;
        this.anchorWork = anchorWork;
    }

    /**
     * A table beside any anchor: {@code anchorBenchmark} as "Class.method", its label in the header, the unit of the
     * rates ({@code "GB/s"}: work in bytes; {@code "GFLOP/s"}: work in flops; both are work / 1e9 per second), and the
     * anchor's work per operation.
     */
    public static RatioTable of(
            String anchorBenchmark, String anchorLabel, String unit, ToDoubleFunction<BenchResult> anchorWork) {
        return new RatioTable(anchorBenchmark, anchorLabel, unit, anchorWork);
    }

    /** GB/s beside {@link StreamingReadAnchor} ({@link StreamingRead#BYTES} per op). */
    public static RatioTable bandwidth() {
        return of("StreamingReadAnchor.streamSum", "streaming read", "GB/s", r -> StreamingRead.BYTES);
    }

    /** GFLOP/s beside {@link FmaPeakAnchor} ({@link FmaPeak#flops}(1) per op). */
    public static RatioTable fmaPeak() {
        return of("FmaPeakAnchor.peak", "FMA peak", "GFLOP/s", r -> FmaPeak.flops(1));
    }

    /** GFLOP/s beside {@link SgemmAnchor} (2·M·N·K per op from its {@code shape} parameter). */
    public static RatioTable sgemm() {
        return of(
                "SgemmAnchor.sgemm",
                "OpenBLAS sgemm",
                "GFLOP/s",
                r -> gemmFlops(r.params().get("shape")));
    }

    /** 2·M·N·K for a shape written "MxNxK". */
    public static double gemmFlops(String shape) {
        String[] d = shape.split("x");
        if (d.length != 3) throw new IllegalArgumentException("RatioTable: GEMM shape " + shape + " is not MxNxK");
        return 2.0 * Double.parseDouble(d[0]) * Double.parseDouble(d[1]) * Double.parseDouble(d[2]);
    }

    /** Adds a kernel row: {@code benchmark} as "Class.method" and its work per operation. */
    public RatioTable kernel(String benchmark, double workPerOp) {
        return kernel(benchmark, r -> workPerOp);
    }

    /** Adds a kernel row whose work per operation depends on the run's parameters. */
    public RatioTable kernel(String benchmark, ToDoubleFunction<BenchResult> workPerOp) {
        kernels.put(benchmark, workPerOp);
        return this;
    }

    /** One row per kernel and thread count that both the kernel and the anchor ran with. */
    public String toMarkdown(List<BenchResult> results) {
        StringBuilder sb = new StringBuilder("| kernel | threads | " + unit + " | " + anchorLabel + " " + unit
                + " (anchor) | ratio |\n|---|---|---|---|---|\n");
        TreeSet<Integer> threads = new TreeSet<>();
        for (BenchResult r : results) if (r.benchmark().equals(anchor)) threads.add(Integer.parseInt(r.threads()));
        for (int th : threads) {
            BenchResult a = find(results, anchor, th);
            double anchorRate = anchorWork.applyAsDouble(a) / a.secondsPerOp() / 1e9;
            for (Map.Entry<String, ToDoubleFunction<BenchResult>> e : kernels.entrySet()) {
                BenchResult k = find(results, e.getKey(), th);
                if (k == null) continue;
                double rate = e.getValue().applyAsDouble(k) / k.secondsPerOp() / 1e9;
                sb.append(String.format(
                        Locale.ROOT,
                        "| %s | %d | %.1f | %.1f | %.2f |%n",
                        e.getKey().substring(e.getKey().indexOf('.') + 1),
                        th,
                        rate,
                        anchorRate,
                        rate / anchorRate));
            }
        }
        return sb.toString();
    }

    /** The kernels whose benchmarks are missing from {@code results} (a misspelt name shows up here). */
    public List<String> missing(List<BenchResult> results) {
        List<String> out = new ArrayList<>();
        for (String k : kernels.keySet())
            if (results.stream().noneMatch(r -> r.benchmark().equals(k))) out.add(k);
        if (results.stream().noneMatch(r -> r.benchmark().equals(anchor))) out.add(anchor);
        return out;
    }

    private static BenchResult find(List<BenchResult> results, String benchmark, int threads) {
        for (BenchResult r : results)
            if (r.benchmark().equals(benchmark) && Integer.parseInt(r.threads()) == threads) return r;
        return null;
    }
}
