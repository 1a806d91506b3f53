package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The fast paths of {@link SimdBackend} for fill, where, comparisons, argmax/argmin, SUM/MAX/MIN over several dims
 * (the last among them), gather, scatterAdd and indexAdd, called directly through the SPI on raw storages and
 * layouts. Expected values always come from {@link ReferenceBackend} run on byte-identical copies of the same inputs;
 * whole storages are compared, so writes outside a destination view are caught too. Inputs: random ranks, sizes
 * 1, primes and lengths that are not a multiple of the vector width (as well as 8, 16 and 64), contiguous, offset,
 * transposed, narrowed, stepped and broadcast (stride 0, also in the last dim) views, strided destinations, NaN
 * (also with payloads), ±Inf, ±0 and ties, non-canonical BOOL bytes, I32 and I64 indices, and out-of-range indices
 * (both backends must throw the same exception with the same message and leave the same destination).
 * <p>
 * Tolerance: none, bit for bit (a NaN only has to meet a NaN), except SUM over several dims. There both backends add
 * the same floats in double, the reference element by element and the SIMD backend row by row in vector lanes; each
 * order is within (n−1)·2⁻⁵³·Σ|x| of the exact sum (the recursive summation bound, n elements per output), and each
 * result is then rounded once to float, so |got − want| ≤ 2(n−1)·2⁻⁵³·Σ|x| + ulp(max(|got|, |want|)).
 */
