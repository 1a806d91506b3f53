package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The strided paths of {@link SimdBackend} ({@link WidenedOps}, a row widened into dense scratch at a time): F32
 * inputs and outputs whose last dim is strided — transposed [c, r] views of [r, c] buffers, every other column, a column of a wider buffer — for unary,
 * binary (with a broadcast operand), last-dim softmax, RMS norm and reductions, called through the SPI on raw
 * storages. Expected: {@link ReferenceBackend} on identical inputs into an identical destination buffer, whole
 * buffers compared, so a scatter into the wrong elements (or outside the view) is caught. Tolerance: the conformance
 * tolerance of the row kernels (2e-5 relative + 2e-6 absolute; see SimdBackendConformanceTest); elements outside the
 * destination view must be bit-identical (both start from the same fill). Shape, views and op are drawn before the
 * values, so a failure shrinks to a small shape first.
 */
class StridedPathTest {
    private static final ReferenceBackend REF = ReferenceBackend.INSTANCE;
    private static final SimdBackend SIMD = new SimdBackend();
    private static final long[] SIZES = {1, 2, 3, 7, 8, 9, 13, 17, 31};
    private static final ReduceOp[] REDUCTIONS = {ReduceOp.SUM, ReduceOp.MAX, ReduceOp.MIN};

    private record View(Storage s, Layout l) {}

    /**
     * A [rows, cols] view's layout: dense, transposed, every other column, or one column band of a wider buffer.
     */
    private static Layout layout(int rows, int cols, int kind) {
        return switch (kind) {
            case 0 -> Layout.contiguous(Shape.of(rows, cols));
            case 1 -> new Layout(Shape.of(rows, cols), new long[] {1, rows}, 0);
            case 2 -> new Layout(Shape.of(rows, cols), new long[] {2L * cols, 2}, 1);
            default -> new Layout(Shape.of(rows, cols), new long[] {3L * (cols + 3), 3}, 2);
        };
    }

    /** The buffer length under {@link #layout}'s view of that kind. */
    private static long length(int rows, int cols, int kind) {
        return switch (kind) {
            case 0, 1 -> (long) rows * cols;
            case 2 -> (long) rows * cols * 2 + 1;
            default -> (long) rows * (cols + 3) * 3;
        };
    }

    /**
     * The shape, the views' kinds (input x, second operand y, output), the op (0 exp, 1 sub, 2 mul by y's first row, 3
     * softmax, 4 RMS norm, 5 a reduction), whether the softmax is a log-softmax, and the reduction.
     */
    record Setup(int rows, int cols, int inKind, int yKind, int outKind, int op, boolean log, ReduceOp rop) {}

    /** A setup and its buffers' values. */
    record Case(Setup s, float[] x, float[] y, float[] out) {
        @Override
        public String toString() {
            return s + " x=" + Draws.show(x) + " y=" + Draws.show(y) + " out=" + Draws.show(out);
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> kinds = Arbitraries.integers().between(0, 3);
        Arbitrary<Setup> setups = Combinators.combine(
                        Draws.oneOf(SIZES),
                        Draws.oneOf(SIZES),
                        kinds,
                        kinds,
                        kinds,
                        Arbitraries.integers().between(0, 5),
                        Arbitraries.of(false, true),
                        Arbitraries.of(REDUCTIONS))
                .as((r, c, in, y, out, op, log, rop) ->
                        new Setup(r.intValue(), c.intValue(), in, y, out, op, log, rop));
        return SizesFirst.flatMap(
                setups,
                s -> Combinators.combine(
                                Draws.normals(length(s.rows(), s.cols(), s.inKind())),
                                Draws.normals(length(s.rows(), s.cols(), s.yKind())),
                                Draws.normals(length(s.rows(), s.cols(), s.outKind())))
                        .as((x, y, out) -> new Case(s, x, y, out)));
    }

    private static View view(float[] values, int rows, int cols, int kind, Arena arena) {
        Storage s = Storage.allocate(DType.F32, values.length, arena);
        s.segment().copyFrom(MemorySegment.ofArray(values));
        return new View(s, layout(rows, cols, kind));
    }

    private static Storage copy(Storage s, Arena arena) {
        Storage c = Storage.allocate(s.dtype(), s.numel(), arena);
        MemorySegment.copy(s.segment(), 0, c.segment(), 0, s.byteSize());
        return c;
    }

    private static void same(Storage want, Storage got, Layout view, String what) {
        boolean[] inView = new boolean[Math.toIntExact(want.numel())];
        dev.panthera.tensor.spi.StridedCursor c = new dev.panthera.tensor.spi.StridedCursor(view);
        for (long i = 0; i < view.numel(); i++) inView[(int) c.next()] = true;
        for (int i = 0; i < inView.length; i++) {
            float w = want.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i),
                    g = got.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
            boolean ok = inView[i]
                    ? w == g || Math.abs(w - g) <= 2e-6 + 2e-5 * Math.abs(w) || (Float.isNaN(w) && Float.isNaN(g))
                    : Float.floatToRawIntBits(w) == Float.floatToRawIntBits(g);
            if (!ok)
                throw new AssertionError(what + ": element " + i + (inView[i] ? "" : " (outside the view)")
                        + " expected " + w + " but was " + g);
        }
    }

