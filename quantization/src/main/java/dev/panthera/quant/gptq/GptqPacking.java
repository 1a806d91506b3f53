package dev.panthera.quant.gptq;

/**
 * The integer arrays of AutoGPTQ's checkpoint layout ("gptq" v1, the one transformers' GPTQ integration loads):
 *
 * <ul>
 *   <li>qweight int32 [in·bits/32, out]: down each output column, the q of input rows 0, 1, 2, … as one little-endian
 *       bit stream of {@code bits}-bit fields in consecutive int32 words (q of row k at bit bits·k of the stream; for
 *       2, 4 and 8 bits a word holds 32/bits whole fields, lowest bits first; for 3 bits 32 rows fill 3 words and the
 *       fields of rows 10 and 21 straddle a word boundary, exactly AutoGPTQ's pack loop);
 *   <li>qzeros int32 [groups, out·bits/32]: each group's zero points along the output dimension, packed the same way
 *       along the row, storing zero − 1 (the v1 convention; readers add 1 back after masking, so a zero point of 0
 *       cannot be written: it would read back as 2^bits);
 *   <li>scales float16 [groups, out] and g_idx int32 [in] are stored as they are.
 * </ul>
 *
 * <p>GPT-QModel's "gptq_v2" layout (what transformers saves for a model it quantized through optimum and GPT-QModel)
 * is the same except that qzeros store the zero points themselves, 0 to 2^bits − 1.
 */
public final class GptqPacking {
    private GptqPacking() {}

    /** qweight [in·bits/32, out], row-major. */
    public static int[] qweight(GptqWeight w) {
        int bits = w.bits(), out = w.out(), in = w.in();
        int rows = packedLength(w.name(), "input features", in, bits);
        int[] packed = new int[Math.multiplyExact(rows, out)];
        for (int c = 0; c < out; c++) {
            for (int k = 0; k < in; k++) put(packed, c, out, k, bits, w.q(c, k));
        }
        return packed;
    }

    /** qzeros [groups, out·bits/32] storing zero − 1; a zero point of 0 is refused (v1 cannot hold it). */
    public static int[] qzerosV1(GptqWeight w) {
        return qzeros(w, 1);
    }

    /** qzeros [groups, out·bits/32] storing the zero points as they are (gptq_v2). */
    public static int[] qzerosV2(GptqWeight w) {
        return qzeros(w, 0);
    }

    private static int[] qzeros(GptqWeight w, int offset) {
        int bits = w.bits(), out = w.out(), groups = w.groups();
        int cols = packedLength(w.name(), "output features", out, bits);
        int[] packed = new int[Math.multiplyExact(groups, cols)];
        int mask = (1 << bits) - 1;
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < out; r++) {
                int z = w.zeros()[g * out + r];
                if (z - offset < 0 || z - offset > mask)
                    throw new IllegalArgumentException("GPTQ " + (offset == 1 ? "v1" : "v2") + " checkpoint " + w.name()
                            + ": zero point " + z + " of group " + g + ", output " + r + " cannot be stored"
                            + (offset == 1 ? " as zero - 1" : "") + " in " + bits + " bits");
                put(packed, g * cols, 1, r, bits, z - offset);
            }
        }
        return packed;
    }

    /**
     * The weight a v1 checkpoint's arrays describe (zero points = stored + 1). Shapes are checked against [out, in],
     * the bits and the group size, and every g_idx against the group count.
     */
    public static GptqWeight fromV1(
            String name,
            int out,
            int in,
            int bits,
            int groupSize,
            boolean sym,
            int[] qweight,
            int[] qzeros,
            float[] scales,
            int[] gIdx) {
        return from(name, out, in, bits, groupSize, sym, qweight, qzeros, scales, gIdx, 1);
    }

    /** {@link #fromV1} for a gptq_v2 checkpoint (zero points = stored). */
    public static GptqWeight fromV2(
            String name,
            int out,
            int in,
            int bits,
            int groupSize,
            boolean sym,
            int[] qweight,
            int[] qzeros,
            float[] scales,
            int[] gIdx) {
        return from(name, out, in, bits, groupSize, sym, qweight, qzeros, scales, gIdx, 0);
    }

    private static GptqWeight from(
            String name,
            int out,
            int in,
            int bits,
            int groupSize,
            boolean sym,
            int[] qweight,
            int[] qzeros,
            float[] scales,
            int[] gIdx,
            int zeroOffset) {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
            throw new IllegalArgumentException("GPTQ checkpoint " + name + ": bits must be 2, 3, 4 or 8, got " + bits);
        int rows = packedLength(name, "input features", in, bits),
                cols = packedLength(name, "output features", out, bits);
        int groups = GptqWeight.groups(in, groupSize);
        if (qweight.length != (long) rows * out)
            throw new IllegalArgumentException("GPTQ checkpoint " + name + ": qweight has " + qweight.length
                    + " int32, [" + rows + ", " + out + "] expected");
        if (qzeros.length != (long) groups * cols)
            throw new IllegalArgumentException("GPTQ checkpoint " + name + ": qzeros has " + qzeros.length + " int32, ["
                    + groups + ", " + cols + "] expected");
        byte[] q = new byte[Math.multiplyExact(out, in)];
        for (int c = 0; c < out; c++) {
            for (int k = 0; k < in; k++) q[c * in + k] = (byte) get(qweight, c, out, k, bits);
        }
        int[] zeros = new int[groups * out];
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < out; r++) zeros[g * out + r] = get(qzeros, g * cols, 1, r, bits) + zeroOffset;
        }
        return new GptqWeight(name, out, in, bits, groupSize, sym, q, scales, zeros, gIdx);
    }

    private static int packedLength(String name, String what, int n, int bits) {
        if ((long) n * bits % 32 != 0)
            throw new IllegalArgumentException("GPTQ checkpoint " + name + ": " + n + " " + what + " at " + bits
                    + " bits do not fill whole int32 words (" + n + "·" + bits + " is not a multiple of 32)");
        return n * bits / 32;
    }

    /**
     * Field k of the bit stream whose words sit at {@code base + i·stride}: value {@code v} at bit bits·k, possibly
     * straddling two words.
     */
    private static void put(int[] words, int base, int stride, int k, int bits, int v) {
        long bit = (long) k * bits;
        int word = (int) (bit >>> 5), shift = (int) (bit & 31);
        words[base + word * stride] |= v << shift;
        if (shift + bits > 32) words[base + (word + 1) * stride] |= v >>> (32 - shift);
    }

    private static int get(int[] words, int base, int stride, int k, int bits) {
        long bit = (long) k * bits;
        int word = (int) (bit >>> 5), shift = (int) (bit & 31);
        long v = (words[base + word * stride] & 0xFFFFFFFFL) >>> shift;
        if (shift + bits > 32) v |= (words[base + (word + 1) * stride] & 0xFFFFFFFFL) << (32 - shift);
        return (int) (v & ((1 << bits) - 1));
    }
}
