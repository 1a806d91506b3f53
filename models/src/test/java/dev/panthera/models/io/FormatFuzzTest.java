package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A suite-sized sample of {@link FormatFuzz}: 1,500 mutated files per format, each made by a jqwik-drawn list of one
 * to four {@link ByteEdit}s, so a failure shrinks to the fewest, simplest edits. Each format's property also requires
 * both outcomes among its tries (some files rejected, some accepted), else the fuzzer is not reaching the checks or
 * never reaches the tensors. The long run (100,000 per format) is {@code ./panthera mvn -q -pl models verify
 * -Dtest=FormatFuzzTest -Dpanthera.fuzz.n=100000}.
 */
class FormatFuzzTest {
    @Provide
    Arbitrary<List<ByteEdit>> edits() {
        return ByteEdit.edits();
    }

    private static void check(FormatFuzz.Format f, List<ByteEdit> edits) {
        boolean accepted = FormatFuzz.check(f, ByteEdit.apply(FormatFuzz.seed(f), edits), "edits " + edits);
        String label = f + " outcome";
        Statistics.label(label).collect(accepted ? "accepted" : "rejected");
        Statistics.label(label).coverage(c -> {
            c.check("rejected").count((Integer n) -> {
                assertTrue(n > 0, f + ": no mutation was rejected, the fuzzer is not reaching the checks");
            });
            c.check("accepted").count((Integer n) -> {
                assertTrue(n > 0, f + ": every mutation was rejected, the fuzzer never reaches the tensors");
            });
        });
    }

    @Property(tries = 1500)
    void safetensors(@ForAll("edits") List<ByteEdit> edits) {
        check(FormatFuzz.Format.SAFETENSORS, edits);
    }

    @Property(tries = 1500)
    void gguf(@ForAll("edits") List<ByteEdit> edits) {
        check(FormatFuzz.Format.GGUF, edits);
    }

    @Property(tries = 1500)
    void onnx(@ForAll("edits") List<ByteEdit> edits) {
        check(FormatFuzz.Format.ONNX, edits);
    }

    @Property(tries = 1500)
    void llama2c(@ForAll("edits") List<ByteEdit> edits) {
        check(FormatFuzz.Format.LLAMA2C, edits);
    }

    /**
     * The edit a run of {@link #gguf} found (seed 2075088994189455437): tensor 'a''s type field plus 25 makes it I16,
     * a legal GGUF type that has no tensor dtype. The file is accepted; the tensor is read through its blocks, and
     * {@code tensor()} refuses it by name (not a format error, so never a rejection).
     */
    @Test
    void aGgufTensorRetypedToI16IsAcceptedAndReadThroughItsBlocks() {
        ByteEdit i16 = new ByteEdit.Field(8, 29824, false, true, 25);
        byte[] file = ByteEdit.apply(FormatFuzz.seed(FormatFuzz.Format.GGUF), List.of(i16));
        assertTrue(FormatFuzz.check(FormatFuzz.Format.GGUF, file, "tensor a as I16"));
    }

    @Test
    void unmutatedSeedFilesAreAccepted() {
        for (FormatFuzz.Format f : FormatFuzz.Format.values())
            assertTrue(FormatFuzz.check(f, FormatFuzz.seed(f), "unmutated"), f + ": the unmutated seed is rejected");
    }

    @Test
    void everyTruncationIsRejected() {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            byte[] seed = FormatFuzz.seed(f);
            for (int n = 0; n < seed.length; n++) {
                assertFalse(
                        FormatFuzz.check(f, java.util.Arrays.copyOf(seed, n), "truncated to " + n),
                        f + ": the first " + n + " of " + seed.length + " bytes were accepted");
            }
        }
    }

    @Test
    void duplicatedNamesAreRejected() {
        for (FormatFuzz.Format f :
                new FormatFuzz.Format[] {FormatFuzz.Format.SAFETENSORS, FormatFuzz.Format.GGUF, FormatFuzz.Format.ONNX
                }) {
            assertFalse(
                    FormatFuzz.check(f, FormatFuzz.duplicated(f), "duplicated name"),
                    f + ": a duplicated name was accepted");
        }
    }

    @Provide
    Arbitrary<Long> huge() {
        return Arbitraries.of(java.util.Arrays.stream(FormatFuzz.HUGE).boxed().toList());
    }

    /**
     * Every huge value at every place {@link FormatFuzz#huge} sets it (nine shape entries in the safetensors seed, two
     * GGUF dimensions, seven llama2.c header fields; {@code which} is taken modulo that count): 7 × 9 cases, fewer
     * than the tries, so jqwik runs them all.
     */
    @Property(tries = 200)
    void hugeDimensionsAndLengthsAreRejected(@ForAll("huge") long v, @ForAll @IntRange(min = 0, max = 8) int which) {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            byte[] file = FormatFuzz.huge(f, v, which);
            String what = "dimension " + v + " at place " + which;
            assertFalse(FormatFuzz.check(f, file, what), f + " " + what + ": a huge dimension was accepted");
        }
    }

    @Test
    void longRun() {
        String n = System.getProperty("panthera.fuzz.n");
        Assumptions.assumeTrue(n != null, "skipped: the long fuzz run needs -Dpanthera.fuzz.n=100000");
        FormatFuzz.main(new String[] {n});
    }
}
