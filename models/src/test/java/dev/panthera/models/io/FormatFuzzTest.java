package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A suite-sized sample of {@link FormatFuzz}: 1,500 mutated files per format. The long run (100,000 per format) is
 * {@code ./panthera mvn -q -pl models verify -Dtest=FormatFuzzTest -Dpanthera.fuzz.n=100000}.
 */
class FormatFuzzTest {
    private static boolean check(FormatFuzz.Format f, long seed) {
        return FormatFuzz.check(f, FormatFuzz.mutate(FormatFuzz.seed(f), new Random(seed)), seed);
    }

    @Property(tries = 1500)
    void safetensors(@ForAll long seed) {
        check(FormatFuzz.Format.SAFETENSORS, seed);
    }

    @Property(tries = 1500)
    void gguf(@ForAll long seed) {
        check(FormatFuzz.Format.GGUF, seed);
    }

    @Property(tries = 1500)
    void onnx(@ForAll long seed) {
        check(FormatFuzz.Format.ONNX, seed);
    }

    @Property(tries = 1500)
    void llama2c(@ForAll long seed) {
        check(FormatFuzz.Format.LLAMA2C, seed);
    }

    @Test
    void seedsAreValidAndMutationsAreMostlyRejected() {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            FormatFuzz.Counts c = FormatFuzz.run(f, 7, 300);
            assertTrue(c.rejected() > 0, f + ": no mutation was rejected, the fuzzer is not reaching the checks");
        }
    }

    @Test
    void longRun() {
        String n = System.getProperty("panthera.fuzz.n");
        Assumptions.assumeTrue(n != null, "skipped: the long fuzz run needs -Dpanthera.fuzz.n=100000");
        FormatFuzz.main(new String[] {n});
    }
}
