package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The short-sliver kernels ({@link GemmKernels#kernelRows2}, {@link GemmKernels#kernelRows4}) against the 6-row
 * kernel on the same packed A and B: each of the first mr tile rows must come out bit for bit as the 6-row kernel's
 * (the same products summed in the same order), storing into C and adding to it, with any column count up to NR.
 * The sliver's padding rows hold values here (not zeros), so a short kernel that read or wrote a row past mr would
 * show. The whole products through them are checked against float64 in {@link SgemmTest}.
 */
class GemmKernelsTest {
    private static final int MR = PackedGemm.MR, NR = PackedGemm.NR;

    @Property(tries = 200)
    void shortSliversGiveTheSixRowKernelsBits(
            @ForAll @IntRange(min = 1, max = 4) int mr,
            @ForAll @IntRange(min = 1, max = 300) int kc,
            @ForAll @IntRange(min = 1, max = 64) int nrWanted,
            @ForAll boolean store,
            @ForAll long seed) {
        int nr = Math.min(NR, nrWanted), ldc = NR + 3;
        Random r = new Random(seed);
        float[] ap = new float[MR * kc + 5], bp = new float[NR * kc + 7];
        for (int i = 0; i < ap.length; i++) ap[i] = (float) r.nextGaussian();
        for (int i = 0; i < bp.length; i++) bp[i] = (float) r.nextGaussian();
        int ao = 5, bo = 7;
        float[] before = new float[MR * ldc];
        for (int i = 0; i < before.length; i++) before[i] = (float) r.nextGaussian();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment want = arena.allocate(4L * before.length), got = arena.allocate(4L * before.length);
            MemorySegment.copy(before, 0, want, ValueLayout.JAVA_FLOAT, 0, before.length);
            MemorySegment.copy(before, 0, got, ValueLayout.JAVA_FLOAT, 0, before.length);
            GemmKernels.kernel(kc, ap, ao, bp, bo, want, 0, ldc, mr, nr, store, new float[PackedGemm.ROWS * NR]);
            if (mr <= 2) GemmKernels.kernelRows2(kc, ap, ao, bp, bo, got, 0, ldc, mr, nr, store, new float[MR * NR]);
            else GemmKernels.kernelRows4(kc, ap, ao, bp, bo, got, 0, ldc, mr, nr, store, new float[MR * NR]);
            for (int i = 0; i < before.length; i++) {
                float w = want.getAtIndex(ValueLayout.JAVA_FLOAT, i), g = got.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertEquals(
                        Float.floatToRawIntBits(w),
                        Float.floatToRawIntBits(g),
                        "mr " + mr + ", kc " + kc + ", nr " + nr + ", store " + store + ": C element " + i + " (row "
                                + i / ldc + ", column " + i % ldc + "): 6-row kernel " + w + ", short kernel " + g);
            }
        }
    }
}
