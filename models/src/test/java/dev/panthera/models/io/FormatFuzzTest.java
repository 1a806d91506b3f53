package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
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
    void seedsAreValidAndMutationsReachBothOutcomes() {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            FormatFuzz.Counts c = FormatFuzz.run(f, 7, 300);
            assertTrue(c.rejected() > 0, f + ": no mutation was rejected, the fuzzer is not reaching the checks");
            assertTrue(c.accepted() > 0, f + ": every mutation was rejected, the fuzzer never reaches the tensors");
        }
    }

    @Test
    void everyTruncationIsRejected() {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            byte[] seed = FormatFuzz.seed(f);
            for (int n = 0; n < seed.length; n++) {
                assertFalse(
                        FormatFuzz.check(f, java.util.Arrays.copyOf(seed, n), n),
                        f + ": the first " + n + " of " + seed.length + " bytes were accepted");
            }
        }
    }

    @Test
    void duplicatedNamesAreRejected() {
        for (FormatFuzz.Format f :
                new FormatFuzz.Format[] {FormatFuzz.Format.SAFETENSORS, FormatFuzz.Format.GGUF, FormatFuzz.Format.ONNX
                }) {
            assertFalse(FormatFuzz.check(f, FormatFuzz.duplicated(f), -1), f + ": a duplicated name was accepted");
        }
    }

    @Property(tries = 200)
    void hugeDimensionsAndLengthsAreRejected(@ForAll long seed) {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            byte[] file = FormatFuzz.huge(f, new Random(seed));
            assertFalse(FormatFuzz.check(f, file, seed), f + " seed " + seed + ": a huge dimension was accepted");
        }
    }

    @Test
    void longRun() {
        String n = System.getProperty("panthera.fuzz.n");
        Assumptions.assumeTrue(n != null, "skipped: the long fuzz run needs -Dpanthera.fuzz.n=100000");
        FormatFuzz.main(new String[] {n});
    }
}
