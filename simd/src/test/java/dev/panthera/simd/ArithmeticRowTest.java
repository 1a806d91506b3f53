package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The F32 add/sub/mul rows of {@link FloatKernels} (the bias adds, residual adds and scalings of a forward pass)
 * against {@link ReferenceBackend} through the SPI: [rows, cols] with sizes 0, 1, primes and tails around the vector
 * width, the second operand dense, a row broadcast over the rows (stride 0) or one scalar broadcast everywhere, every
 * operand either contiguous or rows with gaps (a column band of a wider buffer, unit innermost stride). Expected: the
 * reference on identical inputs into an identical destination buffer. One float add, sub or mul is one rounding, and
 * the reference's float64 result of two floats rounds to the same float (53 ≥ 2·24 + 2 bits), so every element must be
 * bit-identical, and every element outside the destination view untouched.
 */
class ArithmeticRowTest {
    private static final int[] SIZES = {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 100, 384};

    private static Layout layout(Random r, int rows, int cols) {
        if (r.nextBoolean()) return Layout.contiguous(Shape.of(rows, cols));
        return new Layout(Shape.of(rows, cols), new long[] {cols + 5L, 1}, 3);
    }

    private static Storage filled(Random r, long n, Arena arena) {
        Storage s = Storage.allocate(DType.F32, Math.max(1, n), arena);
        for (long i = 0; i < Math.max(1, n); i++)
            s.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        return s;
    }

    private static long span(Layout l) {
        return l.offset() + l.shape().dim(0) * l.stride(0) + l.shape().dim(1);
    }

    @Property(tries = 300)
    void agreesBitForBitWithTheReference(@ForAll long seed) {
        Random r = new Random(seed);
        int rows = SIZES[r.nextInt(SIZES.length)], cols = SIZES[r.nextInt(SIZES.length)];
        BinaryOp op = new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL}[r.nextInt(3)];
        int kind = r.nextInt(3);
        try (Arena arena = Arena.ofConfined()) {
            Layout al = layout(r, rows, cols), dl = layout(r, rows, cols);
            Layout bl = switch (kind) {
                case 0 -> layout(r, rows, cols);
                case 1 -> new Layout(Shape.of(rows, cols), new long[] {0, 1}, 2); // one row for every row
                default -> new Layout(Shape.of(rows, cols), new long[] {0, 0}, 1); // one scalar
            };
            Storage a = filled(r, span(al), arena), b = filled(r, span(bl), arena);
            Storage want = filled(r, span(dl), arena), got = Storage.allocate(DType.F32, want.numel(), arena);
            got.segment().copyFrom(want.segment());
            ReferenceBackend.INSTANCE.binary(op, a, al, b, bl, want, dl);
            new SimdBackend().binary(op, a, al, b, bl, got, dl);
            for (long i = 0; i < want.numel(); i++) {
                float w = want.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i),
                        g = got.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                if (Float.floatToRawIntBits(w) != Float.floatToRawIntBits(g))
                    throw new AssertionError(op + " [" + rows + ", " + cols + "] operand kind " + kind + ": element "
                            + i + " expected " + w + " but was " + g);
            }
        }
    }
}
