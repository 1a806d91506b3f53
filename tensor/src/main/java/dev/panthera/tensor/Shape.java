package dev.panthera.tensor;

import java.util.Arrays;

/** An immutable list of non-negative dimension sizes. Element counts are {@code long}. */
public final class Shape {
    private final long[] dims;

    /** The product of the dimensions, computed once: every op asks for it, often several times. */
    private final long numel;

    private Shape(long[] dims) {
        this.dims = dims;
        long n = 1;
        for (long d : dims) n *= d;
        this.numel = n;
    }

    /** A shape with the given dimensions; each must be {@code >= 0}. */
    public static Shape of(long... dims) {
        long[] d = dims.clone();
        long n = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] < 0)
                throw new IllegalArgumentException(
                        "Shape: negative dimension " + d[i] + " at index " + i + " in " + Arrays.toString(d));
            try {
                n = Math.multiplyExact(n, Math.max(d[i], 1));
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(
                        "Shape: " + Arrays.toString(d) + " has more elements than a long can count");
            }
        }
        return new Shape(d);
    }

    /** A shape from int dimensions. */
    public static Shape of(int... dims) {
        long[] d = new long[dims.length];
        for (int i = 0; i < d.length; i++) d[i] = dims[i];
        return of(d);
    }

    /** The rank-0 shape of a scalar. */
    public static Shape scalar() {
        return new Shape(new long[0]);
    }

    public int rank() {
        return dims.length;
    }

    /** Dimension {@code i}; negative {@code i} counts from the end as in PyTorch. */
    public long dim(int i) {
        if (dims.length == 0)
            throw new IndexOutOfBoundsException(
                    "dim: dimension " + i + " requested of a scalar (rank 0), which has none");
        return dims[normalize(i, dims.length, "dim")];
    }

    /** A copy of the dimensions. */
    public long[] toArray() {
        return dims.clone();
    }

    /** The number of elements (1 for a scalar). */
    public long numel() {
        return numel;
    }

    /** Resolves a possibly-negative dimension index against {@code rank}. */
    public static int normalize(int dim, int rank, String op) {
        if (rank == 0 && (dim == 0 || dim == -1)) return 0;
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IndexOutOfBoundsException(op + ": dimension " + dim + " out of range for rank " + rank);
        }
        return d;
    }

    /** The NumPy broadcast of two shapes, or an IllegalArgumentException naming {@code op} and both shapes. */
    public static Shape broadcast(String op, Shape a, Shape b) {
        int r = Math.max(a.rank(), b.rank());
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long da = i < r - a.rank() ? 1 : a.dims[i - (r - a.rank())];
            long db = i < r - b.rank() ? 1 : b.dims[i - (r - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + a + " and " + b
                        + " cannot be broadcast (dimension " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(dims[i]);
        }
        return sb.append(']').toString();
    }
}
