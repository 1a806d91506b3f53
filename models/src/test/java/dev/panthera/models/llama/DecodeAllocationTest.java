package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.tokenizer.TestFiles;
import dev.panthera.tensor.MemoryPool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A decode step in steady state allocates no native memory: between a step after warm-up and the last step of a
 * generation, the host pool's counters of fresh native blocks and of GC-managed (unpooled) allocations do not move.
 * The cache grows by one position per step, so a buffer sized by the sequence length would show up here as new
 * size classes.
 */
class DecodeAllocationTest {
    @Test
    void decodeStepsAllocateNoNativeMemoryAfterWarmUp() throws Exception {
        assertSteadyDecode(GeneratorTest.GQA);
    }

    /** The same for stories260K (llama2.c checkpoint in the shared data folder): the model of the decode benchmarks. */
    @Test
    void stories260KDecodeStepsAllocateNoNativeMemoryAfterWarmUp() throws Exception {
        Path bin = TestFiles.sharedData("stories260K.bin");
        TestFiles.require(bin);
        assertSteadyDecode(bin);
    }

    private static void assertSteadyDecode(Path model) throws Exception {
        try (LlamaModel m = LlamaModel.load(model)) {
            int steps = Math.min(40, m.config().maxSeq() - GeneratorTest.PROMPT.length - 1), warm = 4;
            List<MemoryPool.Stats> at = new ArrayList<>();
            new Generator(m)
                    .generate(GeneratorTest.PROMPT, SamplingParams.greedy(steps).withIgnoreEos(true), s -> {
                        if (s.index() == warm || s.index() == steps - 1)
                            at.add(MemoryPool.host().stats());
                        return true;
                    });
            assertEquals(2, at.size(), "the listener saw the warm-up step and the last step");
            MemoryPool.Stats a = at.get(0), b = at.get(1);
            assertEquals(
                    a.nativeAllocations(),
                    b.nativeAllocations(),
                    "native blocks allocated during " + (steps - 1 - warm) + " decode steps: " + a + " → " + b);
            assertEquals(
                    a.gcManagedAllocations(),
                    b.gcManagedAllocations(),
                    "unpooled allocations during " + (steps - 1 - warm) + " decode steps: " + a + " → " + b);
            assertTrue(b.cacheHits() > a.cacheHits(), "the steps took their blocks from the pool");
        }
    }
}