class IndexKernelsTest {
    private static final Backend REF = ReferenceBackend.INSTANCE, SIMD = new SimdBackend();
    private static final long[] SIZES = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 67};
    private static final float[] TIES = {-2f, -1f, -0f, 0f, 1f, 2f};
    private static final float[] INFS = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};

    // ------------------------------------------------------------------------------------------------ inputs

    /** A storage and a view into it. */
    record View(Storage s, Layout l) {
        View copy() {
            Storage c = Storage.allocate(s.dtype(), s.numel(), Arena.ofAuto());
            MemorySegment.copy(s.segment(), 0, c.segment(), 0, s.byteSize());
            return new View(c, l);
        }
    }

    /** Float values: 0 normal, 1 ties, 2 normal with NaN (at {@code nanRate}) and ±Inf, 3 only ±Inf with rare NaN. */
    record Gen(int mode, double nanRate) {
        static Gen random(Random r) {
            return new Gen(r.nextInt(4), new double[] {0, 0.003, 0.02, 0.2}[r.nextInt(4)]);
        }

        float next(Random r) {
            return switch (mode) {
                case 0 -> (float) r.nextGaussian();
                case 1 -> TIES[r.nextInt(TIES.length)];
                case 2 -> {
                    double u = r.nextDouble();
                    if (u < nanRate)
                        yield r.nextBoolean() ? Float.NaN : Float.intBitsToFloat(0xffc01234); // payload, negative
                    if (u < nanRate + 0.03) yield INFS[r.nextInt(2)];
                    yield r.nextInt(10) == 0 ? TIES[r.nextInt(TIES.length)] : (float) r.nextGaussian();
                }
                default -> r.nextDouble() < nanRate / 4 ? Float.NaN : INFS[r.nextInt(2)];
            };
        }
    }

    private static long numel(long[] d) {
        long n = 1;
        for (long x : d) n *= x;
        return n;
    }

    /** Rank in [minRank, maxRank], sizes from SIZES, shrunk until at most {@code maxNumel} elements. */
    private static long[] shape(Random r, int minRank, int maxRank, long maxNumel) {
        long[] d = new long[minRank + r.nextInt(maxRank - minRank + 1)];
        for (int i = 0; i < d.length; i++) d[i] = SIZES[r.nextInt(SIZES.length)];
        while (numel(d) > maxNumel) {
            int i = r.nextInt(d.length);
            d[i] = SIZES[r.nextInt(5)];
        }
        return d;
    }

    /**
     * A view of {@code shape} over fresh storage filled by {@code gen} (floats) or random values: contiguous, offset,
     * transposed, stepped, narrowed, or (when {@code broadcast}) stride 0 in a random dim or in the last one.
     */
    private static View view(Random r, long[] shape, DType t, Gen gen, boolean broadcast) {
        int rank = shape.length;
        int kind = rank == 0 ? (r.nextBoolean() ? 0 : 4) : r.nextInt(broadcast ? 7 : 5);
        int d = rank == 0 ? 0 : r.nextInt(rank), e = rank == 0 ? 0 : r.nextInt(rank);
        long[] phys = shape.clone();
        Layout l;
        switch (kind) {
            case 1 -> {
                phys[d] = shape[e];
                phys[e] = shape[d];
                l = Layout.contiguous(Shape.of(phys)).transpose(d, e);
            }
            case 2 -> {
                phys[d] = 2 * shape[d] + 1;
                l = Layout.contiguous(Shape.of(phys)).slice(d, 1, phys[d], 2);
            }
            case 3 -> {
                phys[d] = shape[d] + 3;
                l = Layout.contiguous(Shape.of(phys)).narrow(d, 2, shape[d]);
            }
            case 4 ->
                l = new Layout(
                        Shape.of(shape), Layout.contiguous(Shape.of(shape)).strides(), 5);
            case 5, 6 -> {
                int b = kind == 5 ? d : rank - 1;
                phys[b] = 1;
                long[] st = Layout.contiguous(Shape.of(phys)).strides();
                st[b] = 0;
                l = new Layout(Shape.of(shape), st, 1);
            }
            default -> l = Layout.contiguous(Shape.of(shape));
        }
        Gen g = gen == null ? new Gen(0, 0) : gen;
        long size = Math.max(l.span()[1] + 1, 1) + 3; // slack after the view: writes there must not happen
        Storage s = Storage.allocate(t, size, Arena.ofAuto());
        MemorySegment m = s.segment();
        for (long i = 0; i < size; i++) {
            switch (t) {
                case F32 -> m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, g.next(r));
                case F64 -> m.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, g.next(r));
                case BOOL ->
                    m.set(ValueLayout.JAVA_BYTE, i, (byte)
                            (r.nextInt(8) == 0 ? new int[] {2, -1, 64}[r.nextInt(3)] : r.nextInt(2)));
                default -> {
                    for (int k = 0; k < t.byteSize(); k++)
                        m.set(ValueLayout.JAVA_BYTE, i * t.byteSize() + k, (byte) r.nextInt());
                }
            }
        }
        return new View(s, l);
    }

    /** An integer index view of {@code shape} with values in [0, bound) (bound > 0). */
    private static View index(Random r, long[] shape, long bound, boolean broadcast) {
        DType t = r.nextBoolean() ? DType.I64 : DType.I32;
        View v = view(r, shape, t, null, broadcast);
        for (long i = 0; i < v.s().numel(); i++) setIndex(v.s(), i, (long) (r.nextDouble() * bound));
        return v;
    }

    private static void setIndex(Storage s, long at, long value) {
        if (s.dtype() == DType.I64) s.segment().setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at, value);
        else s.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, at, (int) value);
    }

    /** With probability 1/4 puts an out-of-range value into one element the view reads; true if it did. */
    private static boolean maybeBreak(Random r, View idx, long bound) {
        if (idx.l().numel() == 0 || r.nextInt(4) != 0) return false;
        long[] pos = new long[idx.l().rank()];
        for (int i = 0; i < pos.length; i++)
            pos[i] = (long) (r.nextDouble() * idx.l().shape().dim(i));
        long bad = switch (r.nextInt(4)) {
            case 0 -> -1;
            case 1 -> bound;
            case 2 -> bound + 7;
            default -> idx.s().dtype() == DType.I64 ? Long.MIN_VALUE : Integer.MIN_VALUE;
        };
        setIndex(idx.s(), idx.l().indexOf(pos), bad);
        return true;
    }

    /** The keepdim shape of reducing {@code shape} over {@code dims}. */
    private static long[] reduced(long[] shape, int[] dims) {
        long[] o = shape.clone();
        for (int d : dims) o[d] = 1;
        return o;
    }

    // ------------------------------------------------------------------------------------------------ checks

    private static Throwable thrown(Runnable op) {
        try {
            op.run();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    /**
     * Runs the op on the reference and on SIMD, each writing its own copy of {@code dst}; both must throw the same
     * IndexOutOfBoundsException (message included) when {@code expectThrow}, neither otherwise; then the destination
     * storages must agree bit for bit (NaN meets any NaN).
     */
    private static void agree(
            String what, View dst, boolean expectThrow, java.util.function.BiConsumer<Backend, View> op) {
        View want = dst.copy(), got = dst.copy();
        Throwable e1 = thrown(() -> op.accept(REF, want)), e2 = thrown(() -> op.accept(SIMD, got));
        if (expectThrow) {
            if (!(e1 instanceof IndexOutOfBoundsException)
                    || e2 == null
                    || e1.getClass() != e2.getClass()
                    || !Objects.equals(e1.getMessage(), e2.getMessage())) {
                throw new AssertionError(what + ": reference threw " + e1 + ", simd threw " + e2, e2);
            }
        } else if (e1 != null || e2 != null) {
            throw new AssertionError(
                    what + ": unexpected exception, reference " + e1 + ", simd " + e2, e2 != null ? e2 : e1);
        }
        sameBits(what, want.s(), got.s());
    }

    private static void sameBits(String what, Storage want, Storage got) {
        DType t = want.dtype();
        int w = t.byteSize();
        for (long i = 0; i < want.numel(); i++) {
            if (t == DType.F32) {
                float e = want.segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i),
                        g = got.segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                if (Float.floatToRawIntBits(e) == Float.floatToRawIntBits(g) || (Float.isNaN(e) && Float.isNaN(g)))
                    continue;
                throw new AssertionError(what + ": storage element " + i + " expected " + e + " but was " + g);
            }
            long off = i * w;
            if (MemorySegment.mismatch(want.segment(), off, off + w, got.segment(), off, off + w) != -1) {
                throw new AssertionError(what + ": storage element " + i + " of " + t + " differs: expected "
                        + dev.panthera.tensor.spi.Elements.get(want.segment(), t, i) + " but was "
                        + dev.panthera.tensor.spi.Elements.get(got.segment(), t, i));
            }
        }
    }

    private static String describe(String op, View... vs) {
        StringBuilder b = new StringBuilder(op);
        for (View v : vs) b.append(" | ").append(v.s().dtype()).append(' ').append(v.l());
        return b.toString();
    }

    // ------------------------------------------------------------------------------------------------ properties

    @Property(tries = 300)
    void fillAgrees(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = DType.values()[r.nextInt(DType.values().length)];
        double[] values = {0, -0.0, 1.5, -3, 300, 1e10, -1e-45, 131072, Double.NaN, Double.POSITIVE_INFINITY, 0.25};
        double value = values[r.nextInt(values.length)];
        View dst = view(r, shape(r, 0, 4, 6000), t, Gen.random(r), true);
        agree(describe("fill " + value, dst), dst, false, (b, d) -> b.fill(d.s(), d.l(), value));
    }

    @Property(tries = 300)
    void comparisonsAgree(@ForAll long seed) {
        Random r = new Random(seed);
        BinaryOp op = new BinaryOp[] {BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE}
                [r.nextInt(6)];
        long[] shape = shape(r, 0, 4, 6000);
        Gen gen = Gen.random(r);
        View a = view(r, shape, DType.F32, gen, true), b = view(r, shape, DType.F32, gen, true);
        View dst = view(r, shape, DType.BOOL, null, false);
        agree(
                describe(op.name(), a, b, dst),
                dst,
                false,
                (be, d) -> be.binary(op, a.s(), a.l(), b.s(), b.l(), d.s(), d.l()));
    }

    @Property(tries = 300)
    void whereAgrees(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = r.nextInt(4) == 0 ? DType.I32 : DType.F32;
        long[] shape = shape(r, 0, 4, 6000);
        Gen gen = Gen.random(r);
        View c = view(r, shape, DType.BOOL, null, true),
                a = view(r, shape, t, gen, true),
                b = view(r, shape, t, gen, true);
        View dst = view(r, shape, t, gen, false);
        agree(
                describe("where", c, a, b, dst),
                dst,
                false,
                (be, d) -> be.where(c.s(), c.l(), a.s(), a.l(), b.s(), b.l(), d.s(), d.l()));
    }

    @Property(tries = 300)
    void argExtremesAgree(@ForAll long seed) {
        Random r = new Random(seed);
        ReduceOp op = r.nextBoolean() ? ReduceOp.ARGMAX : ReduceOp.ARGMIN;
        long[] shape = shape(r, 1, 4, 6000);
        int dim = r.nextInt(5) == 0 ? r.nextInt(shape.length) : shape.length - 1;
        View src = view(r, shape, DType.F32, Gen.random(r), true);
        View dst = view(r, reduced(shape, new int[] {dim}), DType.I64, null, false);
        agree(
                describe(op + " dim " + dim, src, dst),
                dst,
                false,
                (b, d) -> b.reduce(op, src.s(), src.l(), new int[] {dim}, d.s(), d.l()));
    }

    @Property(tries = 300)
    void extremesOverSeveralDimsAgree(@ForAll long seed) {
        Random r = new Random(seed);
        ReduceOp op = r.nextBoolean() ? ReduceOp.MAX : ReduceOp.MIN;
        long[] shape = shape(r, 2, 4, 6000);
        int[] dims = severalDims(r, shape.length);
        View src = view(r, shape, DType.F32, Gen.random(r), true);
        View dst = view(r, reduced(shape, dims), DType.F32, null, false);
        agree(
                describe(op + " dims " + Arrays.toString(dims), src, dst),
                dst,
                false,
                (b, d) -> b.reduce(op, src.s(), src.l(), dims, d.s(), d.l()));
    }

    /** The last dim and a random non-empty subset of the others (sometimes all), ascending. */
    private static int[] severalDims(Random r, int rank) {
        List<Integer> ds = new ArrayList<>();
        boolean all = r.nextInt(3) == 0;
        for (int i = 0; i < rank - 1; i++) if (all || r.nextBoolean()) ds.add(i);
        if (ds.isEmpty()) ds.add(r.nextInt(rank - 1));
        ds.add(rank - 1);
        return ds.stream().mapToInt(Integer::intValue).toArray();
    }

    @Property(tries = 300)
    void sumsOverSeveralDimsAgree(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = shape(r, 2, 4, 6000);
        int[] dims = severalDims(r, shape.length);
        Gen gen = r.nextInt(4) == 0 ? Gen.random(r) : new Gen(r.nextInt(2), 0);
        View src = view(r, shape, DType.F32, gen, true);
        View dst = view(r, reduced(shape, dims), DType.F32, null, false);
        View want = dst.copy(), got = dst.copy();
        REF.reduce(ReduceOp.SUM, src.s(), src.l(), dims, want.s(), want.l());
        SIMD.reduce(ReduceOp.SUM, src.s(), src.l(), dims, got.s(), got.l());
        // Σ|x| per output element (row-major over the output shape), by the reference
        int outputs = Math.toIntExact(dst.l().numel());
        Storage absSrc = Storage.allocate(DType.F32, src.s().numel(), Arena.ofAuto()),
                absF32 = Storage.allocate(DType.F32, outputs, Arena.ofAuto());
        REF.unary(dev.panthera.tensor.UnaryOp.ABS, src.s(), src.l(), absSrc, src.l());
        REF.reduce(
                ReduceOp.SUM,
                absSrc,
                src.l(),
                dims,
                absF32,
                Layout.contiguous(dst.l().shape()));
        long n = src.l().numel() / Math.max(dst.l().numel(), 1);
        String what = describe("SUM dims " + Arrays.toString(dims), src, dst);
        // outside the view the storages must agree bit for bit; inside, within the bound
        dev.panthera.tensor.spi.StridedCursor cd = new dev.panthera.tensor.spi.StridedCursor(dst.l());
        boolean[] inView = new boolean[Math.toIntExact(dst.s().numel())];
        for (int o = 0; o < outputs; o++) {
            long at = cd.next();
            inView[(int) at] = true;
            float e = want.s().segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at),
                    g = got.s().segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
            double sumAbs = absF32.segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o)
                    * (1 + 1e-6); // Σ|x| rounded to float, rounded up
            double bound = 2.0 * Math.max(n - 1, 0) * 0x1p-53 * sumAbs + Math.ulp(Math.max(Math.abs(e), Math.abs(g)));
            boolean ok = Float.isFinite(e) || Float.isFinite(g)
                    ? Float.isFinite(e) && Float.isFinite(g) && Math.abs((double) e - g) <= bound
                    : (Float.isNaN(e) && Float.isNaN(g)) || e == g;
            if (!ok)
                throw new AssertionError(what + ": output " + o + " expected " + e + " but was " + g + " (bound "
                        + bound + ", n " + n + ")");
        }
        for (int i = 0; i < inView.length; i++) {
            if (inView[i]) continue;
            if (Float.floatToRawIntBits(want.s().segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i))
                    != Float.floatToRawIntBits(got.s().segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i))) {
                throw new AssertionError(what + ": storage element " + i + " outside the view was written");
            }
        }
    }

    @Property(tries = 300)
    void gatherAgrees(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = new DType[] {DType.F32, DType.F32, DType.I32, DType.F64, DType.I64, DType.F16}[r.nextInt(6)];
        long[] shape = shape(r, 1, 4, 4000);
        int dim = r.nextInt(5) == 0 ? r.nextInt(shape.length) : shape.length - 1;
        long[] ishape = shape.clone();
        for (int i = 0; i < ishape.length; i++)
            ishape[i] = i == dim ? SIZES[r.nextInt(SIZES.length)] : 1 + (long) (r.nextDouble() * shape[i]);
        View src = view(r, shape, t, Gen.random(r), true);
        View idx = index(r, ishape, shape[dim], true);
        boolean broken = maybeBreak(r, idx, shape[dim]);
        View dst = view(r, ishape, t, Gen.random(r), false);
        agree(
                describe("gather dim " + dim, src, idx, dst),
                dst,
                broken,
                (b, d) -> b.gather(src.s(), src.l(), dim, idx.s(), idx.l(), d.s(), d.l()));
    }

    @Property(tries = 300)
    void scatterAddAgrees(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = r.nextInt(5) == 0 ? DType.F64 : DType.F32;
        long[] shape = shape(r, 1, 4, 4000);
        int dim = r.nextInt(5) == 0 ? r.nextInt(shape.length) : shape.length - 1;
        long[] ishape = shape.clone();
        for (int i = 0; i < ishape.length; i++)
            ishape[i] = i == dim ? SIZES[r.nextInt(SIZES.length)] : 1 + (long) (r.nextDouble() * shape[i]);
        Gen gen = Gen.random(r);
        View dst = view(r, shape, t, gen, false);
        View idx = index(r, ishape, shape[dim], true);
        boolean broken = maybeBreak(r, idx, shape[dim]);
        View src = view(r, ishape, t, gen, true);
        agree(
                describe("scatterAdd dim " + dim, dst, idx, src),
                dst,
                broken,
                (b, d) -> b.scatterAdd(d.s(), d.l(), dim, idx.s(), idx.l(), src.s(), src.l()));
    }

    @Property(tries = 300)
    void indexAddAgrees(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = shape(r, 1, 3, 4000);
        int dim = r.nextInt(5) == 0 ? r.nextInt(shape.length) : 0;
        long count = SIZES[r.nextInt(8)];
        long[] sshape = shape.clone();
        sshape[dim] = count;
        Gen gen = Gen.random(r);
        View dst = view(r, shape, DType.F32, gen, false);
        View idx = index(r, new long[] {count}, shape[dim], true);
        boolean broken = maybeBreak(r, idx, shape[dim]);
        View src = view(r, sshape, DType.F32, gen, true);
        agree(
                describe("indexAdd dim " + dim, dst, idx, src),
                dst,
                broken,
                (b, d) -> b.indexAdd(d.s(), d.l(), dim, idx.s(), idx.l(), src.s(), src.l()));
    }
}
