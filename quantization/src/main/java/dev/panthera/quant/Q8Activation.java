package dev.panthera.quant;

import java.util.Arrays;

/**
 * One F32 activation row quantized to 8 bits once per token, as llama.cpp's CPU backend does before its integer dots:
 * in blocks of 32 like {@code block_q8_0} (for Q8_0 and Q4_0 weights) or in super-blocks of 256 like
 * {@code block_q8_K} with the sums of each 16 quants (for the K-quants, whose mins multiply those sums). The quants are
 * kept as bytes (ggml's {@code qs}, for tests and byte comparisons) and widened once to int lanes ({@link #wide}),
 * which every weight row's dot then reads without converting them again.
 *
 * <p>Rounding follows the functions llama.cpp runs at decode on x86: {@code quantize_row_q8_0} in
 * ggml-cpu/arch/x86/quants.c (AVX path: d = amax/127 stored as fp16, q = round-half-even(x·(127/amax))) and
 * {@code quantize_row_q8_K_ref} in ggml-quants.c, which x86 calls (iscale = -127/max with max the value of largest
 * magnitude, q = min(127, round-half-even(iscale·x)), d = 1/iscale kept as fp32, bsums over each 16). A block with a
 * NaN or infinite value gets d = NaN, so the dots that use it give NaN as a float dot would; ggml's rounding has no
 * such case.
 */
final class Q8Activation {
    /** Block size of the Q8_0 form. */
    static final int QK8_0 = 32;

    /** Super-block size of the Q8_K form. */
    static final int QK_K = 256;

    /** Whether this is the Q8_K form (256-blocks with bsums) rather than Q8_0 (32-blocks). */
    final boolean kForm;

    /** Row length. */
    final int k;

    /** The quants, k of them, as ggml stores them. */
    final byte[] qs;

    /** The quants widened to ints: what the dots read. */
    final int[] wide;

    /** One scale per block: the fp16-rounded d of Q8_0, or Q8_K's fp32 d. */
    final float[] d;

    /** Q8_K only: the sum of each 16 consecutive quants (k / 16 of them); null for Q8_0. */
    final int[] bsums;

    private Q8Activation(boolean kForm, int k) {
        this.kForm = kForm;
        this.k = k;
        this.qs = new byte[k];
        this.wide = new int[k];
        this.d = new float[k / (kForm ? QK_K : QK8_0)];
        this.bsums = kForm ? new int[k / 16] : null;
    }

    /** x[xo .. xo + k) in the Q8_0 form; k a multiple of 32. */
    static Q8Activation q8_0(float[] x, int xo, int k) {
        if (k % QK8_0 != 0)
            throw new IllegalArgumentException("Q8Activation.q8_0: row of " + k + " not a multiple of 32");
        Q8Activation a = new Q8Activation(false, k);
        short[] q = new short[k];
        q8_0Lanes(x, xo, k, q, a.d, new int[k / QK8_0], 0);
        for (int i = 0; i < k; i++) {
            a.qs[i] = (byte) q[i];
            a.wide[i] = q[i];
        }
        return a;
    }

    /**
     * x[xo .. xo + k) in the Q8_0 form as 16-bit lanes, for {@link InterleavedIntDot#q4_0Int} and
     * {@link InterleavedIntDot#q8_0Int}: the quants into {@code q} (k of them), each block's d into {@code d} and 8·Σ q
     * (which only the Q4_0 kernels read) into {@code sums8}, k a multiple of 32, as activation row
     * {@code row} (q from element row·k, d and sums8 from row·k/32). A block with a NaN or infinite value gets d = NaN
     * and quants 0.
     */
    static void q8_0Lanes(float[] x, int xo, int k, short[] q, float[] d, int[] sums8, int row) {
        for (int rb = 0; rb < k / QK8_0; rb++) {
            int b = row * (k / QK8_0) + rb, base = xo + QK8_0 * rb, o = QK8_0 * b;
            float amax = blockAmax(x, base, QK8_0);
            if (!(amax < Float.POSITIVE_INFINITY)) { // a NaN or infinite value
                d[b] = Float.NaN;
                Arrays.fill(q, o, o + QK8_0, (short) 0);
                sums8[b] = 0;
                continue;
            }
            d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            // |x·id| ≤ 127 up to one rounding, so the rounded quant stays within the byte range (where 127/amax
            // overflows, d is 0 and the quants are those of Math.rint)
            roundInto(x, base, amax != 0 ? 127f / amax : 0f, q, o, QK8_0);
            int sum = 0;
            for (int j = 0; j < QK8_0; j++) sum += q[o + j];
            sums8[b] = 8 * sum;
        }
    }

