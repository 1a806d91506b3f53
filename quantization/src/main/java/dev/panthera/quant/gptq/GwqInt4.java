package dev.panthera.quant.gptq;

/**
 * A GWQ weight in its stored form: the dense part packed as a 4-bit GPTQ checkpoint ({@link GptqInt4}) and the sparse
 * outliers as row-major positions {@code n·in + k} (ascending) with their float16 values, which replace the dense
 * value at those positions.
 */
public record GwqInt4(GptqInt4 dense, int[] outlierIndex, float[] outlierValue) {

    public GwqInt4 {
        if (outlierIndex.length != outlierValue.length)
            throw new IllegalArgumentException("GwqInt4 " + dense.name() + ": " + outlierIndex.length
                    + " outlier positions but " + outlierValue.length + " values");
        long n = (long) dense.out() * dense.in();
        for (int i = 0; i < outlierIndex.length; i++) {
            if (outlierIndex[i] < 0 || outlierIndex[i] >= n || (i > 0 && outlierIndex[i] <= outlierIndex[i - 1]))
                throw new IllegalArgumentException("GwqInt4 " + dense.name() + ": outlier_idx[" + i + "] = "
                        + outlierIndex[i] + " is outside [0, " + n + ") or out of ascending order");
            if (!Float.isFinite(outlierValue[i]))
                throw new IllegalArgumentException(
                        "GwqInt4 " + dense.name() + ": outlier_val[" + i + "] is " + outlierValue[i]);
        }
    }

    /** Packs a GWQ weight whose dense part is 4-bit. */
    public static GwqInt4 of(GwqWeight w) {
        return new GwqInt4(
                GptqInt4.of(w.dense()),
                w.outlierIndex().clone(),
                w.outlierValue().clone());
    }

    /**
     * What each outlier adds to the dense product: value − dense weight at its position, so that y = x·Wᵀ_dense +
     * Σ x[k]·delta at (n, k).
     */
    public float[] deltas() {
        float[] d = new float[outlierIndex.length];
        for (int i = 0; i < d.length; i++) {
            int n = outlierIndex[i] / dense.in(), k = outlierIndex[i] % dense.in();
            d[i] = outlierValue[i] - dense.weight(n, k);
        }
        return d;
    }

    /** Weight row {@code n} with its outliers in place, into {@code dst} from {@code at}. */
    public void dequantizeRow(int n, float[] dst, int at) {
        dense.dequantizeRow(n, dst, at);
        long from = (long) n * dense.in(), to = from + dense.in();
        int i = lowerBound(from);
        for (; i < outlierIndex.length && outlierIndex[i] < to; i++)
            dst[at + (int) (outlierIndex[i] - from)] = outlierValue[i];
    }

    private int lowerBound(long pos) {
        int lo = 0, hi = outlierIndex.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (outlierIndex[mid] < pos) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
