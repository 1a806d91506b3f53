package dev.panthera.quant;

import dev.panthera.simd.FilledSgemm;
import dev.panthera.tensor.Tensor;
import java.util.stream.IntStream;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * W8A8: y = x · Wᵀ with x quantized per token (row) to symmetric int8 at call time (dynamic scale absmax/127) and an
 * {@link Int8Weight}; the dot products accumulate in int32 exactly, and y[m, n] = acc · (sx[m] · sw[n]).
 *
 * <p>Two ways to the same int32 sums. Fewer than {@link #BLOCKED_ROWS} rows: one dot product per (row, output),
 * bytes widened to 16-bit lanes. More: the quantized values as floats through SGEMM's blocked micro-kernel
 * ({@link FilledSgemm}), the weight's bytes widened into its slivers block by block ({@link Slivers}). A product of
 * two int8 values is at most 127² = 16129 in magnitude, so every partial sum of up to 1040 of them is an integer
 * below 2²⁴, which a float holds exactly: whatever order the kernel adds in, a depth of at most {@link #CHUNK} gives
 * the exact integer sum. Longer rows go in chunks of {@link #CHUNK} whose sums are added as ints. Both ways give
 * {@link #reference}'s floats bit for bit.
 */
public final class Int8Matmul {
    private Int8Matmul() {}

    /** Longest row whose int32 sum cannot overflow: |q| ≤ 127, so each product is at most 16129. */
    static final int MAX_IN = Integer.MAX_VALUE / (127 * 127);

    /** Rows from which a product runs blocked ({@link #blocked}): SGEMM's packed path starts at the same M. */
    static final int BLOCKED_ROWS = 8;

    /** Depth of one blocked product: at most 1040 = ⌊2²⁴ / 127²⌋ keeps its float sums exact integers. */
    static final int CHUNK = 1024;

    /** Rows longer than {@link #MAX_IN} are refused: their int32 sums could overflow. */
    private static void checkDepth(Int8Weight w) {
        if (w.in() > MAX_IN) {
            throw new IllegalArgumentException("Int8Matmul: " + w.name() + " rows of " + w.in()
                    + " could overflow the int32 sums (at most " + MAX_IN + ")");
        }
    }

    /**
     * y [..., out] = x [..., in] · Wᵀ, F32 out. From {@link #BLOCKED_ROWS} rows on, each call reorders the weight
     * into {@link Slivers} first; {@link QuantizedLinear#w8a8} keeps that copy with the layer instead.
     */
    public static Tensor matmul(Tensor x, Int8Weight w) {
        long[] dims = x.dims();
        if (dims.length == 0 || dims[dims.length - 1] != w.in()) {
            throw new IllegalArgumentException("Int8Matmul.matmul: x " + x.shape() + " times " + w.name() + " int8 ["
                    + w.out() + ", " + w.in() + "]ᵀ: the last dim of x must be " + w.in());
        }
        long m = 1;
        for (int i = 0; i < dims.length - 1; i++) m *= dims[i];
        float[] y = new float[Math.toIntExact(m * w.out())];
        if (m >= BLOCKED_ROWS) blocked(x.toFloatArray(), (int) m, w, Slivers.of(w), y);
        else matmul(IntVector.SPECIES_PREFERRED, x.toFloatArray(), Math.toIntExact(m), w, y);
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = w.out();
        return Tensor.of(y, outDims);
    }

    static void matmul(VectorSpecies<Integer> is, float[] x, int m, Int8Weight w, float[] y) {
        int n = w.out(), k = w.in();
        checkDepth(w);
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

    /**
     * The blocked product: rows quantized as in {@link #matmul(VectorSpecies, float[], int, Int8Weight, float[])},
     * their int8 values as floats through {@link FilledSgemm} against {@code s}, depth in chunks of {@link #CHUNK}.
     */
    static void blocked(float[] x, int m, Int8Weight w, Slivers s, float[] y) {
        int n = w.out(), k = w.in();
        checkDepth(w);
        if (s.weight() != w)
            throw new IllegalArgumentException("Int8Matmul: slivers of another weight than " + w.name());
        float[] sx = new float[m], qa = new float[m * k];
        for (int i = 0; i < m; i++) {
            try {
                sx[i] = quantizeRow(x, i * k, k, qa, i * k);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Int8Matmul: activation row " + i + ": " + e.getMessage(), e);
            }
        }
        int S = FilledSgemm.SLIVER;
        if (k <= CHUNK) {
            FilledSgemm.gemm(qa, m, k, n, (pc, kc, jc, nc, out) -> s.fill(pc, kc, jc, nc, out), y, S);
        } else {
            int[] acc = new int[m * n];
            float[] part = new float[m * n], piece = new float[m * CHUNK];
            for (int c0 = 0; c0 < k; c0 += CHUNK) {
                int kc0 = Math.min(CHUNK, k - c0), from = c0;
                for (int i = 0; i < m; i++) System.arraycopy(qa, i * k + c0, piece, i * kc0, kc0);
                FilledSgemm.gemm(
                        piece, m, kc0, n, (pc, kc, jc, nc, out) -> s.fill(from + pc, kc, jc, nc, out), part, S);
                for (int i = 0; i < m * n; i++) acc[i] += (int) part[i];
            }
            for (int i = 0; i < m * n; i++) y[i] = acc[i];
        }
        scale(y, m, n, sx, w.scale());
    }

    /** y[i·n + r] = y[i·n + r] · (sx[i] · sw[r]), the scalar loop's two products in its order, a vector at a time. */
    private static void scale(float[] y, int m, int n, float[] sx, float[] sw) {
        int L = FS.length();
        for (int i = 0; i < m; i++) {
            FloatVector s = FloatVector.broadcast(FS, sx[i]);
            int r = 0, o = i * n;
            for (; r + L <= n; r += L)
                FloatVector.fromArray(FS, y, o + r)
                        .mul(s.mul(FloatVector.fromArray(FS, sw, r)))
                        .intoArray(y, o + r);
            for (; r < n; r++) y[o + r] = y[o + r] * (sx[i] * sw[r]);
        }
    }

    /** 1.5·2²³: v + MAGIC − MAGIC is v rounded to an integer, ties to even, for |v| ≤ 2²². */
    private static final float MAGIC = 0x1.8p23f;

    /**
     * {@link Int8Weight#quantizeRow}'s quantization of x[xo .. xo + n) with its values written as floats into
     * {@code q} (the same integers; a zero may carry either sign here): the absolute
     * maximum by vector maxima (exact in any order), then rint(x · (127 / absmax)) by adding and subtracting
     * {@link #MAGIC}, exact because |x · (127 / absmax)| ≤ 127.
     */
    static float quantizeRow(float[] x, int xo, int n, float[] q, int qo) {
        int L = FS.length(), i = 0;
        FloatVector mv = FloatVector.zero(FS);
        for (; i + L <= n; i += L)
            mv = mv.max(FloatVector.fromArray(FS, x, xo + i).abs());
        float amax = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) amax = Math.max(amax, Math.abs(x[xo + i]));
        if (!Float.isFinite(amax)) { // NaN or inf: the row quantizer names the first
            Int8Weight.quantizeRow(x, xo, n, new byte[n], 0);
            throw new IllegalStateException("a row whose absolute maximum is " + amax + " passed the row quantizer");
        }
        if (amax == 0) {
            java.util.Arrays.fill(q, qo, qo + n, 0f);
            return 0f;
        }
        float inv = 127f / amax;
        FloatVector iv = FloatVector.broadcast(FS, inv), magic = FloatVector.broadcast(FS, MAGIC);
        for (i = 0; i + L <= n; i += L)
            FloatVector.fromArray(FS, x, xo + i).mul(iv).add(magic).sub(magic).intoArray(q, qo + i);
        for (; i < n; i++) q[qo + i] = (float) Math.rint(x[xo + i] * inv);
        return amax / 127f;
    }

    /**
     * An {@link Int8Weight}'s values in {@link FilledSgemm}'s sliver order for {@link #blocked}: for each sliver of
     * {@link FilledSgemm#SLIVER} outputs, the whole depth, each depth step's SLIVER bytes together (Wᵀ[p, j] at
     * ((j / SLIVER)·in + p)·SLIVER + j % SLIVER); the columns past {@code out} in the last sliver are zeros. One more
     * byte per weight, kept beside the row-major values the short products and the reference read.
     *
     * @param weight the weight these bytes reorder
     * @param q the reordered bytes
     */
    record Slivers(Int8Weight weight, byte[] q) {
        static Slivers of(Int8Weight w) {
            int S = FilledSgemm.SLIVER, n = w.out(), k = w.in(), slivers = (n + S - 1) / S;
            if ((long) slivers * S * k > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException(
                        "Int8Matmul: " + w.name() + " [" + n + ", " + k + "] is too large for one array of slivers");
            byte[] q = new byte[slivers * S * k], src = w.q();
            for (int j = 0; j < n; j++) {
                int base = (j / S) * S * k + j % S;
                for (int p = 0; p < k; p++) q[base + p * S] = src[j * k + p];
            }
            return new Slivers(w, q);
        }

        /** {@link FilledSgemm.Panels#fill}: Wᵀ[pc .. pc + kc, jc .. jc + nc) as floats, jc a multiple of SLIVER. */
        void fill(int pc, int kc, int jc, int nc, float[] out) {
            int S = FilledSgemm.SLIVER, k = weight.in();
            for (int j = jc, o = 0; j < jc + nc; j += S, o += S * kc) widen(q, (j / S * k + pc) * S, out, o, S * kc);
        }
    }

    private static final VectorSpecies<Float> FS = QuantLanes.F;
    /** Bytes loaded per float vector: as many as its lanes, at least 8 (the narrowest byte vector, then masked). */
    private static final VectorSpecies<Byte> FB =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, FS.length() * 8)));

    private static final VectorMask<Byte> FB_FIRST = VectorMask.fromLong(FB, (1L << FS.length()) - 1);

    /** out[o + i] = q[at + i] for i &lt; len, bytes widened to floats. */
    static void widen(byte[] q, int at, float[] out, int o, int len) {
        int L = FS.length(), i = 0;
        boolean masked = FB.length() > L;
        for (; i + L <= len; i += L) {
            ByteVector b = masked ? ByteVector.fromArray(FB, q, at + i, FB_FIRST) : ByteVector.fromArray(FB, q, at + i);
            ((FloatVector) b.convertShape(VectorOperators.B2F, FS, 0)).intoArray(out, o + i);
        }
        for (; i < len; i++) out[o + i] = q[at + i];
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
