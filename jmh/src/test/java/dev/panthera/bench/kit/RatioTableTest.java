package dev.panthera.bench.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The ratio tables on results whose rates are worked out by hand: the anchor reads 2²⁸ bytes in 10 ms, 26.8435456
 * GB/s; a kernel moving 2²⁶ bytes in 5 ms runs at 13.4217728 GB/s, half of it.
 */
class RatioTableTest {
    private static final String JSON = """
            [
              {"benchmark": "dev.panthera.bench.kit.StreamingReadAnchor.streamSum", "mode": "avgt",
               "params": {"threads": "1"}, "primaryMetric": {"score": 10.0, "scoreUnit": "ms/op",
               "scorePercentiles": {"0.0": 9.9}}},
              {"benchmark": "com.example.BiasGeluBench.fused", "mode": "avgt",
               "primaryMetric": {"score": 5000.0, "scoreUnit": "us/op"}},
              {"benchmark": "com.example.BiasGeluBench.composed", "mode": "thrpt",
               "primaryMetric": {"score": 0.05, "scoreUnit": "ops/ms"}}
            ]
            """;

    private static List<BenchResult> results() throws Exception {
        return BenchResults.fromJson(new ByteArrayInputStream(JSON.getBytes(StandardCharsets.UTF_8)), "inline");
    }

    @Test
    void readsJmhJsonIntoShortNamesParamsAndUnits() throws Exception {
        List<BenchResult> r = results();
        assertEquals(3, r.size());
        assertEquals(new BenchResult("StreamingReadAnchor.streamSum", Map.of("threads", "1"), 10.0, "ms/op"), r.get(0));
        assertEquals(0.005, r.get(1).secondsPerOp(), 1e-15);
        assertEquals(0.02, r.get(2).secondsPerOp(), 1e-15); // 0.05 ops per ms is 20 ms per op
        assertEquals("1", r.get(1).threads());
    }

    @Test
    void bandwidthTableSetsKernelsBesideTheStreamingRead() throws Exception {
        String md = RatioTable.bandwidth()
                .kernel("BiasGeluBench.fused", 1L << 26)
                .kernel("BiasGeluBench.composed", 1L << 26)
                .toMarkdown(results());
        assertEquals("""
                | kernel | threads | GB/s | streaming read GB/s (anchor) | ratio |
                |---|---|---|---|---|
                | fused | 1 | 13.4 | 26.8 | 0.50 |
                | composed | 1 | 3.4 | 26.8 | 0.13 |
                """, md);
    }

    @Test
    void missingNamesAreReported() throws Exception {
        RatioTable t = RatioTable.bandwidth().kernel("BiasGeluBench.fusd", 1);
        assertEquals(List.of("BiasGeluBench.fusd"), t.missing(results()));
    }

    @Test
    void gemmFlopsReadTheShape() {
        assertEquals(2.0 * 512 * 256 * 128, RatioTable.gemmFlops("512x256x128"));
        assertThrows(IllegalArgumentException.class, () -> RatioTable.gemmFlops("512x256"));
    }

    @Test
    void anchorsIncludeOnlyTheirOwnClass() {
        String p = BenchKit.Anchor.STREAMING_READ.includePattern();
        assertEquals(true, "dev.panthera.bench.kit.StreamingReadAnchor.streamSum".matches(p + ".*"));
        assertEquals(false, "dev.panthera.bench.kit.StreamingReadAnchorX.streamSum".matches(p + ".*"));
    }
}
