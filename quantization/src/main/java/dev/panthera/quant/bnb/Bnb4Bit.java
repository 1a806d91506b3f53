package dev.panthera.quant.bnb;

/**
 * A tensor of {@code n} weights in a bitsandbytes 4-bit format: blocks of {@code blockSize} weights (the last block
 * may be partial, as bitsandbytes allows), each scaled by its absmax; {@code packed} holds two code indices a byte, the
 * even weight in the high nibble ({@code quantize_4bit}). The absmax is either plain fp32 ({@code absmax}) or double
 * quantized ({@code nested}).
 *
 * @param code NF4 or FP4
 * @param blockSize weights per block (bitsandbytes: 64 to 4096; 64 is QLoRA's)
 * @param n number of weights
 * @param packed ceil(n / 2) bytes
 * @param absmax one fp32 absmax per block, or null when {@code nested} holds them
 * @param nested the absmax double quantized, or null
 */
public record Bnb4Bit(FourBitCode code, int blockSize, long n, byte[] packed, float[] absmax, NestedAbsmax nested) {

    /** The nested block size of double quantization (bitsandbytes' {@code quantize_blockwise(..., blocksize=256)}). */
    public static final int NESTED_BLOCK = 256;

    /**
     * Double-quantized absmax (QLoRA): the absmax minus their mean {@code offset}, quantized with the 8-bit
     * {@link DynamicMap} in blocks of {@value #NESTED_BLOCK}, each with its own fp32 absmax {@code absmax2}. absmax[i] =
     * code8[q[i]]·absmax2[i / 256] + offset.
     *
     * @param code8 the 256-entry 8-bit code a checkpoint carried ({@code nested_quant_map}), or null for
     *     {@link DynamicMap}: bitsandbytes builds that map with torch at run time, and torch's vectorized
     *     {@code linspace} can differ from the scalar formula in the last bit, so a file's own table is the one to
     *     decode it with
     */
    public record NestedAbsmax(byte[] q, float[] absmax2, float offset, float[] code8) {
        public NestedAbsmax {
            if (code8 != null && code8.length != 256)
                throw new IllegalArgumentException(
                        "NestedAbsmax: the 8-bit code has " + code8.length + " values, not 256");
        }

        /** Double quantization with {@link DynamicMap}. */
        public NestedAbsmax(byte[] q, float[] absmax2, float offset) {
            this(q, absmax2, offset, null);
        }

        /** The value of 8-bit code {@code i}. */
        public float code(int i) {
            return code8 == null ? DynamicMap.value(i) : code8[i & 0xFF];
        }
    }

    public Bnb4Bit {
        if (blockSize <= 0 || (blockSize & 1) != 0) {
            throw new IllegalArgumentException(
                    "Bnb4Bit " + code + ": block size must be positive and even, got " + blockSize);
        }
        long blocks = (n + blockSize - 1) / blockSize;
        if (packed.length != (n + 1) / 2 || (absmax == null) == (nested == null)) {
            throw new IllegalArgumentException("Bnb4Bit " + code + ": " + n + " weights need " + (n + 1) / 2
                    + " packed bytes (have " + packed.length + ") and exactly one of absmax / nested absmax");
        }
        if (absmax != null && absmax.length != blocks
                || nested != null
                        && (nested.q.length != blocks
                                || nested.absmax2.length != (blocks + NESTED_BLOCK - 1) / NESTED_BLOCK)) {
            throw new IllegalArgumentException("Bnb4Bit " + code + ": " + n + " weights in blocks of " + blockSize
                    + " need " + blocks + " absmax values (double quantized: " + blocks + " codes and "
                    + (blocks + NESTED_BLOCK - 1) / NESTED_BLOCK + " nested absmax)");
        }
    }

