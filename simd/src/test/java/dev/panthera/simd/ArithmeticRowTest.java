package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The F32 add/sub/mul/div rows of {@link FloatKernels} (the bias adds, residual adds and scalings of a forward pass)
 * against {@link ReferenceBackend} through the SPI: [rows, cols] with sizes 0, 1, primes and tails around the vector
 * width, the second operand dense, a row broadcast over the rows (stride 0) or one scalar broadcast everywhere (or the first operand one scalar), every
 * operand either contiguous or rows with gaps (a column band of a wider buffer, unit innermost stride). Expected: the
 * reference on identical inputs into an identical destination buffer. One float add, sub, mul or div is one rounding, and
 * the reference's float64 result of two floats rounds to the same float (53 ≥ 2·24 + 2 bits), so every element must be
 * bit-identical, and every element outside the destination view untouched. Sizes, operator and layouts are drawn
 * before the values, so a failure shrinks to a small shape first.
 */
class ArithmeticRowTest {
    private static final long[] SIZES = {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 100, 384};
    private static final BinaryOp[] OPS = {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV};

    /**
     * The shape, operator and layouts; {@code kind} 0 dense, 1 b a broadcast row, 2 b a broadcast scalar, 3 a a
     * broadcast scalar (the operand order matters for sub and div), 4 both scalars.
     */
    record Setup(int rows, int cols, BinaryOp op, int kind, boolean aGaps, boolean bGaps, boolean dGaps) {
        Layout a() {
            return kind >= 3 ? new Layout(Shape.of(rows, cols), new long[] {0, 0}, 1) : layout(aGaps);
        }

        Layout b() {
            return switch (kind) {
                case 0, 3 -> layout(bGaps);
                case 1 -> new Layout(Shape.of(rows, cols), new long[] {0, 1}, 2); // one row for every row
                default -> new Layout(Shape.of(rows, cols), new long[] {0, 0}, 1); // one scalar
            };
        }

        Layout d() {
            return layout(dGaps);
        }

        private Layout layout(boolean gaps) {
            if (!gaps) return Layout.contiguous(Shape.of(rows, cols));
            return new Layout(Shape.of(rows, cols), new long[] {cols + 5L, 1}, 3);
        }
    }

    /** The setup and the storages' values (a, b and the destination's prior contents). */
    record Case(Setup s, float[] a, float[] b, float[] d) {
        @Override
        public String toString() {
            return s + " a=" + Draws.show(a) + " b=" + Draws.show(b) + " d=" + Draws.show(d);
        }
    }

    private static long span(Layout l) {
        return Math.max(
                1, l.offset() + l.shape().dim(0) * l.stride(0) + l.shape().dim(1));
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Boolean> gaps = Arbitraries.of(false, true);
        Arbitrary<Setup> setups = Combinators.combine(
                        Draws.oneOf(SIZES),
                        Draws.oneOf(SIZES),
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(0, 4),
                        gaps,
                        gaps,
                        gaps)
                .as((r, c, op, kind, ag, bg, dg) -> new Setup(r.intValue(), c.intValue(), OPS[op], kind, ag, bg, dg));
        return SizesFirst.flatMap(
                setups,
                s -> Combinators.combine(
                                Draws.normals(span(s.a())), Draws.normals(span(s.b())), Draws.normals(span(s.d())))
                        .as((a, b, d) -> new Case(s, a, b, d)));
    }

    private static Storage storage(float[] values, Arena arena) {
        Storage s = Storage.allocate(DType.F32, values.length, arena);
        s.segment().copyFrom(java.lang.foreign.MemorySegment.ofArray(values));
        return s;
    }

    @Property(tries = 300)
    void agreesBitForBitWithTheReference(@ForAll("cases") Case c) {
        Setup s = c.s();
        try (Arena arena = Arena.ofConfined()) {
            Layout al = s.a(), bl = s.b(), dl = s.d();
            Storage a = storage(c.a(), arena), b = storage(c.b(), arena);
            Storage want = storage(c.d(), arena), got = storage(c.d(), arena);
            ReferenceBackend.INSTANCE.binary(s.op(), a, al, b, bl, want, dl);
            new SimdBackend().binary(s.op(), a, al, b, bl, got, dl);
            for (long i = 0; i < want.numel(); i++) {
                float w = want.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i),
                        g = got.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                if (Float.floatToRawIntBits(w) != Float.floatToRawIntBits(g))
                    throw new AssertionError(s.op() + " [" + s.rows() + ", " + s.cols() + "] operand kind " + s.kind()
                            + ": element " + i + " expected " + w + " but was " + g);
            }
        }
    }
}
