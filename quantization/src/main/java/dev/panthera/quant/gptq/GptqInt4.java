package dev.panthera.quant.gptq;

/**
 * A 4-bit GPTQ weight [out, in] kept exactly as transformers' GPTQ checkpoint (AutoGPTQ's "gptq" v1 layout) stores
 * it, the form the GPTQ matmul reads without unpacking: qweight int32 [in/8, out] (input rows 8p..8p+7 of output
 * column n in word {@code qweight[p·out + n]}, row 8p+j at bits 4j..4j+3), qzeros int32 [groups, out/8] (zero − 1 of
 * output n at bits 4·(n mod 8) of word {@code qzeros[g·out/8 + n/8]}), scales float16 values [groups, out] and g_idx
 * [in]. Weight [n, k] is scales[g, n] · (q − zero) with g = g_idx[k]; act-order checkpoints have any g_idx.
 *
 * @param name the tensor's name, for error messages
 * @param out output features, a multiple of 8
 * @param in input features, a multiple of 8
 * @param groupSize the config's group size (−1: one group)
 * @param qweight (in/8)·out words
 * @param qzeros groups·(out/8) words
 * @param scales groups·out finite floats
 * @param gIdx in group indices in [0, groups)
 */
public record GptqInt4(
        String name, int out, int in, int groupSize, int[] qweight, int[] qzeros, float[] scales, int[] gIdx) {

    public GptqInt4 {
        if (out <= 0 || in <= 0 || out % 8 != 0 || in % 8 != 0)
            throw new IllegalArgumentException("GptqInt4 " + name + ": shape [" + out + ", " + in
                    + "]: both features must be positive multiples of 8 (eight 4-bit values an int32)");
        int groups = GptqWeight.groups(in, groupSize);
        if (qweight.length != (long) in / 8 * out)
            throw new IllegalArgumentException("GptqInt4 " + name + ": qweight has " + qweight.length + " int32, ["
                    + in / 8 + ", " + out + "] expected");
        if (qzeros.length != (long) groups * (out / 8))
            throw new IllegalArgumentException("GptqInt4 " + name + ": qzeros has " + qzeros.length + " int32, ["
                    + groups + ", " + out / 8 + "] expected");
        if (scales.length != (long) groups * out)
            throw new IllegalArgumentException("GptqInt4 " + name + ": scales has " + scales.length + " values, ["
                    + groups + ", " + out + "] expected");
        if (gIdx.length != in)
            throw new IllegalArgumentException(
                    "GptqInt4 " + name + ": g_idx has " + gIdx.length + " entries for " + in + " input features");
        for (int k = 0; k < in; k++) {
            if (gIdx[k] < 0 || gIdx[k] >= groups)
                throw new IllegalArgumentException(
                        "GptqInt4 " + name + ": g_idx[" + k + "] = " + gIdx[k] + " outside [0, " + groups + ")");
        }
        for (int i = 0; i < scales.length; i++) {
            if (!Float.isFinite(scales[i]))
                throw new IllegalArgumentException(
                        "GptqInt4 " + name + ": scales[" + i / out + ", " + i % out + "] is " + scales[i]);
        }
    }

    /** Packs a 4-bit {@link GptqWeight} into the checkpoint's arrays ({@link GptqPacking}). */
    public static GptqInt4 of(GptqWeight w) {
        if (w.bits() != 4)
            throw new IllegalArgumentException(
                    "GptqInt4 " + w.name() + ": the 4-bit kernel cannot take a " + w.bits() + "-bit weight");
        return new GptqInt4(
                w.name(),
                w.out(),
                w.in(),
                w.groupSize(),
                GptqPacking.qweight(w),
                GptqPacking.qzerosV1(w),
                w.scales().clone(),
                w.gIdx().clone());
    }

    public int groups() {
        return GptqWeight.groups(in, groupSize);
    }

    /** Bytes of the packed arrays (scales as float16, as stored). */
    public long byteSize() {
        return 4L * qweight.length + 4L * qzeros.length + 2L * scales.length + 4L * gIdx.length;
    }

    /** q of weight [n, k]. */
    public int q(int n, int k) {
        return (qweight[(k >>> 3) * out + n] >>> ((k & 7) << 2)) & 15;
    }

    /** The zero point of output {@code n} in group {@code g} (stored value + 1, as v1 readers do). */
    public int zero(int g, int n) {
        return ((qzeros[g * (out >>> 3) + (n >>> 3)] >>> ((n & 7) << 2)) & 15) + 1;
    }

    /** Weight [n, k] as a float (scalar decoding). */
    public float weight(int n, int k) {
        int g = gIdx[k];
        return scales[g * out + n] * (q(n, k) - zero(g, n));
    }

    /** Weight row {@code n} (output feature n) into {@code dst} from {@code at}. */
    public void dequantizeRow(int n, float[] dst, int at) {
        for (int k = 0; k < in; k++) dst[at + k] = weight(n, k);
    }
}
