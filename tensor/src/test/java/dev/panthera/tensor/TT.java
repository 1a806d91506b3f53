package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;

/**
 * Test tools: random tensors in random layouts, and element access by multi-index through {@link Tensor#get}
 * (Layout.indexOf), independent of the backends' strided cursors.
 */
final class TT {
    private TT() {}

    /** Sizes that exercise edge cases: 1, primes, and tails that are not a multiple of 8 lanes. */
    static final long[] SIZES = {1, 1, 2, 3, 5, 7, 8, 9, 13, 16, 17};

    static long[] randomShape(Random r, int minRank, int maxRank) {
        int rank = minRank + r.nextInt(maxRank - minRank + 1);
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) s[i] = SIZES[r.nextInt(SIZES.length)];
        return s;
    }

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

    /**
     * A tensor of {@code shape} with normal values, in one of several layouts: contiguous, a permuted view, a view
     * sliced with step 2, a narrowed view with an offset, or a view expanded along its size-1 dimensions.
     */
    static Tensor random(Random r, long[] shape, DType dtype) {
        int kind = r.nextInt(5);
        int rank = shape.length;
        Tensor base;
        switch (kind) {
            case 1 -> { // permuted storage, permuted back
                if (rank < 2) return random(r, shape, dtype, 0);
                int[] perm = shuffled(r, rank);
                long[] stored = new long[rank];
                for (int i = 0; i < rank; i++) stored[i] = shape[perm[i]];
                int[] inv = new int[rank];
                for (int i = 0; i < rank; i++) inv[perm[i]] = i;
                base = normal(r, stored, dtype).permute(inv);
            }
            case 2 -> { // every other element along one dim
                if (rank == 0) return random(r, shape, dtype, 0);
                int d = r.nextInt(rank);
                long[] bigger = shape.clone();
                bigger[d] = shape[d] * 2;
                base = normal(r, bigger, dtype).slice(d, 1, bigger[d], 2);
            }
            case 3 -> { // offset view
                if (rank == 0) return random(r, shape, dtype, 0);
                int d = r.nextInt(rank);
                long[] bigger = shape.clone();
                bigger[d] = shape[d] + 3;
                base = normal(r, bigger, dtype).narrow(d, 2, shape[d]);
            }
            case 4 -> { // broadcast: stride 0 along size-... dims; values repeat
                long[] small = shape.clone();
                boolean any = false;
                for (int i = 0; i < rank; i++)
                    if (shape[i] > 1 && r.nextBoolean()) {
                        small[i] = 1;
                        any = true;
                    }
                if (!any) return random(r, shape, dtype, 0);
                base = normal(r, small, dtype).expand(shape);
            }
            default -> base = normal(r, shape, dtype);
        }
        return base;
    }

    static Tensor random(Random r, long[] shape, DType dtype, int kindZero) {
        return normal(r, shape, dtype);
    }

    static Tensor normal(Random r, long[] shape, DType dtype) {
        Tensor t = Tensor.randn(new java.util.SplittableRandom(r.nextLong()), shape);
        return t.to(dtype);
    }

    static int[] shuffled(Random r, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

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
