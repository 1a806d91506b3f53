package dev.panthera.bench.kit;

import java.util.regex.Pattern;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;

/**
 * Runs a user's benchmarks beside Panthera's anchors in one JMH run: the anchors are ordinary JMH benchmarks in this
 * jar (their generated code and {@code META-INF/BenchmarkList} entries come with it, and JMH reads every
 * BenchmarkList on the class path), so including them by name is all it takes.
 *
 * <pre>{@code
 * Options o = BenchKit.withAnchors(new OptionsBuilder().include(MyBench.class.getName()),
 *         BenchKit.Anchor.STREAMING_READ).build();
 * String md = RatioTable.bandwidth().kernel("MyBench.kernel", bytes).toMarkdown(BenchResults.of(new Runner(o).run()));
 * }</pre>
 *
 * Run it on the class path (not a shaded jar, whose BenchmarkList files would overwrite each other), with
 * {@code --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED}.
 */
public final class BenchKit {
    private BenchKit() {}

    /** The anchors and their benchmark classes. */
    public enum Anchor {
        /** {@link StreamingReadAnchor}: memory bandwidth (GB/s). */
        STREAMING_READ(StreamingReadAnchor.class),
        /** {@link FmaPeakAnchor}: the FMA peak reachable from Java (GFLOP/s). */
        FMA_PEAK(FmaPeakAnchor.class),
        /** {@link SgemmAnchor}: OpenBLAS cblas_sgemm through FFM (GFLOP/s); needs libopenblas. */
        OPENBLAS_SGEMM(SgemmAnchor.class);

        private final Class<?> benchmarkClass;

        Anchor(Class<?> benchmarkClass) {
            this.benchmarkClass = benchmarkClass;
        }

        /** The JMH include pattern that selects this anchor's benchmarks and nothing else. */
        public String includePattern() {
            return "^" + Pattern.quote(benchmarkClass.getName() + ".");
        }
    }

    /** {@code options} with the anchors included. */
    public static ChainedOptionsBuilder withAnchors(ChainedOptionsBuilder options, Anchor... anchors) {
        for (Anchor a : anchors) options = options.include(a.includePattern());
        return options;
    }
}
