package dev.panthera.quant.gptq;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.testing.SizesFirst;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** The GPTQ checkpoint's bit packing: round trips, and the word layout AutoGPTQ's pack loops give. */
class GptqPackingTest {

    /** The bit width, the row and column counts (whole int32 words) and the group size (-1: one group). */
    record Dims(int bits, int out, int in, int groupSize) {}

    /**
     * A weight of those dimensions: codes in [0, maxq], F16-exact scales in [0, 0.1], v1 zero points in [1, maxq],
     * any group index per column, either symmetry. Shrinks toward codes 0, scales 0, zero points 1, group 0.
     */
    private static Arbitrary<GptqWeight> weights(Dims d) {
        int groups = GptqWeight.groups(d.in(), d.groupSize()), maxQ = (1 << d.bits()) - 1;
        Arbitrary<byte[]> q = Arbitraries.integers()
                .between(0, maxQ) // 8-bit codes go up to 255: drawn as ints, stored as unsigned bytes
                .list()
                .ofSize(d.out() * d.in())
                .map(l -> {
                    byte[] b = new byte[l.size()];
                    for (int k = 0; k < b.length; k++) b[k] = (byte) (int) l.get(k);
                    return b;
                });
        Arbitrary<float[]> scales = Arbitraries.doubles()
                .between(0, 0.1)
                .map(x -> Float.float16ToFloat(Float.floatToFloat16(x.floatValue())))
                .list()
                .ofSize(groups * d.out())
                .map(l -> {
                    float[] f = new float[l.size()];
                    for (int i = 0; i < f.length; i++) f[i] = l.get(i);
                    return f;
                });
        Arbitrary<int[]> zeros =
                Arbitraries.integers().between(1, maxQ).array(int[].class).ofSize(groups * d.out());
        Arbitrary<int[]> gIdx =
                Arbitraries.integers().between(0, groups - 1).array(int[].class).ofSize(d.in());
        return Combinators.combine(q, scales, zeros, gIdx, Arbitraries.of(false, true))
                .as((qq, ss, zz, gg, sym) ->
                        new GptqWeight("w", d.out(), d.in(), d.bits(), d.groupSize(), sym, qq, ss, zz, gg));
    }

    /**
     * Bit widths 2, 3, 4, 8 and 0 to 4 words of rows and 1 to 4 of columns (the smallest counts that fill whole int32
     * words: 32/bits values, or 32 for 3 bits), grouped by 32 or not, drawn before the weight's values, so a failure
     * shrinks to a small weight first.
     */
    @Provide
    Arbitrary<GptqWeight> packable() {
        Arbitrary<Dims> dims = Combinators.combine(
                        Arbitraries.of(2, 3, 4, 8),
                        Arbitraries.integers().between(0, 4),
                        Arbitraries.integers().between(0, 4),
                        Arbitraries.of(false, true))
                .as((bits, inWords, outWords, grouped) -> {
                    int unit = bits == 3 ? 32 : 32 / bits;
                    return new Dims(bits, outWords * unit, Math.max(1, inWords) * unit, grouped ? 32 : -1);
                });
        return SizesFirst.flatMap(dims, GptqPackingTest::weights);
    }

    /** One group, every code 0, scales 1, zero points 1: valid, whatever the shape. */
    private static GptqWeight plain(int out, int in, int bits) {
        int[] ones = new int[out];
        java.util.Arrays.fill(ones, 1);
        float[] scales = new float[out];
        java.util.Arrays.fill(scales, 1f);
        return new GptqWeight("w", out, in, bits, -1, false, new byte[out * in], scales, ones, new int[in]);
    }

    @Property(tries = 80)
    void packThenUnpackIsTheIdentity(@ForAll("packable") GptqWeight w) {
        int out = w.out(), in = w.in(), bits = w.bits();
        int[] qweight = GptqPacking.qweight(w), qzeros = GptqPacking.qzerosV1(w);
        assertEquals(in * bits / 32 * out, qweight.length);
        assertEquals(w.groups() * (out * bits / 32), qzeros.length);
        GptqWeight back =
                GptqPacking.fromV1("w", out, in, bits, w.groupSize(), w.sym(), qweight, qzeros, w.scales(), w.gIdx());
        assertEquals(w, back);
    }

