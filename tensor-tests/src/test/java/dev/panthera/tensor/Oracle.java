package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the float64 oracles of these tests read tensors with: every multi-index of a shape, element values read one by
 * one through {@link Tensor#get} (Layout.indexOf), independent of the backends' strided cursors, and NumPy's broadcast
 * index rule. No generators here: inputs are drawn with panthera-testing.
 */
final class Oracle {
    private Oracle() {}

    /** Every multi-index of {@code shape} in row-major order. */
    static long[][] indices(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        long[][] out = new long[(int) n][];
        long[] idx = new long[shape.length];
        for (int k = 0; k < n; k++) {
            out[k] = idx.clone();
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return out;
    }

    /** Row-major values read one by one through {@code get(index)}. */
    static double[] values(Tensor t) {
        long[][] ix = indices(t.dims());
        double[] v = new double[ix.length];
        for (int i = 0; i < ix.length; i++) v[i] = t.get(ix[i]);
        return v;
    }

    /** Elementwise |e − a| ≤ atol + rtol·|e|, NaN equal to NaN; the message names the element and both values. */
    static void assertClose(double[] expected, double[] actual, double rtol, double atol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a)) continue;
            if (e == a) continue;
            if (!(Math.abs(e - a) <= atol + rtol * Math.abs(e))) {
                fail(what + ": element " + i + " expected " + e + " but was " + a + " (rtol " + rtol + ", atol " + atol
                        + ")");
            }
        }
    }

    /** Row-major offset of a multi-index in a contiguous shape. */
    static int flat(long[] shape, long[] idx) {
        long o = 0;
        for (int i = 0; i < shape.length; i++) o = o * shape[i] + idx[i];
        return (int) o;
    }

    /** The index into an operand of shape {@code s} broadcast against output index {@code out} (NumPy rules). */
    static long[] broadcastIndex(long[] s, long[] out) {
        long[] idx = new long[s.length];
        int lead = out.length - s.length;
        for (int i = 0; i < s.length; i++) idx[i] = s[i] == 1 ? 0 : out[i + lead];
        return idx;
    }
}
