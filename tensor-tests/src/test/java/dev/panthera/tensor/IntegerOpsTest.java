package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Integer tensors compute like Java's integer arithmetic: I64 exactly (values past 2^53, where a double accumulator
 * would round), I32/I8/U8 wrapping on overflow like Java's int arithmetic and narrowing casts (and like PyTorch's
 * integer tensors). Integer → float conversion is Java's cast. The expected values are Java expressions on the
 * same numbers, written here.
 */
class IntegerOpsTest {

    /**
     * Values that exercise exactness: small ones, near 2^53, near ±2^62, near the extremes, and any long (shrinking
     * toward the small ones).
     */
    @Provide
    Arbitrary<Long> interestingLongs() {
        return Arbitraries.oneOf(
                Arbitraries.longs().between(-10, 10),
                Arbitraries.longs().between(-3, 3).map(d -> (1L << 53) + d),
                Combinators.combine(Arbitraries.of(1L, -1L), Arbitraries.longs().between(0, (1 << 20) - 1))
                        .as((sign, d) -> sign * ((1L << 62) + d)),
                Arbitraries.longs().between(0, 2).flatMap(d -> Arbitraries.of(Long.MAX_VALUE - d, Long.MIN_VALUE + d)),
                Arbitraries.longs());
    }

    @Property(tries = 150)
    void i64ElementwiseIsExactJavaLongArithmetic(
            @ForAll @Size(min = 1, max = 9) List<@From("interestingLongs") Long> as,
            @ForAll @Size(min = 1, max = 9) List<@From("interestingLongs") Long> bs,
            @ForAll boolean steppedB) {
        int n = Math.min(as.size(), bs.size());
        long[] a = new long[n], b = new long[n];
        for (int i = 0; i < n; i++) {
            a[i] = as.get(i);
            b[i] = bs.get(i);
        }
        Tensor ta = Tensor.of(a, n), tb = Tensor.of(b, n);
        if (steppedB) { // a stepped, non-contiguous view of the same values
            long[] twice = new long[2 * n];
            for (int i = 0; i < n; i++) twice[2 * i + 1] = b[i];
            tb = Tensor.of(twice, 2 * n).slice(0, 1, 2 * n, 2);
        }
        long[] add = ta.add(tb).toLongArray(),
                sub = ta.sub(tb).toLongArray(),
                mul = ta.mul(tb).toLongArray();
        long[] max = ta.maximum(tb).toLongArray(), min = ta.minimum(tb).toLongArray();
        long[] lt = ta.lt(tb).toLongArray(),
                eq = ta.eq(tb).toLongArray(),
                ge = ta.ge(tb).toLongArray();
        long[] neg = ta.neg().toLongArray(),
                abs = ta.abs().toLongArray(),
                relu = ta.relu().toLongArray(),
                sign = ta.sign().toLongArray();
        for (int i = 0; i < n; i++) {
            String at = "a=" + a[i] + " b=" + b[i];
            assertEquals(a[i] + b[i], add[i], "add " + at);
            assertEquals(a[i] - b[i], sub[i], "sub " + at);
            assertEquals(a[i] * b[i], mul[i], "mul " + at);
            assertEquals(Math.max(a[i], b[i]), max[i], "maximum " + at);
            assertEquals(Math.min(a[i], b[i]), min[i], "minimum " + at);
            assertEquals(a[i] < b[i] ? 1 : 0, lt[i], "lt " + at);
            assertEquals(a[i] == b[i] ? 1 : 0, eq[i], "eq " + at);
            assertEquals(a[i] >= b[i] ? 1 : 0, ge[i], "ge " + at);
            assertEquals(-a[i], neg[i], "neg " + at);
            assertEquals(Math.abs(a[i]), abs[i], "abs " + at);
            assertEquals(Math.max(a[i], 0), relu[i], "relu " + at);
            assertEquals(Long.signum(a[i]), sign[i], "sign " + at);
        }
        assertEquals(DType.I64, ta.add(tb).dtype());
        assertEquals(DType.I64, ta.neg().dtype());
    }

    /**
     * An I64 matrix of 1 to 4 rows and 1 to 6 columns: one value in three in [0, 100), the rest 2⁵³ + [0, 5) (above
     * where doubles are exact), stored as is or transposed.
     */
    record I64Case(int rows, int cols, long[] v, boolean transposed) {
        @Override
        public String toString() {
            return rows + " x " + cols + (transposed ? " transposed " : " ") + Arrays.toString(v);
        }
    }

