package dev.panthera.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by views and reductions. */
final class Views {
    private Views() {}

    /** Resolves one -1 in {@code requested} against {@code from}'s element count. */
    static Shape inferShape(String op, Shape from, long[] requested) {
        long[] d = requested.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0)
                    throw new IllegalArgumentException(
                            op + ": only one dimension can be -1, got " + Arrays.toString(requested));
                infer = i;
            } else if (d[i] < 0) {
                throw new IllegalArgumentException(
                        op + ": invalid dimension " + d[i] + " in " + Arrays.toString(requested));
            } else {
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || from.numel() % known != 0) {
                throw new IllegalArgumentException(
                        op + ": shape " + from + " cannot be reshaped to " + Arrays.toString(requested));
            }
            d[infer] = from.numel() / known;
        }
        Shape s = Shape.of(d);
        if (s.numel() != from.numel()) {
            throw new IllegalArgumentException(op + ": shape " + from + " (" + from.numel()
                    + " elements) cannot be reshaped to " + s + " (" + s.numel() + " elements)");
        }
        return s;
    }

    static int[] swapPerm(int rank, int a, int b) {
        int[] perm = new int[rank];
        for (int i = 0; i < rank; i++) perm[i] = i;
        int x = Shape.normalize(a, rank, "transpose"), y = Shape.normalize(b, rank, "transpose");
        perm[x] = y;
        perm[y] = x;
        return perm;
    }

    static int[] allDims(int rank) {
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = i;
        return d;
    }

    /** Normalised, sorted, duplicate-free dims; IndexOutOfBounds for a bad dim. */
    static int[] normalizeDims(String op, int[] dims, int rank) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) d[i] = Shape.normalize(dims[i], rank, op);
        Arrays.sort(d);
        for (int i = 1; i < d.length; i++) {
            if (d[i] == d[i - 1])
                throw new IllegalArgumentException(
                        op + ": dimension " + d[i] + " appears twice in " + Arrays.toString(dims));
        }
        return d;
    }

    /** The number of elements a reduction over {@code dims} combines. */
    static long countOver(Shape s, int[] dims, String op) {
        long n = 1;
        int[] d = normalizeDims(op, dims, s.rank());
        if (s.rank() == 0) return 1; // a scalar reduced over dim 0/-1 is itself (PyTorch)
        for (int i : d) n *= s.dim(i);
        return n;
    }
}
