package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.Linear;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * QuantizedLinear over every weight format against a float64 loop over the weight that format's own dequantizer gives
 * (independent of the layer's kernels), for decode (one row) and prefill (many rows), random shapes with sizes 0 and
 * 1, primes, row lengths that leave vector tails, strided inputs with leading dims, and a bias.
 */
class QuantizedLinearTest {
    static final GgmlType[] GGML = {
        GgmlType.Q8_0,
        GgmlType.Q4_0,
        GgmlType.Q4_1,
        GgmlType.Q5_0,
        GgmlType.Q5_1,
        GgmlType.Q4_K,
        GgmlType.Q5_K,
        GgmlType.Q6_K,
        GgmlType.Q8_K
    };
    /** Formats: the nine GGML types, then int8 per channel, int4 g32/g64/g128, NF4 and FP4 (block 64). */
    static final int FORMATS = 15; // GGML.length + 6

    record Built(QuantizedLinear layer, float[] w, QuantizedWeight ggml) {}

    static Built build(int format, int out, int in, float[] wf, Tensor bias, Arena arena) {
        if (format < GGML.length) {
            QuantizedWeight q = QuantizedWeight.quantize("w", wf, out, in, GGML[format], arena);
            return new Built(QuantizedLinear.of(q, bias), q.dequantize(), q);
        }
        return switch (format - GGML.length) {
            case 0 -> {
                Int8Weight q = Int8Weight.quantize("w", wf, out, in);
                yield new Built(QuantizedLinear.of(q, bias), q.dequantize(), null);
            }
            case 1, 2, 3 -> {
                Int4Weight q = Int4Weight.quantize("w", wf, out, in, 32 << (format - GGML.length - 1));
                yield new Built(QuantizedLinear.of(q, bias), q.dequantize(), null);
            }
            default -> {
                FourBitCode c = format - GGML.length == 4 ? FourBitCode.NF4 : FourBitCode.FP4;
                Bnb4Bit q = Bnb4Bit.quantize(wf, c, 64, true);
                yield new Built(QuantizedLinear.of(q, out, in, bias), q.dequantize(), null);
            }
        };
    }

    /** Row length for {@code format}: whole blocks or groups, or (int8, NF4, FP4) any length, a prime when 'odd'. */
    static int rowLength(int format, int units, boolean odd) {
        if (format < GGML.length) return units * GGML[format].blockSize();
        int f = format - GGML.length;
        if (f >= 1 && f <= 3) return units * (32 << (f - 1));
        return odd ? new int[] {1, 3, 37, 101, 263}[units] : 64 * units;
    }

    /**
     * |y − y64| bound. The weights each kernel reads are the dequantizer's floats (or, for the block dots, sums that
     * equal them exactly: q·d products of at most 8 × 11 bits), so the error is the summation's: any order of k fused
     * multiply-adds plus one scaling FMA per block and the lane reduction has depth at most k + 2, giving ≤ (k + 2)·u·Σ
     * |x·w| with u = 2^-24 (first order, ×1.01 for the second). Q4_K's dot sums d·sc·q·x and dmin·m·x apart, terms
     * as large as |x|·(|w| + 2·dmin·m). The bias adds one rounding of the result: u·(|s| + |b|). Where the decode
     * took the integer dots (8-bit activations: the row-major integer dots, or the 16-bit Q4_0 group kernel of a
     * regrouped layer), x is replaced by its quantized values and the depth is
     * {@link IntDotKernelsTest#checkInt}'s B + L + 6.
     */
    static void check(
            QuantizedLinear layer,
            float[] x,
            int m,
            int in,
            int out,
            float[] w,
            QuantizedWeight q,
            float[] b,
            float[] y,
            String what) {
        boolean int8 = q != null
                && (QuantizedMatmul.intActivations(QuantLanes.F, q.type(), m, QuantizedMatmul.Activations.DEFAULT)
                        || (layer.regrouped() && QuantizedMatmul.groupedInt(q.type(), m)));
        int depth = int8 ? in / IntDotKernelsTest.activationBlock(q.type()) + 16 + 6 : in + 2;
        for (int i = 0; i < m; i++) {
            double[] xa = new double[in];
            if (int8) xa = IntDotKernelsTest.quantizedActivation(q.type(), x, i, in);
            else for (int l = 0; l < in; l++) xa[l] = x[i * in + l];
            for (int j = 0; j < out; j++) {
                double s = 0, a = 0;
                for (int l = 0; l < in; l++) {
                    s += xa[l] * w[j * in + l];
                    double extra = q == null ? 0 : 2 * QuantizedMatmulTest.q4kMin(q, j, l);
                    a += Math.abs(xa[l]) * (Math.abs(w[j * in + l]) + extra);
                }
                double bias = b == null ? 0 : b[j];
                double bound = depth * 0x1p-24 * a * 1.01 + 0x1p-24 * (Math.abs(s) + Math.abs(bias)) + 1e-30;
                assertEquals(s + bias, y[i * out + j], bound, what + " y[" + i + ", " + j + "]");
            }
        }
    }

    /** {@link #check} of a built layer's output against its weight floats and GGML blocks. */
    static void check(Built built, float[] x, int m, int in, int out, float[] b, float[] y, String what) {
        check(built.layer(), x, m, in, out, built.w(), built.ggml(), b, y, what);
    }

    /** A layer's weight floats (N(0, 1)·0.05), bias (N(0, 1), or none) and m input rows (N(0, 1)). */
    record LayerCase(int format, int m, int out, int in, boolean strided, float[] w, float[] bias, float[] x) {
        @Override
        public String toString() {
            return "format " + format + " m=" + m + " [" + out + ", " + in + "]" + (strided ? " strided" : "") + " w="
                    + QuantDraws.show(w) + " bias=" + QuantDraws.show(bias) + " x=" + QuantDraws.show(x);
        }
    }

    /**
     * Every format, m in [0, 7], out in [1, 19], 1 to 4 blocks or groups per row (or, for int8, NF4 and FP4, a prime
     * length when 'odd'), with or without a bias, a strided or contiguous input, drawn before the values, so a failure
     * shrinks to a small layer first.
     */
    @Provide
    Arbitrary<LayerCase> layers() {
        Arbitrary<Tuple.Tuple4<Integer, Integer, Integer, Integer>> dims = Combinators.combine(
                        Arbitraries.integers().between(0, FORMATS - 1),
                        Arbitraries.integers().between(0, 7),
                        Arbitraries.integers().between(1, 19),
                        Arbitraries.integers().between(1, 4))
                .as(Tuple::of);
        Arbitrary<Tuple.Tuple3<Boolean, Boolean, Boolean>> flags = Combinators.combine(
                        Arbitraries.of(false, true), Arbitraries.of(false, true), Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(Combinators.combine(dims, flags).as(Tuple::of), t -> {
            int format = t.get1().get1(), m = t.get1().get2(), out = t.get1().get3();
            boolean odd = t.get2().get1(),
                    withBias = t.get2().get2(),
                    strided = t.get2().get3();
            int in = rowLength(format, t.get1().get4(), odd);
            Arbitrary<float[]> bias = withBias ? QuantDraws.normals(out) : Arbitraries.just(null);
            return Combinators.combine(QuantDraws.normals(out * in, 0.05f), bias, QuantDraws.normals(m * in))
                    .as((w, b, x) -> new LayerCase(format, m, out, in, strided, w, b, x));
        });
    }

    @Property(tries = 60)
    void everyFormatAgainstFloat64(@ForAll("layers") LayerCase c) {
        int format = c.format(), m = c.m(), out = c.out(), in = c.in();
        boolean strided = c.strided();
        float[] wf = c.w(), b = c.bias();
        try (Arena arena = Arena.ofShared();
                var ng = Autograd.noGrad()) {
            Built built = build(format, out, in, wf, b == null ? null : Tensor.of(b, out), arena);
            float[] x = c.x();
            // a strided input: the transpose of the [in, m] matrix holding x column-wise
            Tensor xt;
            if (strided) {
                float[] cols = new float[in * m];
                for (int i = 0; i < m; i++) for (int l = 0; l < in; l++) cols[l * m + i] = x[i * in + l];
                xt = Tensor.of(cols, in, m).t();
                assertFalse(m > 1 && in > 1 && xt.isContiguous());
            } else {
                xt = Tensor.of(x, 1, m, in); // a leading batch dim
            }
            // the layer's reused input/output arrays hold NaN: every value read back must have been written
            QuantizedLinear.poisonScratch(Math.max(m * in, m * out), Float.NaN);
            Tensor y = built.layer().forward(xt);
            assertEquals(out, y.size(-1));
            assertEquals(m * out, y.numel());
            check(built, x, m, in, out, b, y.toFloatArray(), built.layer() + " m=" + m);
        }
    }

    /** Decode (one row) through the block-reading dots at a realistic width, with every format. */
    @Test
    void decodeRowOfEveryFormat() {
        Random r = new Random(11);
        int in = 512, out = 67;
        float[] wf = new float[out * in];
        for (int i = 0; i < wf.length; i++) wf[i] = (float) r.nextGaussian();
        float[] x = new float[in];
        for (int i = 0; i < in; i++) x[i] = (float) r.nextGaussian();
        try (Arena arena = Arena.ofShared()) {
            for (int f = 0; f < FORMATS; f++) {
                Built built = build(f, out, in, wf, null, arena);
                float[] y = built.layer().forward(Tensor.of(x, in)).toFloatArray();
                check(built, x, 1, in, out, null, y, built.layer().toString());
            }
        }
    }

    /**
     * W8A8 is exactly Int8Matmul's scalar reference (the same integer sums and final scaling), on the dot path (5
     * rows) and the blocked one (8 and 37 rows; 1100 features, two chunks of depth). The sliver copy of the blocked
     * path exists, and counts in the layer's bytes, from its first product on: out × in int8 bytes, 4 bytes of scale
     * per row, and then slivers of whole {@link dev.panthera.simd.FilledSgemm#SLIVER} columns.
     */
    @Test
    void w8a8EqualsTheIntegerReference() {
        Random r = new Random(3);
        for (int[] c : new int[][] {{13, 97, 5}, {13, 97, 8}, {45, 1100, 37}}) {
            int out = c[0], in = c[1], m = c[2];
            float[] wf = new float[out * in], x = new float[m * in];
            for (int i = 0; i < wf.length; i++) wf[i] = (float) r.nextGaussian();
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            Int8Weight q = Int8Weight.quantize("w", wf, out, in);
            float[] want = new float[m * out];
            Int8Matmul.reference(x, m, q, want);
            QuantizedLinear layer = QuantizedLinear.w8a8(q, null);
            long plain = (long) out * in + 4L * out;
            assertEquals(plain, layer.weightBytes(), "before any product");
            assertArrayEquals(want, layer.forward(Tensor.of(x, m, in)).toFloatArray(), m + " rows");
            int s = dev.panthera.simd.FilledSgemm.SLIVER;
            long slivers = (long) ((out + s - 1) / s) * s * in;
            assertEquals(m >= Int8Matmul.BLOCKED_ROWS ? plain + slivers : plain, layer.weightBytes(), m + " rows");
            assertArrayEquals(want, Int8Matmul.matmul(Tensor.of(x, m, in), q).toFloatArray(), m + " rows, tensor");
        }
    }

    /** A quantized layer takes what Linear takes and gives Linear's output shape; wrong input names the weight. */
    @Test
    void dropInForLinearAndClearErrors() {
        Random r = new Random(2);
        Linear lin = new Linear(64, 10, true, r);
        float[] w = lin.weight().toFloatArray();
        Int8Weight q = Int8Weight.quantize("w", w, 10, 64);
        QuantizedLinear ql = QuantizedLinear.of(q, lin.bias());
        assertEquals(lin.inFeatures(), ql.inFeatures());
        assertEquals(lin.outFeatures(), ql.outFeatures());
        assertTrue(ql.trainableParameters().isEmpty());
        Tensor x = Tensor.of(new float[3 * 2 * 64], 3, 2, 64);
        try (var ng = Autograd.noGrad()) {
            assertArrayEquals(lin.forward(x).dims(), ql.forward(x).dims());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> ql.forward(Tensor.of(new float[63], 63)));
        assertTrue(e.getMessage().contains("[10, 64]") && e.getMessage().contains("63"), e.getMessage());
        Tensor g = Tensor.of(new float[64], 64);
        g.requiresGrad(true);
        var ge = assertThrows(IllegalArgumentException.class, () -> ql.forward(g));
        assertTrue(ge.getMessage().contains("no backward"), ge.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedLinear.of(q, Tensor.of(new float[9], 9)),
                "a bias of the wrong length");
        Bnb4Bit nf4 = Bnb4Bit.quantize(w, FourBitCode.NF4, 64, false);
        var be = assertThrows(IllegalArgumentException.class, () -> QuantizedLinear.of(nf4, 11, 64, null));
        assertTrue(be.getMessage().contains("[11, 64]"), be.getMessage());
    }

    /**
     * Calls from many common-pool tasks at once, each product large enough to split over the pool itself: each thread
     * must use its own reused arrays. Each result must equal the same call made alone (the per-row dots do not depend
     * on the split, so bit for bit). A shared scratch fails this; the guard against a worker re-entering forward while
     * it waits inside a kernel is not forced here (the pool's joins mostly help their own subtasks).
     */
    @Test
    void concurrentCallsKeepTheirOwnArrays() {
        Random r = new Random(5);
        int out = 256, in = 1024, m = 8, calls = 24;
        float[] wf = new float[out * in];
        for (int i = 0; i < wf.length; i++) wf[i] = (float) r.nextGaussian();
        QuantizedLinear layer = QuantizedLinear.of(Int8Weight.quantize("w", wf, out, in), null);
        float[][] xs = new float[calls][m * in];
        float[][] want = new float[calls][];
        try (var ng = Autograd.noGrad()) {
            for (int c = 0; c < calls; c++) {
                for (int i = 0; i < xs[c].length; i++) xs[c][i] = (float) r.nextGaussian();
                want[c] = layer.forward(Tensor.of(xs[c], m, in)).toFloatArray();
            }
        }
        float[][] got = java.util.stream.IntStream.range(0, calls)
                .parallel()
                .mapToObj(c -> {
                    try (var ng = Autograd.noGrad()) {
                        return layer.forward(Tensor.of(xs[c], m, in)).toFloatArray();
                    }
                })
                .toArray(float[][]::new);
        for (int c = 0; c < calls; c++) assertArrayEquals(want[c], got[c], "call " + c);
    }

    /**
     * Stacked rows (q/k/v-like parts of 8, 24 and 16 rows) against the float64 product of each part's own
     * dequantized weight with {@link #check}'s bound, for decode (m = 1, 3) and the panel path (m = 17), with a bias;
     * and, for parts of whole row groups (16 and 32 rows, regrouped on their own too), bit for bit against the
     * parts' own layers: every output row is computed by the same operations wherever its group sits.
     */
    @Test
    void stackedPartsEqualTheirOwnProducts() {
        Random r = new Random(21);
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K}) {
            int in = 2 * t.blockSize();
            try (Arena arena = Arena.ofShared();
                    var ng = Autograd.noGrad()) {
                for (int[] outs : new int[][] {{8, 24, 16}, {16, 32}}) {
                    java.util.List<QuantizedWeight> parts = new java.util.ArrayList<>();
                    int total = 0;
                    for (int o : outs) {
                        parts.add(QuantizedMatmulTest.randomWeight(t, o, in, r, arena));
                        total += o;
                    }
                    float[] b = new float[total];
                    for (int i = 0; i < total; i++) b[i] = (float) r.nextGaussian();
                    QuantizedLinear stacked = QuantizedLinear.stacked(parts, Tensor.of(b, total));
                    if (!QuantizedLinear.REGROUP || QuantizedMatmul.intByDefault(t)) {
                        assertNull(stacked, t + ": these settings keep the row-major blocks, which do not stack");
                        continue;
                    }
                    assertNotNull(stacked, t + " " + java.util.Arrays.toString(outs));
                    assertEquals(total, stacked.outFeatures());
                    boolean wholeGroups = outs[0] % 16 == 0;
                    for (int m : new int[] {1, 3, 17}) {
                        float[] x = new float[m * in];
                        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                        Tensor y = stacked.forward(Tensor.of(x, m, in));
                        int at = 0;
                        for (int p = 0; p < outs.length; p++) {
                            QuantizedWeight w = parts.get(p);
                            float[] bp = java.util.Arrays.copyOfRange(b, at, at + outs[p]);
                            float[] got = y.narrow(-1, at, outs[p]).toFloatArray();
                            String what = t + " stacked part " + p + " m=" + m;
                            check(stacked, x, m, in, outs[p], w.dequantize(), w, bp, got, what);
                            if (wholeGroups) {
                                float[] own = QuantizedLinear.of(w, Tensor.of(bp, outs[p]))
                                        .forward(Tensor.of(x, m, in))
                                        .toFloatArray();
                                assertArrayEquals(own, got, what + " vs its own layer");
                            }
                            for (int row : new int[] {0, outs[p] - 1})
                                assertArrayEquals(
                                        java.util.Arrays.copyOfRange(w.dequantize(), row * in, (row + 1) * in),
                                        stacked.dequantizeRow(at + row),
                                        what + " row " + row);
                            at += outs[p];
                        }
                    }
                }
            }
        }
    }

    /**
     * {@code forward(x, residual)} and {@code forwardSwiGlu(x)} against the tensor ops they stand in for, bit for bit:
     * {@code forward(x).add(residual)}, and {@code silu()} of forward(x)'s first half times its second. Layers: gate
     * and up parts of 32 rows stacked (as a Llama MLP's are) where these settings regroup, else one layer of 64 rows,
     * each with and without a bias (a bias takes the unfused path); inputs [m, in] and [1, m, in] for decode (m = 1, 3)
     * and the panel path (m = 17); the residual contiguous and as a transposed copy (which takes the unfused path).
     */
    @Test
    void residualAndSwiGluGiveTheBitsOfTheOpsTheyFuse() {
        Random r = new Random(23);
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K}) {
            int in = 2 * t.blockSize();
            try (Arena arena = Arena.ofShared();
                    var ng = Autograd.noGrad()) {
                QuantizedWeight gate = QuantizedMatmulTest.randomWeight(t, 32, in, r, arena),
                        up = QuantizedMatmulTest.randomWeight(t, 32, in, r, arena),
                        both = QuantizedMatmulTest.randomWeight(t, 64, in, r, arena);
                float[] b = new float[64];
                for (int i = 0; i < 64; i++) b[i] = (float) r.nextGaussian();
                for (boolean biased : new boolean[] {false, true}) {
                    Tensor bias = biased ? Tensor.of(b, 64) : null;
                    QuantizedLinear stacked = QuantizedLinear.stacked(java.util.List.of(gate, up), bias);
                    QuantizedLinear layer = stacked != null ? stacked : QuantizedLinear.of(both, bias);
                    for (int m : new int[] {1, 3, 17}) {
                        float[] x = new float[m * in], res = new float[m * 64];
                        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                        for (int i = 0; i < res.length; i++) res[i] = (float) r.nextGaussian() * 4;
                        for (long[] shape : new long[][] {{m, in}, {1, m, in}}) {
                            String what = t + (stacked != null ? " stacked" : " one layer") + (biased ? " biased" : "")
                                    + " input " + java.util.Arrays.toString(shape);
                            Tensor xt = Tensor.of(x, shape), y = layer.forward(xt);
                            long[] outShape = y.dims();
                            Tensor resT = Tensor.of(res, outShape);
                            Tensor strided = Tensor.of(res, m, 64)
                                    .transpose(0, 1)
                                    .contiguous()
                                    .transpose(0, 1);
                            if (shape.length == 3) strided = strided.view(1, m, 64);
                            assertArrayEquals(
                                    y.add(resT).toFloatArray(),
                                    layer.forward(xt, resT).toFloatArray(),
                                    what + ": forward(x, residual)");
                            assertArrayEquals(
                                    y.add(strided).toFloatArray(),
                                    layer.forward(xt, strided).toFloatArray(),
                                    what + ": forward(x, strided residual)");
                            Tensor glu = layer.forwardSwiGlu(xt);
                            outShape[outShape.length - 1] = 32;
                            assertArrayEquals(outShape, glu.dims(), what);
                            assertArrayEquals(
                                    y.narrow(-1, 0, 32)
                                            .silu()
                                            .mul(y.narrow(-1, 32, 32))
                                            .toFloatArray(),
                                    glu.toFloatArray(),
                                    what + ": forwardSwiGlu");
                        }
                    }
                }
                QuantizedLinear odd = QuantizedLinear.of(QuantizedMatmulTest.randomWeight(t, 48, in, r, arena), null);
                Tensor x1 = Tensor.of(new float[in], 1, in);
                assertThrows(IllegalArgumentException.class, () -> odd.forward(x1, Tensor.of(new float[47], 1, 47)));
                assertThrows(IllegalArgumentException.class, () -> odd.forward(x1, null));
                QuantizedLinear three =
                        QuantizedLinear.of(QuantizedMatmulTest.randomWeight(t, 3 * 16 + 1, in, r, arena), null);
                var e = assertThrows(IllegalArgumentException.class, () -> three.forwardSwiGlu(x1));
                assertTrue(
                        e.getMessage().contains("even number of rows")
                                && e.getMessage().contains("49"),
                        e.getMessage());
            }
        }
    }

    /**
     * An input or a residual whose MemoryScope has closed is refused naming the tensor (forward reads a contiguous
     * input's memory directly, which after the close is a pooled block another tensor may hold); under another CPU
     * backend ({@code Backends.use}, the reference backend here) forwardSwiGlu gives that backend's
     * {@code silu().mul()} bits, not the SIMD kernels'.
     */
    @Test
    void freedInputsAreRefusedAndSwiGluFollowsTheBackendInUse() throws Exception {
        Random r = new Random(24);
        try (Arena arena = Arena.ofShared();
                var ng = Autograd.noGrad()) {
            QuantizedLinear layer =
                    QuantizedLinear.of(QuantizedMatmulTest.randomWeight(GgmlType.Q4_K, 64, 256, r, arena), null);
            float[] x = new float[256];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian() * 3;
            Tensor freedX, freedRes;
            try (var scope = dev.panthera.tensor.MemoryScope.open()) {
                freedX = Tensor.of(x, 1, 256);
                freedRes = Tensor.of(new float[64], 1, 64);
            }
            Tensor liveX = Tensor.of(x, 1, 256);
            var e = assertThrows(IllegalStateException.class, () -> layer.forward(freedX));
            assertTrue(e.getMessage().contains("used after its memory was freed"), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> layer.forward(liveX, freedRes));
            assertTrue(e.getMessage().contains("used after its memory was freed"), e.getMessage());
            try (var use = dev.panthera.tensor.Backends.use(dev.panthera.tensor.spi.ReferenceBackend.INSTANCE)) {
                Tensor y = layer.forward(liveX);
                assertArrayEquals(
                        y.narrow(-1, 0, 32).silu().mul(y.narrow(-1, 32, 32)).toFloatArray(),
                        layer.forwardSwiGlu(liveX).toFloatArray(),
                        "forwardSwiGlu under the reference backend");
            }
        }
    }

    @Test
    void stackingRefusesMixedPartsAndTypesWithoutGroups() {
        Random r = new Random(22);
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight a = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, 16, 64, r, arena);
            QuantizedWeight b = QuantizedMatmulTest.randomWeight(GgmlType.Q8_0, 16, 64, r, arena);
            QuantizedWeight c = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, 16, 96, r, arena);
            var e = assertThrows(
                    IllegalArgumentException.class, () -> QuantizedLinear.stacked(java.util.List.of(a, b), null));
            assertTrue(e.getMessage().contains("Q8_0") && e.getMessage().contains("Q4_0"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> QuantizedLinear.stacked(java.util.List.of(a, c), null));
            assertThrows(IllegalArgumentException.class, () -> QuantizedLinear.stacked(java.util.List.of(), null));
            // mixed parts are refused before the settings are consulted; the nulls below hold under every setting
            QuantizedWeight q41 = QuantizedMatmulTest.randomWeight(GgmlType.Q4_1, 16, 256, r, arena);
            assertNull(QuantizedLinear.stacked(java.util.List.of(q41, q41), null), "Q4_1 has no grouped layout");
            QuantizedWeight odd = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, 8, 64, r, arena);
            assertNull(QuantizedLinear.stacked(java.util.List.of(odd), null), "8 rows are not a whole group");
        }
    }
}