    /**
     * Quantizes {@code x} (bitsandbytes' {@code quantize_4bit}): absmax per block, scaled = clamp(x · (1/absmax), -1,
     * 1) in float32, then the nearest code ({@link FourBitCode#nearest}). An all-zero block has absmax 0 and codes for
     * 0 (bitsandbytes would divide by zero there). With {@code doubleQuant} the absmax are double quantized.
     */
    public static Bnb4Bit quantize(float[] x, FourBitCode code, int blockSize, boolean doubleQuant) {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new IllegalArgumentException(
                        "Bnb4Bit " + code + ": weight " + i + " of " + x.length + " is " + x[i]);
            }
        }
        if (blockSize <= 0 || (blockSize & 1) != 0) {
            throw new IllegalArgumentException(
                    "Bnb4Bit " + code + ": block size must be positive and even, got " + blockSize);
        }
        int n = x.length, blocks = (n + blockSize - 1) / blockSize;
        float[] absmax = new float[blocks];
        byte[] packed = new byte[(n + 1) / 2];
        int zero = code.nearest(0f);
        for (int b = 0; b < blocks; b++) {
            int from = b * blockSize, to = Math.min(n, from + blockSize);
            float amax = 0;
            for (int i = from; i < to; i++) amax = Math.max(amax, Math.abs(x[i]));
            absmax[b] = amax;
            float inv = 1f / amax;
            for (int i = from; i < to; i++) {
                int q = amax == 0 ? zero : code.nearest(Math.max(-1f, Math.min(1f, x[i] * inv)));
                packed[i >> 1] |= (byte) ((i & 1) == 0 ? q << 4 : q);
            }
        }
        if ((n & 1) == 1) packed[n >> 1] |= (byte) zero; // bitsandbytes pads an odd count with a 0 weight
        return doubleQuant
                ? new Bnb4Bit(code, blockSize, n, packed, null, nest(absmax))
                : new Bnb4Bit(code, blockSize, n, packed, absmax, null);
    }

    /** Double quantization: subtract the mean (summed in float64, rounded to float32), 8-bit blockwise over 256. */
    static NestedAbsmax nest(float[] absmax) {
        double sum = 0;
        for (float a : absmax) sum += a;
        return nest(absmax, absmax.length == 0 ? 0f : (float) (sum / absmax.length));
    }

    /**
     * Double quantization around a given offset: absmax − offset, 8-bit blockwise over {@value #NESTED_BLOCK} with
     * bitsandbytes' dynamic map. bitsandbytes takes the offset as torch's float32 mean, whose summation order (and so
     * its last bit) depends on the device; with the same offset the codes and nested absmax are its bytes.
     */
    public static NestedAbsmax nest(float[] absmax, float offset) {
        int blocks = (absmax.length + NESTED_BLOCK - 1) / NESTED_BLOCK;
        float[] absmax2 = new float[blocks];
        byte[] q = new byte[absmax.length];
        for (int b = 0; b < blocks; b++) {
            int from = b * NESTED_BLOCK, to = Math.min(absmax.length, from + NESTED_BLOCK);
            float amax = 0;
            for (int i = from; i < to; i++) amax = Math.max(amax, Math.abs(absmax[i] - offset));
            absmax2[b] = amax;
            float inv = 1f / amax;
            for (int i = from; i < to; i++) {
                float scaled = amax == 0 ? 0f : Math.max(-1f, Math.min(1f, (absmax[i] - offset) * inv));
                q[i] = (byte) DynamicMap.nearest(scaled);
            }
        }
        return new NestedAbsmax(q, absmax2, offset);
    }

    /** The absmax of block {@code b} as the dequantizer uses it. */
    public float blockAbsmax(int b) {
        if (absmax != null) return absmax[b];
        return nested.code(nested.q[b]) * nested.absmax2[b / NESTED_BLOCK] + nested.offset;
    }

    /** Code index of weight {@code i}. */
    public int index(long i) {
        int by = packed[(int) (i >> 1)] & 0xFF;
        return (i & 1) == 0 ? by >> 4 : by & 0xF;
    }

    /** Weights [from, from + count) as floats into {@code dst} from {@code at} (code value · block absmax). */
    public void dequantize(long from, int count, float[] dst, int at) {
        if (from < 0 || count < 0 || from + count > n) {
            throw new IndexOutOfBoundsException(
                    "Bnb4Bit " + code + ": weights [" + from + ", " + (from + count) + ") of " + n);
        }
        int b = -1;
        float a = 0;
        for (int i = 0; i < count; i++) {
            long w = from + i;
            if (w / blockSize != b) {
                b = (int) (w / blockSize);
                a = blockAbsmax(b);
            }
            dst[at + i] = code.value(index(w)) * a;
        }
    }

    /** All weights as floats: code value · block absmax (float32, as bitsandbytes' dequantize_4bit). */
    public float[] dequantize() {
        float[] out = new float[Math.toIntExact(n)];
        for (int b = 0; (long) b * blockSize < n; b++) {
            float a = blockAbsmax(b);
            int from = b * blockSize, to = (int) Math.min(n, (long) from + blockSize);
            for (int i = from; i < to; i++) out[i] = code.value(index(i)) * a;
        }
        return out;
    }

    /** Bytes this tensor occupies in memory (packed codes and statistics). */
    public long byteSize() {
        return packed.length + (absmax != null ? 4L * absmax.length : nested.q.length + 4L * nested.absmax2.length + 4);
    }
}
