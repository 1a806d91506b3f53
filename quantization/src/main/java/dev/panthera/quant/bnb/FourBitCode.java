package dev.panthera.quant.bnb;

/**
 * The two 4-bit codes of bitsandbytes ({@code get_4bit_type}): a code index 0..15 stands for a value in [-1, 1] that
 * is multiplied by the block's absmax.
 */
public enum FourBitCode {
    /** NormalFloat4 (QLoRA): equal-area bins of N(0, 1), normalised to [-1, 1]; index 7 is 0. */
    NF4(new float[] {
        -1.0f,
        -0.6961928009986877f,
        -0.5250730514526367f,
        -0.39491748809814453f,
        -0.28444138169288635f,
        -0.18477343022823334f,
        -0.09105003625154495f,
        0.0f,
        0.07958029955625534f,
        0.16093020141124725f,
        0.24611230194568634f,
        0.33791524171829224f,
        0.44070982933044434f,
        0.5626170039176941f,
        0.7229568362236023f,
        1.0f,
    }),
    /**
     * FP4 (1 sign, 2 exponent, 1 mantissa bit): bitsandbytes lists {0, 0.0625, 8, 12, 4, 6, 2, 3} and their
     * negatives (bit 3 is the sign) and divides by the largest, 12, in float32. Index 8 is +0: bitsandbytes writes it
     * as Python's integer {@code -0}, which is 0, so the quant_map its checkpoints carry (and its torch backends decode
     * with) holds +0.0 there; its CUDA kernel, which applies the sign bit, gives -0.0. Both are zero in every product.
     */
    FP4(new float[] {
        0f / 12f,
        0.0625f / 12f,
        8f / 12f,
        12f / 12f,
        4f / 12f,
        6f / 12f,
        2f / 12f,
        3f / 12f,
        0f / 12f,
        -0.0625f / 12f,
        -8f / 12f,
        -12f / 12f,
        -4f / 12f,
        -6f / 12f,
        -2f / 12f,
        -3f / 12f,
    });

    private final float[] code;
    /** Indices of the non-negative values (and NF4's negatives) in increasing order, for nearest-value search. */
    private final int[] sorted;
    /** sortedMid[k]: the midpoint between sorted values k and k+1; a value above it is nearer to k+1 or beyond. */
    private final float[] sortedMid;

    FourBitCode(float[] code) {
        this.code = code;
        // NF4 is searched over all 16 values; FP4 over its 8 magnitudes (indices 0..7), the sign goes to bit 3
        int count = code[1] > 0 ? 8 : 16;
        Integer[] idx = new Integer[count];
        for (int i = 0; i < count; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (a, b) -> Float.compare(code[a], code[b]));
        sorted = new int[count];
        sortedMid = new float[count - 1];
        for (int i = 0; i < count; i++) sorted[i] = idx[i];
        for (int i = 0; i + 1 < count; i++) sortedMid[i] = (code[sorted[i]] + code[sorted[i + 1]]) / 2;
    }

    /** The value of code {@code index} (0..15). */
    public float value(int index) {
        return code[index];
    }

    /**
     * The index whose value is nearest to {@code scaled} (a weight over its block absmax, in [-1, 1]), with the
     * decision rule of bitsandbytes' CUDA quantizers ({@code dQuantizeNF4}, {@code dQuantizeFP4}): a value strictly
     * above the midpoint of two neighbours goes to the upper one. FP4 takes the sign bit from the sign of
     * {@code scaled} (so a small negative value becomes -0, index 8) and the nearest magnitude.
     */
    public int nearest(float scaled) {
        if (this == FP4) {
            int sign = scaled < 0 ? 8 : 0;
            return sign | search(Math.abs(scaled));
        }
        return search(scaled);
    }

    private int search(float v) {
        int k = 0;
        while (k < sortedMid.length && v > sortedMid[k]) k++;
        return sorted[k];
    }
}