    @Provide
    Arbitrary<I64Case> i64Cases() {
        Arbitrary<Long> value = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.longs().between(0, 99)),
                Tuple.of(2, Arbitraries.longs().between(0, 4).map(d -> (1L << 53) + d)));
        return Combinators.combine(
                        Arbitraries.integers().between(1, 4),
                        Arbitraries.integers().between(1, 6))
                .flatAs((rows, cols) -> Combinators.combine(
                                value.list().ofSize(rows * cols), Arbitraries.of(false, true))
                        .as((v, t) -> new I64Case(
                                rows,
                                cols,
                                v.stream().mapToLong(Long::longValue).toArray(),
                                t)));
    }

    @Property(tries = 150)
    void i64ReductionsAreExact(@ForAll("i64Cases") I64Case c) {
        int rows = c.rows(), cols = c.cols();
        long[] v = c.v();
        Tensor x = Tensor.of(v, rows, cols);
        if (c.transposed()) x = Tensor.of(transpose(v, rows, cols), cols, rows).t(); // same values, transposed storage
        long[] sum = x.sum(new int[] {1}, false).toLongArray();
        long[] max = x.max(1).toLongArray(), min = x.min(1).toLongArray();
        long[] amax = x.argmax(1, false).toLongArray(),
                amin = x.argmin(1, false).toLongArray();
        for (int i = 0; i < rows; i++) {
            long s = 0, mx = Long.MIN_VALUE, mn = Long.MAX_VALUE;
            int ax = -1, an = -1;
            for (int j = 0; j < cols; j++) {
                long e = v[i * cols + j];
                s += e;
                if (ax < 0 || e > mx) {
                    mx = e;
                    ax = j;
                } // first occurrence wins
                if (an < 0 || e < mn) {
                    mn = e;
                    an = j;
                }
            }
            assertEquals(s, sum[i], "sum of row " + i);
            assertEquals(mx, max[i], "max of row " + i);
            assertEquals(mn, min[i], "min of row " + i);
            assertEquals(ax, amax[i], "argmax of row " + i);
            assertEquals(an, amin[i], "argmin of row " + i);
        }
        long total = 0;
        for (long e : v) total += e;
        assertEquals(total, x.sum().toLongArray()[0], "sum of all");
        assertEquals(DType.I64, x.sum().dtype());
    }

    private static long[] transpose(long[] v, int rows, int cols) {
        long[] t = new long[v.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = v[i * cols + j];
        return t;
    }

    /**
     * 1 to 8 pairs of I32 operands: a any int or within 2 of Integer.MAX_VALUE, b any int or in [−2, 2], each half the
     * time, so sums and products overflow.
     */
    record WrapCase(int[] a, int[] b) {
        @Override
        public String toString() {
            return "a " + Arrays.toString(a) + ", b " + Arrays.toString(b);
        }
    }

    @Provide
    Arbitrary<WrapCase> wrapCases() {
        Arbitrary<Integer> a = Arbitraries.oneOf(
                Arbitraries.integers(), Arbitraries.integers().between(0, 2).map(d -> Integer.MAX_VALUE - d));
        Arbitrary<Integer> b =
                Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.integers().between(-2, 2));
        return Arbitraries.integers()
                .between(1, 8)
                .flatMap(n -> Combinators.combine(a.list().ofSize(n), b.list().ofSize(n))
                        .as((x, y) -> new WrapCase(
                                x.stream().mapToInt(Integer::intValue).toArray(),
                                y.stream().mapToInt(Integer::intValue).toArray())));
    }

    @Property(tries = 150)
    void narrowIntegerTypesWrapLikeJava(@ForAll("wrapCases") WrapCase c) {
        int[] a = c.a(), b = c.b();
        int n = a.length;
        Tensor ta = Tensor.of(a, n), tb = Tensor.of(b, n);
        long[] add = ta.add(tb).toLongArray(),
                sub = ta.sub(tb).toLongArray(),
                mul = ta.mul(tb).toLongArray(),
                neg = ta.neg().toLongArray();
        for (int i = 0; i < n; i++) {
            assertEquals(a[i] + b[i], add[i], "I32 add wraps: " + a[i] + " + " + b[i]);
            assertEquals(a[i] - b[i], sub[i], "I32 sub wraps");
            assertEquals(a[i] * b[i], mul[i], "I32 mul wraps: " + a[i] + " * " + b[i]);
            assertEquals(-a[i], neg[i], "I32 neg wraps");
        }
        assertEquals(DType.I32, ta.mul(tb).dtype());
        long[] s32 = ta.sum(new int[] {0}, false).toLongArray();
        long exact = 0;
        for (int v : a) exact += v;
        assertEquals(exact, s32[0], "I32 sums into I64 (PyTorch's rule), exactly");
        // I8 and U8 through conversion of the low bits, then arithmetic in the narrow type
        Tensor i8 = ta.to(DType.I8), u8 = ta.to(DType.U8);
        long[] i8sum = i8.add(i8).toLongArray(), u8sum = u8.add(u8).toLongArray();
        for (int i = 0; i < n; i++) {
            assertEquals((byte) ((byte) a[i] + (byte) a[i]), i8sum[i], "I8 wraps");
            assertEquals(((a[i] & 0xFF) + (a[i] & 0xFF)) & 0xFF, u8sum[i], "U8 wraps modulo 256");
        }
    }

    @Property(tries = 300)
    void integerToFloatIsAJavaCast(@ForAll long v) {
        Tensor t = Tensor.of(new long[] {v}, 1);
        assertEquals(
                Float.floatToRawIntBits((float) v),
                Float.floatToRawIntBits(t.to(DType.F32).toFloatArray()[0]),
                "(float) " + v);
        assertEquals((double) v, t.to(DType.F64).toDoubleArray()[0], 0.0, "(double) " + v);
        int iv = (int) v;
        Tensor ti = Tensor.of(new int[] {iv}, 1);
        assertEquals(
                Float.floatToRawIntBits((float) iv),
                Float.floatToRawIntBits(ti.to(DType.F32).toFloatArray()[0]),
                "(float) " + iv);
        // mixing with a float tensor promotes through the same conversion
        assertEquals((float) v + 0f, t.add(Tensor.of(0f)).toFloatArray()[0], 0f);
    }

    @Test
    void doubleRoundingCasesThatAJavaCastAvoids() {
        // 2^62 + 2^38 + 1 is just above the midpoint of two floats; via double it lands on the midpoint and rounds to
        // even
        long[] v = {
            (1L << 62) + (1L << 38) + 1, -((1L << 62) + (1L << 38) + 1), (1L << 53) + 1, Long.MAX_VALUE, Long.MIN_VALUE
        };
        float[] got = Tensor.of(v, v.length).to(DType.F32).toFloatArray();
        for (int i = 0; i < v.length; i++) assertEquals((float) v[i], got[i], 0f, "(float) " + v[i]);
        assertEquals(
                Float.floatToFloat16((float) 70000L),
                Tensor.of(new long[] {70000}, 1)
                        .to(DType.F16)
                        .storage()
                        .segment()
                        .getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, 0),
                "I64 → F16 through the F32 value (here +Inf)");
    }

    @Test
    void floatToIntegerCastsSaturateAndMapNaNToZero() {
        float[] f = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 3e9f, -3e9f, 2.9f, -2.9f, 300.7f};
        Tensor t = Tensor.of(f);
        long[] i64 = t.to(DType.I64).toLongArray(), i32 = t.to(DType.I32).toLongArray();
        long[] i8 = t.to(DType.I8).toLongArray(),
                u8 = t.to(DType.U8).toLongArray(),
                bool = t.to(DType.BOOL).toLongArray();
        for (int i = 0; i < f.length; i++) {
            assertEquals((long) f[i], i64[i], "(long) " + f[i]);
            assertEquals((int) f[i], i32[i], "(int) " + f[i]);
            assertEquals((byte) f[i], i8[i], "(byte) " + f[i]); // JLS 5.1.3: float → int → byte
            assertEquals(((int) f[i]) & 0xFF, u8[i], "U8 keeps the low 8 bits of (int) " + f[i]);
            assertEquals(f[i] != 0 ? 1 : 0, bool[i], "BOOL is non-zero (NaN is true, as in PyTorch)");
        }
    }

    @Test
    void promotionBetweenIntegerAndBoolTypes() {
        Tensor i32 = Tensor.of(new int[] {1, 2}, 2), i64 = Tensor.of(new long[] {3, 4}, 2);
        Tensor bool = Tensor.of(new boolean[] {true, false}, 2);
        assertEquals(DType.I64, i32.add(i64).dtype());
        assertEquals(DType.I32, i32.add(bool).dtype());
        assertEquals(DType.I64, bool.add(bool).dtype(), "BOOL arithmetic becomes I64");
        assertArrayEquals(new long[] {2, 0}, bool.add(bool).toLongArray());
        assertEquals(DType.F32, i32.div(i64).dtype(), "true division of integers is float");
        assertArrayEquals(new float[] {1f / 3, 0.5f}, i32.div(i64).toFloatArray(), 1e-7f);
        assertEquals(1L, bool.sum().toLongArray()[0]);
        assertEquals(DType.I64, bool.sum().dtype(), "counting trues gives I64");
        assertEquals(DType.BOOL, bool.max().dtype(), "max of BOOL is BOOL");
        assertEquals(1L, bool.max().toLongArray()[0]);
        assertEquals(0L, bool.min().toLongArray()[0]);
    }
}
