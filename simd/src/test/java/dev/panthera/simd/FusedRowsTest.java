package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link FusedRows}' contract is the bits of the tensor ops it stands in for on this backend: {@code g.silu().mul(u)}
 * and {@code a.add(b)} over the same floats, element by element. The drawn rows run from 0 to 70 elements (every tail
 * of the 8- and 16-lane vectors, primes among them) at drawn element offsets, in heap and native segments, with the
 * output in place over the gate (as a quantized layer's SwiGLU writes it) or apart; the values are N(0, 1) times 1 or
 * 30 (so that the SiLU saturates at both ends) with ±∞, NaN, ±0 and subnormals mixed in. Independently of the
 * composition, silu(x)·u against a float64 loop: σ within 2⁻²³ + 2u relative (its exp and divide as
 * {@code SiluBackwardSimdTest} bounds them, u = 2⁻²⁴), then the products x·σ and ·u one rounding each, so
 * (2⁻²³ + 4u)·|exact| times 1.01, plus 2⁻¹⁴⁹ for a result in the subnormals.
 */
class FusedRowsTest {
    private static final float[] SPECIAL = {
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0f, -0f, Float.MIN_VALUE, -1e-40f, 88.5f, -104f
    };

    private static float[] draw(java.util.Random r, int n, boolean wide) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++)
            a[i] = r.nextInt(9) == 0 ? SPECIAL[r.nextInt(SPECIAL.length)] : (float) r.nextGaussian() * (wide ? 30 : 1);
        return a;
    }

    /** {@code a} at element {@code at} of a heap or native segment of {@code at + a.length + 3} floats. */
    private static MemorySegment place(Arena arena, boolean nativeSeg, float[] a, int at) {
        MemorySegment s = nativeSeg
                ? arena.allocate(4L * (at + a.length + 3), 4)
                : MemorySegment.ofArray(new float[at + a.length + 3]);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT, 4L * at, a.length);
        return s;
    }

    private static float[] read(MemorySegment s, int at, int n) {
        float[] a = new float[n];
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 4L * at, a, 0, n);
        return a;
    }

    private static float[] composed(float[] g, float[] u, boolean silu) {
        try (var use = Backends.use(new SimdBackend())) {
            Tensor tg = Tensor.of(g, g.length), tu = Tensor.of(u, u.length);
            return (silu ? tg.silu().mul(tu) : tg.add(tu)).toFloatArray();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sameBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++)
            assertEquals(
                    Float.floatToIntBits(want[i]),
                    Float.floatToIntBits(got[i]),
                    what + " element " + i + ": want " + want[i] + ", got " + got[i]);
    }

    @Property(tries = 200)
    void siluMulAndAddGiveTheBitsOfTheTensorOps(
            @ForAll @IntRange(min = 0, max = 70) int n,
            @ForAll @IntRange(min = 0, max = 19) int offset,
            @ForAll boolean nativeSeg,
            @ForAll boolean inPlace,
            @ForAll boolean wide,
            @ForAll long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] g = draw(r, n, wide), u = draw(r, n, wide);
        String what = "n=" + n + " offset=" + offset + (nativeSeg ? " native" : " heap") + (inPlace ? " in place" : "");
        try (Arena arena = Arena.ofConfined()) {
            for (boolean silu : new boolean[] {true, false}) {
                MemorySegment gs = place(arena, nativeSeg, g, offset), us = place(arena, nativeSeg, u, 2);
                MemorySegment ds = inPlace ? gs : place(arena, nativeSeg, new float[n], 1);
                int dO = inPlace ? offset : 1;
                if (silu) FusedRows.siluMul(gs, offset, us, 2, ds, dO, n);
                else FusedRows.add(gs, offset, us, 2, ds, dO, n);
                sameBits(composed(g, u, silu), read(ds, dO, n), (silu ? "siluMul " : "add ") + what);
                if (!inPlace) sameBits(g, read(gs, offset, n), "the gate row left as it was, " + what);
            }
        }
    }

    @Property(tries = 100)
    void siluMulIsWithinItsBoundOfAFloat64Loop(@ForAll @IntRange(min = 1, max = 70) int n, @ForAll long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] g = new float[n], u = new float[n], out = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) r.nextGaussian() * 12;
            u[i] = (float) r.nextGaussian();
        }
        MemorySegment os = MemorySegment.ofArray(out);
        FusedRows.siluMul(MemorySegment.ofArray(g), 0, MemorySegment.ofArray(u), 0, os, 0, n);
        for (int i = 0; i < n; i++) {
            double want = g[i] / (1 + Math.exp(-(double) g[i])) * u[i];
            double bound = 1.01 * (0x1p-23 + 4 * 0x1p-24) * Math.abs(want) + 0x1p-149;
            assertTrue(
                    Math.abs(out[i] - want) <= bound,
                    "g=" + g[i] + " u=" + u[i] + ": " + out[i] + ", want " + want + " ± " + bound);
        }
    }

    @Test
    void aRowPastItsSegmentIsRefusedNamingTheElements() {
        MemorySegment s = MemorySegment.ofArray(new float[10]);
        var e = assertThrows(IndexOutOfBoundsException.class, () -> FusedRows.siluMul(s, 4, s, 0, s, 0, 7));
        assertTrue(
                e.getMessage().contains("FusedRows.siluMul: elements [4, 11) of a segment of 10 floats"),
                e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> FusedRows.add(s, 0, s, 0, s, 5, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> FusedRows.add(s, -1, s, 0, s, 0, 1));
    }
}