    /**
     * gptq_v2 stores the zero points themselves where v1 stores zero − 1: the weight with every zero point one lower
     * packs to v1's words, and its v2 words unpack to it.
     */
    @Property(tries = 80)
    void v2StoresTheZeroPointsThatV1StoresMinusOne(@ForAll("packable") GptqWeight w) {
        int[] lower = w.zeros().clone();
        for (int i = 0; i < lower.length; i++) lower[i]--;
        var v = new GptqWeight(
                "w", w.out(), w.in(), w.bits(), w.groupSize(), w.sym(), w.q().clone(), w.scales(), lower, w.gIdx());
        int[] qzeros = GptqPacking.qzerosV2(v);
        assertArrayEquals(GptqPacking.qzerosV1(w), qzeros);
        GptqWeight back = GptqPacking.fromV2(
                "w",
                v.out(),
                v.in(),
                v.bits(),
                v.groupSize(),
                v.sym(),
                GptqPacking.qweight(v),
                qzeros,
                v.scales(),
                v.gIdx());
        assertEquals(v, back);
    }

    /** 4 bits: word [i, c] holds rows 8i..8i+7 of column c, row 8i in the lowest nibble (AutoGPTQ's pack). */
    @Test
    void fourBitWordLayout() {
        int out = 1, in = 8;
        byte[] q = {1, 2, 3, 4, 5, 6, 7, 8};
        var w = new GptqWeight("w", out, in, 4, -1, false, q, new float[] {1}, new int[] {1}, new int[in]);
        assertArrayEquals(new int[] {0x87654321}, GptqPacking.qweight(w));
    }

    /**
     * 3 bits: 32 rows fill three words; rows 0..9 at bits 0..29 of word 0, row 10's low two bits at 30..31 and its
     * high bit at bit 0 of word 1, rows 11..20 from bit 1, row 21 split 1 + 2 bits, rows 22..31 from bit 2 of word 2.
     */
    @Test
    void threeBitWordLayout() {
        int in = 32;
        byte[] q = new byte[in];
        q[10] = 0b101; // low bits 01 -> word0 bit 30; high bit 1 -> word1 bit 0
        q[21] = 0b110; // low bit 0 -> word1 bit 31; high bits 11 -> word2 bits 0..1
        q[31] = 0b111; // word2 bits 29..31
        var w = new GptqWeight("w", 1, in, 3, -1, false, q, new float[] {1}, new int[] {1}, new int[in]);
        assertArrayEquals(new int[] {1 << 30, 1, 0b11 | (0b111 << 29)}, GptqPacking.qweight(w));
    }

    @Test
    void shapesThatDoNotFillWordsAndZeroPointZeroAreRefused() {
        var w = plain(8, 40, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> GptqPacking.qweight(w));
        assertTrue(e.getMessage().contains("40 input features at 3 bits"), e.getMessage());
        var z = plain(8, 32, 4);
        z.zeros()[3] = 0;
        var e2 = assertThrows(IllegalArgumentException.class, () -> GptqPacking.qzerosV1(z));
        assertTrue(e2.getMessage().contains("zero point 0"), e2.getMessage());
        GptqPacking.qzerosV2(z); // v2 holds a zero point of 0, not one of 2^bits
        z.zeros()[3] = 16;
        var e4 = assertThrows(IllegalArgumentException.class, () -> GptqPacking.qzerosV2(z));
        assertTrue(e4.getMessage().contains("v2") && e4.getMessage().contains("zero point 16"), e4.getMessage());
        var e3 = assertThrows(
                IllegalArgumentException.class,
                () -> GptqPacking.fromV1(
                        "m.q", 8, 32, 4, -1, false, new int[3], new int[1], new float[8], new int[32]));
        assertTrue(e3.getMessage().contains("m.q") && e3.getMessage().contains("qweight"), e3.getMessage());
    }
}
