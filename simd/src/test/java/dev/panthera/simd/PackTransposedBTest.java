package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link GemmPacking#packB} of a transposed B (a Linear weight [out, in] read as Wᵀ) in F32, F16 and BF16 against the
 * sliver layout written out element by element: panel entry js·kc + p·NR + j holds B row jc + js + j at column pc + p
 * (a 16-bit value as {@link Float#float16ToFloat} or the BF16 bits over sixteen zero bits give it), and zero for the
 * rows past nc in the last sliver. Depths cross whole V×V blocks and their tail, row counts cross whole groups of V
 * rows and partial ones, and the panel starts at offsets into a padded B, so the register transpositions (from the
 * weight for F32, from the widened rows for 16 bits), the gather they leave the tail to, and the hand-over between
 * them are all covered; the 16-bit draws include infinities, NaNs and subnormals. The panel is filled with NaN first:
 * an entry that neither path wrote shows.
 */
class PackTransposedBTest {
    private static final int NR = PackedGemm.NR;

    @Property(tries = 300)
    void transposedPanelsHoldTheRowsOfB(
            @ForAll @IntRange(min = 1, max = 80) int nc,
            @ForAll @IntRange(min = 1, max = 90) int kc,
            @ForAll @IntRange(min = 0, max = 3) int jc,
            @ForAll @IntRange(min = 0, max = 5) int pc,
            @ForAll @IntRange(min = 0, max = 3) int pad,
            @ForAll @IntRange(min = 0, max = 7) int bOff,
            @ForAll("kinds") DType kind,
            @ForAll long seed) {
        int ldb = pc + kc + pad, rows = jc + nc;
        Random r = new Random(seed);
        int n = bOff + rows * ldb;
        float[] b = new float[n];
        short[] bits = new short[n];
        for (int i = 0; i < n; i++) {
            if (kind == DType.F32) {
                b[i] = (float) r.nextGaussian();
                continue;
            }
            // 16-bit: normal draws, and now and then any bit pattern (subnormals, infinities, NaNs)
            bits[i] = r.nextInt(8) == 0
                    ? (short) r.nextInt()
                    : kind == DType.F16
                            ? Float.floatToFloat16((float) r.nextGaussian())
                            : (short) (Float.floatToRawIntBits((float) r.nextGaussian()) >>> 16);
            b[i] = kind == DType.F16 ? Float.float16ToFloat(bits[i]) : Float.intBitsToFloat(bits[i] << 16);
        }
        int slivers = (nc + NR - 1) / NR;
        float[] want = new float[slivers * NR * kc];
        for (int js = 0; js < nc; js += NR)
            for (int p = 0; p < kc; p++)
                for (int j = 0; j < NR; j++)
                    want[js * kc + p * NR + j] = js + j < nc ? b[bOff + (jc + js + j) * ldb + pc + p] : 0f;
        float[] got = new float[want.length + 11];
        Arrays.fill(got, Float.NaN);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) kind.byteSize() * n);
            if (kind == DType.F32) MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_FLOAT, 0, n);
            else MemorySegment.copy(bits, 0, seg, ValueLayout.JAVA_SHORT, 0, n);
            GemmPacking.packB(kind, true, seg, bOff, ldb, pc, kc, jc, nc, got);
        }
        for (int i = 0; i < want.length; i++) {
            int js = i / (NR * kc) * NR, p = i % (NR * kc) / NR, j = i % NR;
            assertEquals(
                    Float.floatToRawIntBits(want[i]),
                    Float.floatToRawIntBits(got[i]),
                    kind + " nc " + nc + " kc " + kc + " jc " + jc + " pc " + pc + " ldb " + ldb + ": sliver " + js / NR
                            + " depth " + p + " column " + j);
        }
        for (int i = want.length; i < got.length; i++) assertEquals(Float.NaN, got[i], "written past the panel");
    }

    @Provide
    Arbitrary<DType> kinds() {
        return Arbitraries.of(DType.F32, DType.F16, DType.BF16);
    }
}