    /** x[xo .. xo + k) in the Q8_K form; k a multiple of 256. */
    static Q8Activation q8K(float[] x, int xo, int k) {
        if (k % QK_K != 0)
            throw new IllegalArgumentException("Q8Activation.q8K: row of " + k + " not a multiple of 256");
        Q8Activation a = new Q8Activation(true, k);
        short[] q = new short[k];
        q8KLanes(x, xo, k, q, a.d, new int[k / 32], 0);
        for (int i = 0; i < k; i++) {
            a.qs[i] = (byte) q[i];
            a.wide[i] = q[i];
            a.bsums[i / 16] += q[i];
        }
        return a;
    }

    /**
     * x[xo .. xo + k) in the Q8_K form as 16-bit lanes, for {@link InterleavedKIntDot#q4KInt}: the quants into {@code
     * q} (k of them), each super-block's d into {@code d} and the sum of each 32 quants into {@code sums32}, k a
     * multiple of 256, as activation row {@code row} (q from element row·k, d from row·k/256, sums32 from row·k/32). A
     * super-block with a NaN or infinite value gets d = NaN, quants and sums 0.
     */
    static void q8KLanes(float[] x, int xo, int k, short[] q, float[] d, int[] sums32, int row) {
        for (int rb = 0; rb < k / QK_K; rb++) {
            int b = row * (k / QK_K) + rb, base = xo + QK_K * rb, o = QK_K * b;
            float amax = blockAmax(x, base, QK_K);
            if (!(amax < Float.POSITIVE_INFINITY) || amax == 0) { // NaN or infinite: d NaN; all zero: d 0
                d[b] = amax == 0 ? 0 : Float.NaN;
                Arrays.fill(q, o, o + QK_K, (short) 0);
                Arrays.fill(sums32, o / 32, o / 32 + QK_K / 32, 0);
                continue;
            }
            int first = base; // the first value of largest magnitude: its sign is iscale's
            while (Math.abs(x[first]) != amax) first++;
            float iscale = -127f / x[first];
            if (Float.isInfinite(iscale)) { // amax below 127 / Float.MAX_VALUE: the products overflow, the cap binds
                for (int j = 0; j < QK_K; j++) q[o + j] = (short) Math.min(127, (int) Math.rint(iscale * x[base + j]));
            } else {
                // ggml caps the quants at 127, a bound a finite iscale cannot pass: |iscale| ≤ (127/amax)·(1 + 2⁻²⁴)
                // and |x| ≤ amax, so |iscale·x| rounds to at most 127 + 2⁻¹⁷, and that to the integer 127
                roundInto(x, base, iscale, q, o, QK_K);
            }
            for (int g = 0; g < QK_K / 32; g++) {
                int s = 0;
                for (int j = 0; j < 32; j++) s += q[o + 32 * g + j];
                sums32[o / 32 + g] = s;
            }
            d[b] = 1 / iscale;
        }
    }

    /** 1.5·2²³: a float of magnitude below 2²² plus this, less this, is that float rounded to an integer, ties to even. */
    private static final float ROUND = 12582912f;

    /**
     * The largest |x| of x[from .. from + n), NaN when one is NaN (Math.max keeps a NaN), infinite when one is and
     * none is NaN. A plain loop, which C2 turns into vector max operations.
     */
    private static float blockAmax(float[] x, int from, int n) {
        float amax = 0;
        for (int j = 0; j < n; j++) amax = Math.max(amax, Math.abs(x[from + j]));
        return amax;
    }

    /**
     * q[o + j] = (short) (int) Math.rint(x[from + j]·scale) for j &lt; n, in a loop C2 vectorizes (through double, or
     * with a clamp before the narrowing store, it stays scalar). Exact where |x·scale| &lt; 2²², which holds here (at
     * most 127 plus a rounding) except for the infinite products of a block whose scale overflowed; an infinity
     * passes through the addition unchanged, so those quants are Math.rint's too.
     */
    private static void roundInto(float[] x, int from, float scale, short[] q, int o, int n) {
        for (int j = 0; j < n; j++) q[o + j] = (short) (int) ((x[from + j] * scale + ROUND) - ROUND);
    }
}