    @Property(tries = 300)
    void stridedInputsAndOutputs(@ForAll("cases") Case c) {
        Setup st = c.s();
        int rows = st.rows(), cols = st.cols(), op = st.op();
        String what = "op " + op + " on [" + rows + ", " + cols + "] input kind " + st.inKind() + " output kind "
                + st.outKind();
        try (Arena arena = Arena.ofConfined()) {
            View x = view(c.x(), rows, cols, st.inKind(), arena), y = view(c.y(), rows, cols, st.yKind(), arena);
            View out = view(c.out(), rows, cols, st.outKind(), arena);
            Storage want = copy(out.s(), arena), got = copy(out.s(), arena);
            switch (op) {
                case 0 -> {
                    REF.unary(UnaryOp.EXP, x.s(), x.l(), want, out.l());
                    SIMD.unary(UnaryOp.EXP, x.s(), x.l(), got, out.l());
                }
                case 1 -> {
                    REF.binary(BinaryOp.SUB, x.s(), x.l(), y.s(), y.l(), want, out.l());
                    SIMD.binary(BinaryOp.SUB, x.s(), x.l(), y.s(), y.l(), got, out.l());
                }
                case 2 -> { // y's first row broadcast over the rows
                    Layout row = new Layout(Shape.of(rows, cols), new long[] {0, y.l().stride(1)}, y.l().offset());
                    REF.binary(BinaryOp.MUL, x.s(), x.l(), y.s(), row, want, out.l());
                    SIMD.binary(BinaryOp.MUL, x.s(), x.l(), y.s(), row, got, out.l());
                }
                case 3 -> {
                    boolean log = st.log();
                    REF.softmax(x.s(), x.l(), 1, log, want, out.l());
                    SIMD.softmax(x.s(), x.l(), 1, log, got, out.l());
                }
                case 4 -> {
                    REF.rmsNorm(x.s(), x.l(), null, null, 1e-6, want, out.l());
                    SIMD.rmsNorm(x.s(), x.l(), null, null, 1e-6, got, out.l());
                }
                default -> { // a reduction over the last dim of a strided input into a column of the output
                    ReduceOp rop = st.rop();
                    Layout col = new Layout(
                            Shape.of(rows, 1),
                            new long[] {out.l().stride(0), 1},
                            out.l().offset()); // keepdim, as the SPI passes it
                    REF.reduce(rop, x.s(), x.l(), new int[] {1}, want, col);
                    SIMD.reduce(rop, x.s(), x.l(), new int[] {1}, got, col);
                    what += " " + rop;
                    same(want, got, col, what);
                    return;
                }
            }
            same(want, got, out.l(), what);
        }
    }

    /**
     * Softmax along a leading dim with columns of −∞ (all of a column, and part of one), a NaN and +∞: the same NaN,
     * zero and one placement as the reference (an all −∞ column is NaN; a NaN spreads over its column; +∞ gives NaN
     * there, as exp(∞ − ∞)), the rest within the row kernels' tolerance.
     */
    @org.junit.jupiter.api.Test
    void leadingDimSoftmaxEdgeColumns() {
        float ninf = Float.NEGATIVE_INFINITY;
        float[][] cols = {
            {ninf, ninf, ninf}, {ninf, 1f, 2f}, {Float.NaN, 0f, 1f}, {Float.POSITIVE_INFINITY, 0f, 1f}, {3f, -3f, 0.5f}
        };
        int rows = 3, n = 21; // 21 columns: a vector body and a tail for 8 and 16 lanes
        try (Arena arena = Arena.ofConfined()) {
            Storage x = Storage.allocate(DType.F32, (long) rows * n, arena);
            Random r = new Random(4);
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < rows; i++) {
                    float v = j < cols.length ? cols[j][i] : j % 7 == 6 ? cols[j % 5][i] : (float) r.nextGaussian();
                    x.segment().setAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j, v);
                }
            }
            Layout l = Layout.contiguous(Shape.of(rows, n));
            for (boolean log : new boolean[] {false, true}) {
                Storage want = Storage.allocate(DType.F32, (long) rows * n, arena),
                        got = Storage.allocate(DType.F32, (long) rows * n, arena);
                REF.softmax(x, l, 0, log, want, l);
                SIMD.softmax(x, l, 0, log, got, l);
                same(want, got, l, "softmax along dim 0, log=" + log);
            }
        }
    }
}
