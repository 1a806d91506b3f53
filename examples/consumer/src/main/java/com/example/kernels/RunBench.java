package com.example.kernels;

import dev.panthera.bench.kit.BenchKit;
import dev.panthera.bench.kit.BenchResults;
import dev.panthera.bench.kit.RatioTable;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/** One JMH run of {@link BiasGeluBench} beside Panthera's streaming-read anchor, printed as a ratio table. */
public final class RunBench {
    private RunBench() {}

    /** The JMH options: this project's benchmark and the bandwidth anchor. */
    static Options options() {
        return BenchKit.withAnchors(
                        new OptionsBuilder().include("^" + BiasGeluBench.class.getName() + "\\."),
                        BenchKit.Anchor.STREAMING_READ)
                .build();
    }

    public static void main(String[] args) throws Exception {
        var results = BenchResults.of(new Runner(options()).run());
        System.out.println(RatioTable.bandwidth()
                .kernel("BiasGeluBench.fused", BiasGeluBench.BYTES)
                .toMarkdown(results));
    }
}
