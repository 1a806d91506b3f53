package dev.panthera.quant.gptq;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The GPTQ checkpoint's bit packing: round trips, and the word layout AutoGPTQ's pack loops give. */
class GptqPackingTest {

    static GptqWeight random(Random r, int out, int in, int bits, int groupSize) {
        int groups = GptqWeight.groups(in, groupSize), maxQ = (1 << bits) - 1;
        byte[] q = new byte[out * in];
        for (int i = 0; i < q.length; i++) q[i] = (byte) r.nextInt(maxQ + 1);
        float[] s = new float[groups * out];
        int[] z = new int[groups * out];
        for (int i = 0; i < s.length; i++) {
            s[i] = Float.float16ToFloat(Float.floatToFloat16((float) (r.nextDouble() * 0.1)));
            z[i] = 1 + r.nextInt(maxQ); // v1 holds zero points 1..maxq
        }
        int[] g = new int[in];
        for (int c = 0; c < in; c++) g[c] = r.nextInt(groups);
        return new GptqWeight("w", out, in, bits, groupSize, r.nextBoolean(), q, s, z, g);
    }

    @Property(tries = 80)
    void packThenUnpackIsTheIdentity(
            @ForAll @IntRange(min = 0, max = 3) int bitsIdx,
            @ForAll @IntRange(min = 0, max = 4) int inWords,
            @ForAll @IntRange(min = 0, max = 4) int outWords,
            @ForAll @IntRange(min = 0, max = 1) int grouped,
            @ForAll long seed) {
        int bits = new int[] {2, 3, 4, 8}[bitsIdx];
        // the smallest counts that fill whole int32 words: 32/bits values, or 32 for 3 bits
        int unit = bits == 3 ? 32 : 32 / bits;
        int in = Math.max(1, inWords) * unit, out = outWords * unit;
        GptqWeight w = random(new Random(seed), out, in, bits, grouped == 1 ? 32 : -1);
        int[] qweight = GptqPacking.qweight(w), qzeros = GptqPacking.qzerosV1(w);
        assertEquals(in * bits / 32 * out, qweight.length);
        assertEquals(w.groups() * (out * bits / 32), qzeros.length);
        GptqWeight back =
                GptqPacking.fromV1("w", out, in, bits, w.groupSize(), w.sym(), qweight, qzeros, w.scales(), w.gIdx());
        assertEquals(w, back);
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
        Random r = new Random(1);
        var w = random(r, 8, 40, 3, -1);
        var e = assertThrows(IllegalArgumentException.class, () -> GptqPacking.qweight(w));
        assertTrue(e.getMessage().contains("40 input features at 3 bits"), e.getMessage());
        var z = random(r, 8, 32, 4, -1);
        z.zeros()[3] = 0;
        var e2 = assertThrows(IllegalArgumentException.class, () -> GptqPacking.qzerosV1(z));
        assertTrue(e2.getMessage().contains("zero point 0"), e2.getMessage());
        var e3 = assertThrows(
                IllegalArgumentException.class,
                () -> GptqPacking.fromV1(
                        "m.q", 8, 32, 4, -1, false, new int[3], new int[1], new float[8], new int[32]));
        assertTrue(e3.getMessage().contains("m.q") && e3.getMessage().contains("qweight"), e3.getMessage());
    }
}
