package dev.panthera.quant;

import dev.panthera.tensor.Tensor;
import java.util.stream.IntStream;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * W8A8: y = x · Wᵀ with x quantized per token (row) to symmetric int8 at call time (dynamic scale absmax/127) and an
 * {@link Int8Weight}; the dot products accumulate in int32 exactly, and y[m, n] = acc · (sx[m] · sw[n]).
 */
public final class Int8Matmul {
    private Int8Matmul() {}

    /** Longest row whose int32 sum cannot overflow: |q| ≤ 127, so each product is at most 16129. */
    static final int MAX_IN = Integer.MAX_VALUE / (127 * 127);

    /** y [..., out] = x [..., in] · Wᵀ, F32 out. */
    public static Tensor matmul(Tensor x, Int8Weight w) {
        long[] dims = x.dims();
        if (dims.length == 0 || dims[dims.length - 1] != w.in()) {
            throw new IllegalArgumentException("Int8Matmul.matmul: x " + x.shape() + " times " + w.name() + " int8 ["
                    + w.out() + ", " + w.in() + "]ᵀ: the last dim of x must be " + w.in());
        }
        long m = 1;
        for (int i = 0; i < dims.length - 1; i++) m *= dims[i];
        float[] y = new float[Math.toIntExact(m * w.out())];
        matmul(IntVector.SPECIES_PREFERRED, x.toFloatArray(), Math.toIntExact(m), w, y);
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = w.out();
        return Tensor.of(y, outDims);
    }

    static void matmul(VectorSpecies<Integer> is, float[] x, int m, Int8Weight w, float[] y) {
        int n = w.out(), k = w.in();
        if (k > MAX_IN) {
            throw new IllegalArgumentException("Int8Matmul: " + w.name() + " rows of " + k + " could overflow the int32"
                    + " sums (at most " + MAX_IN + ")");
        }
        byte[] qx = new byte[m * k];
        float[] sx = new float[m];
        for (int i = 0; i < m; i++) {
            try {
                sx[i] = Int8Weight.quantizeRow(x, i * k, k, qx, i * k);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Int8Matmul: activation row " + i + ": " + e.getMessage(), e);
            }
        }
        IntStream rows = IntStream.range(0, n);
        boolean preferred = is == IS;
        ((long) m * n * k >= 1L << 21 ? rows.parallel() : rows).forEach(r -> {
            for (int i = 0; i < m; i++) {
                int acc = preferred ? dotP(qx, i * k, w.q(), r * k, k) : dot(is, qx, i * k, w.q(), r * k, k);
                y[i * n + r] = acc * (sx[i] * w.scale()[r]);
            }
        });
    }

    // The preferred width with its species as static final constants: a species C2 cannot see as a constant (an
    // argument, or one derived inside the loop) makes every vector operation allocate a boxed vector, tens of times
    // slower; other widths (tests) take dot below.
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SS = VectorSpecies.of(short.class, IS.vectorShape());
    private static final VectorSpecies<Byte> BS =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(IS.vectorBitSize() / 2));

    /** {@link #dot} at the preferred width. */
    static int dotP(byte[] a, int ao, byte[] b, int bo, int n) {
        IntVector acc = IntVector.zero(IS);
        int i = 0, step = BS.length();
        for (; i + step <= n; i += step) {
            ShortVector x = (ShortVector) ByteVector.fromArray(BS, a, ao + i).convertShape(VectorOperators.B2S, SS, 0);
            ShortVector y = (ShortVector) ByteVector.fromArray(BS, b, bo + i).convertShape(VectorOperators.B2S, SS, 0);
            ShortVector p = x.mul(y);
            acc = acc.add(p.convertShape(VectorOperators.S2I, IS, 0)).add(p.convertShape(VectorOperators.S2I, IS, 1));
        }
        int s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /**
     * Σ a[ao + i]·b[bo + i] over int8 values in [-127, 127], exact in int32. The bytes widen to 16-bit lanes (B2S)
     * and multiply there: a product of two such values is at most 16129 in magnitude, so 16-bit lanes hold it
     * exactly and one multiply covers twice the lanes an int32 multiply would; the products then widen to int32
     * (S2I, two halves) for the sum. Byte vectors of half the int width feed short vectors of the full width.
     */
    static int dot(VectorSpecies<Integer> is, byte[] a, int ao, byte[] b, int bo, int n) {
        VectorSpecies<Short> ss = VectorSpecies.of(short.class, is.vectorShape());
        VectorSpecies<Byte> bs = VectorSpecies.of(byte.class, VectorShape.forBitSize(is.vectorBitSize() / 2));
        IntVector acc = IntVector.zero(is);
        int i = 0, step = bs.length();
        for (; i + step <= n; i += step) {
            ShortVector x = (ShortVector) ByteVector.fromArray(bs, a, ao + i).convertShape(VectorOperators.B2S, ss, 0);
            ShortVector y = (ShortVector) ByteVector.fromArray(bs, b, bo + i).convertShape(VectorOperators.B2S, ss, 0);
            ShortVector p = x.mul(y);
            acc = acc.add(p.convertShape(VectorOperators.S2I, is, 0)).add(p.convertShape(VectorOperators.S2I, is, 1));
        }
        int s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /** The scalar reference: the same quantization, a plain int loop, the same final scaling. */
    public static void reference(float[] x, int m, Int8Weight w, float[] y) {
        int n = w.out(), k = w.in();
        byte[] qx = new byte[k];
        for (int i = 0; i < m; i++) {
            float sx = Int8Weight.quantizeRow(x, i * k, k, qx, 0);
            for (int r = 0; r < n; r++) {
                int acc = 0;
                for (int j = 0; j < k; j++) acc += qx[j] * w.q()[r * k + j];
                y[i * n + r] = acc * (sx * w.scale()[r]);
            }
        }
    }
}
