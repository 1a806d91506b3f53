package dev.panthera.quant.gptq;

/**
 * A GWQ weight: the dense low-bit part on GPTQ's grid and a sparse set of outliers kept in 16 bits (float16 values at
 * row-major positions {@code r·in + c}, ascending), which replace the dense value at their positions.
 */
public record GwqWeight(GptqWeight dense, int[] outlierIndex, float[] outlierValue) {

    public GwqWeight {
        if (outlierIndex.length != outlierValue.length)
            throw new IllegalArgumentException("GwqWeight " + dense.name() + ": " + outlierIndex.length
                    + " outlier positions but " + outlierValue.length + " values");
        long n = (long) dense.out() * dense.in();
        for (int i = 0; i < outlierIndex.length; i++) {
            if (outlierIndex[i] < 0 || outlierIndex[i] >= n || (i > 0 && outlierIndex[i] <= outlierIndex[i - 1]))
                throw new IllegalArgumentException("GwqWeight " + dense.name() + ": outlier position " + outlierIndex[i]
                        + " is outside [0, " + n + ") or out of ascending order");
            float v = outlierValue[i];
            if (!Float.isFinite(v) || Float.float16ToFloat(Float.floatToFloat16(v)) != v)
                throw new IllegalArgumentException(
                        "GwqWeight " + dense.name() + ": outlier value " + v + " is not a finite float16 value");
        }
    }

    /** The whole matrix [out, in] as floats: the dense dequantization with the outliers in place. */
    public float[] dequantize() {
        float[] w = dense.dequantize();
        for (int i = 0; i < outlierIndex.length; i++) w[outlierIndex[i]] = outlierValue[i];
        return w;
    }
}
