package com.example.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The benchmark run's selection without timing anything: JMH finds this project's benchmark and Panthera's
 * streaming-read anchor (from the panthera-jmh jar) for RunBench's options, and nothing else.
 */
class BenchmarkListTest {
    @Test
    void oneRunHoldsTheKernelAndTheAnchor() {
        var o = RunBench.options();
        var found = BenchmarkList.defaultList()
                .find(
                        OutputFormatFactory.createFormatInstance(System.out, VerboseMode.SILENT),
                        o.getIncludes(),
                        o.getExcludes());
        TreeSet<String> names = new TreeSet<>();
        for (BenchmarkListEntry e : found) names.add(e.getUsername());
        assertEquals(
                List.of(
                        "com.example.kernels.BiasGeluBench.fused",
                        "dev.panthera.bench.kit.StreamingReadAnchor.streamSum"),
                List.copyOf(names));
    }
}
