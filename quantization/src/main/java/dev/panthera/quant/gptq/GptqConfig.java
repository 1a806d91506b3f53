package dev.panthera.quant.gptq;

/**
 * How GPTQ (and round-to-nearest on the same grid) quantizes a weight [out, in].
 *
 * @param bits 2, 3, 4 or 8 bits per weight
 * @param groupSize 32, 64 or 128 input columns share a scale and zero point, or −1 for one per output row
 * @param sym symmetric grid (zero point 2^(bits−1)) or asymmetric (zero point from the group's minimum)
 * @param actOrder quantize columns in decreasing diag(H) order (transformers' {@code desc_act}); groups are then
 *     runs of that order, recorded in g_idx
 * @param percDamp λ = percDamp · mean(diag H) is added to the diagonal before inverting
 * @param blockSize columns per lazy batch (128 in the paper)
 */
public record GptqConfig(int bits, int groupSize, boolean sym, boolean actOrder, double percDamp, int blockSize) {

    public GptqConfig {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
            throw new IllegalArgumentException("GPTQ: bits must be 2, 3, 4 or 8, got " + bits);
        if (groupSize != -1 && groupSize != 32 && groupSize != 64 && groupSize != 128)
            throw new IllegalArgumentException(
                    "GPTQ: group size must be 32, 64, 128 or -1 (per row), got " + groupSize);
        if (!(percDamp > 0 && percDamp < 1))
            throw new IllegalArgumentException("GPTQ: percdamp must be in (0, 1), got " + percDamp);
        if (blockSize <= 0 || (groupSize > 0 && blockSize % groupSize != 0))
            throw new IllegalArgumentException("GPTQ: block size " + blockSize
                    + " must be positive and a multiple of the group size " + groupSize);
    }

    /** The usual settings: percdamp 0.01, blocks of 128 columns. */
    public static GptqConfig of(int bits, int groupSize, boolean sym, boolean actOrder) {
        return new GptqConfig(bits, groupSize, sym, actOrder, 0.01, 128);
    }

    /** The largest quantized value, 2^bits − 1. */
    public int maxQ() {
        return (1 << bits) - 1;
    }

    /**
     * Groups along a row of {@code in} columns: ⌈in / groupSize⌉ (the last one shorter when groupSize does not divide
     * in, as GPTQ's reference does), or 1 per row.
     */
    public int groups(int in) {
        return groupSize == -1 ? 1 : (in + groupSize - 1) / groupSize;
    }
}
