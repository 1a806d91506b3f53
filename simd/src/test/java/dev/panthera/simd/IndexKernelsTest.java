package dev.panthera.simd;

import dev.panthera.simd.IndexCases.Buf;
import dev.panthera.simd.IndexCases.Spec;
import dev.panthera.simd.IndexCases.View;
import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * The fast paths of {@link SimdBackend} for fill, where, comparisons, argmax/argmin, SUM/MAX/MIN over several dims
 * (the last among them), gather, scatterAdd and indexAdd, called directly through the SPI on raw storages and
 * layouts. Expected values always come from {@link ReferenceBackend} run on byte-identical copies of the same inputs;
 * whole storages are compared, so writes outside a destination view are caught too. Inputs: random ranks, sizes
 * 0 (fill, comparisons and where), 1, primes and lengths that are not a multiple of the vector width (as well as 8, 16 and 64), contiguous, offset,
 * transposed, narrowed, stepped and broadcast (stride 0, also in the last dim) views, strided destinations, NaN
 * (also with payloads), ±Inf, ±0 and ties, non-canonical BOOL bytes, I32 and I64 indices, and out-of-range indices
 * (both backends must throw the same exception with the same message and leave the same destination). Each case is
 * drawn by jqwik ({@link IndexCases}): its structure first, then its buffers, so a failure shrinks to a small shape,
 * plain views and simple values.
 * <p>
 * Tolerance: none, bit for bit (a NaN only has to meet a NaN), except SUM over several dims. There both backends add
 * the same floats in double, the reference element by element and the SIMD backend row by row in vector lanes; each
 * order is within (n−1)·2⁻⁵³·Σ|x| of the exact sum (the recursive summation bound, n elements per output), and each
 * result is then rounded once to float, so |got − want| ≤ 2(n−1)·2⁻⁵³·Σ|x| + ulp(max(|got|, |want|)).
 */
class IndexKernelsTest {
    private static final Backend REF = ReferenceBackend.INSTANCE, SIMD = new SimdBackend();
    private static final Double[] FILL_VALUES = {
        0.0, -0.0, 1.5, -3.0, 300.0, 1e10, -1e-45, 131072.0, Double.NaN, Double.POSITIVE_INFINITY, 0.25
    };

    /** A case's structure (op, dims, the buffers' specs) and its drawn buffers, in the order of the specs. */
    record Case<S>(S setup, List<Buf> bufs) {
        View view(int i) {
            return bufs.get(i).view();
        }

        @Override
        public String toString() {
            return setup + " buffers " + bufs;
        }
    }

    /** {@code setups} drawn first, then their buffers, so a failure shrinks the structure before the values. */
    private static <S> Arbitrary<Case<S>> cases(Arbitrary<S> setups, Function<S, List<Spec>> specs) {
        return SizesFirst.flatMap(setups, s -> IndexCases.draw(specs.apply(s)).map(b -> new Case<>(s, b)));
    }

    /** About one case in four has an out-of-range index (drawn by {@link IndexCases#breaks}); require one in ten. */
    private static void outOfRangeCoverage(boolean broken) {
        Statistics.label("out-of-range index").collect(broken);
        Statistics.label("out-of-range index").coverage(c -> c.check(true).percentage(p -> p > 10));
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

    record FillSetup(double value, Spec dst) {}

    @Provide
    Arbitrary<Case<FillSetup>> fills() {
        return cases(
                Combinators.combine(
                                Arbitraries.of(DType.values()),
                                Arbitraries.of(FILL_VALUES),
                                IndexCases.shapes(IndexCases.SIZES_AND_0, 0, 4, 6000),
                                IndexCases.picks(true),
                                IndexCases.gens())
                        .as((t, v, shape, pick, gen) -> new FillSetup(v, Spec.of(t, shape, pick, gen))),
                s -> List.of(s.dst()));
    }

    @Property(tries = 300)
    void fillAgrees(@ForAll("fills") Case<FillSetup> c) {
        double value = c.setup().value();
        View dst = c.view(0);
        agree(describe("fill " + value, dst), dst, false, (b, d) -> b.fill(d.s(), d.l(), value));
    }

    record CompareSetup(BinaryOp op, Spec a, Spec b, Spec dst) {}

    @Provide
    Arbitrary<Case<CompareSetup>> comparisons() {
        return cases(
                Combinators.combine(
                                Arbitraries.of(
                                        BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE),
                                IndexCases.shapes(IndexCases.SIZES_AND_0, 0, 4, 6000),
                                IndexCases.gens(),
                                IndexCases.picks(true),
                                IndexCases.picks(true),
                                IndexCases.picks(false))
                        .as((op, shape, gen, pa, pb, pd) -> new CompareSetup(
                                op,
                                Spec.of(DType.F32, shape, pa, gen),
                                Spec.of(DType.F32, shape, pb, gen),
                                Spec.of(DType.BOOL, shape, pd, null))),
                s -> List.of(s.a(), s.b(), s.dst()));
    }

    @Property(tries = 300)
    void comparisonsAgree(@ForAll("comparisons") Case<CompareSetup> c) {
        BinaryOp op = c.setup().op();
        View a = c.view(0), b = c.view(1), dst = c.view(2);
        agree(
                describe(op.name(), a, b, dst),
                dst,
                false,
                (be, d) -> be.binary(op, a.s(), a.l(), b.s(), b.l(), d.s(), d.l()));
    }

    record WhereSetup(Spec c, Spec a, Spec b, Spec dst) {}

    @Provide
    Arbitrary<Case<WhereSetup>> wheres() {
        return cases(
                Combinators.combine(
                                Arbitraries.frequencyOf(
                                        Tuple.of(3, Arbitraries.just(DType.F32)),
                                        Tuple.of(1, Arbitraries.just(DType.I32))),
                                IndexCases.shapes(IndexCases.SIZES_AND_0, 0, 4, 6000),
                                IndexCases.gens(),
                                IndexCases.picks(true),
                                IndexCases.picks(true),
                                IndexCases.picks(true),
                                IndexCases.picks(false))
                        .as((t, shape, gen, pc, pa, pb, pd) -> new WhereSetup(
                                Spec.of(DType.BOOL, shape, pc, null),
                                Spec.of(t, shape, pa, gen),
                                Spec.of(t, shape, pb, gen),
                                Spec.of(t, shape, pd, gen))),
                s -> List.of(s.c(), s.a(), s.b(), s.dst()));
    }

    @Property(tries = 300)
    void whereAgrees(@ForAll("wheres") Case<WhereSetup> w) {
        View c = w.view(0), a = w.view(1), b = w.view(2), dst = w.view(3);
        agree(
                describe("where", c, a, b, dst),
                dst,
                false,
                (be, d) -> be.where(c.s(), c.l(), a.s(), a.l(), b.s(), b.l(), d.s(), d.l()));
    }

    record ReduceSetup(ReduceOp op, List<Integer> dims, Spec src, Spec dst) {
        int[] dimArray() {
            return dims.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @Provide
    Arbitrary<Case<ReduceSetup>> argExtremes() {
        return cases(
                Combinators.combine(
                                Arbitraries.of(ReduceOp.ARGMAX, ReduceOp.ARGMIN),
                                IndexCases.shapes(1, 4, 6000),
                                IndexCases.dimPicks(),
                                IndexCases.gens(),
                                IndexCases.picks(true),
                                IndexCases.picks(false))
                        .as((op, shape, dp, gen, ps, pd) -> {
                            int dim = IndexCases.dim(dp, shape.length, shape.length - 1);
                            return new ReduceSetup(
                                    op,
                                    List.of(dim),
                                    Spec.of(DType.F32, shape, ps, gen),
                                    Spec.of(DType.I64, reduced(shape, new int[] {dim}), pd, null));
                        }),
                s -> List.of(s.src(), s.dst()));
    }

    @Property(tries = 300)
    void argExtremesAgree(@ForAll("argExtremes") Case<ReduceSetup> c) {
        ReduceOp op = c.setup().op();
        int[] dims = c.setup().dimArray();
        View src = c.view(0), dst = c.view(1);
        agree(
                describe(op + " dim " + dims[0], src, dst),
                dst,
                false,
                (b, d) -> b.reduce(op, src.s(), src.l(), dims, d.s(), d.l()));
    }

    /** Reductions over several dims (the last among them) of a rank 2..4 shape, by one of {@code ops}. */
    private static Arbitrary<Case<ReduceSetup>> severalDims(Arbitrary<ReduceOp> ops, Arbitrary<IndexCases.Gen> gens) {
        return cases(
                Combinators.combine(
                                ops,
                                IndexCases.shapes(2, 4, 6000),
                                IndexCases.dimsPicks(),
                                gens,
                                IndexCases.picks(true),
                                IndexCases.picks(false))
                        .as((op, shape, dp, gen, ps, pd) -> {
                            int[] dims = IndexCases.severalDims(dp, shape.length);
                            return new ReduceSetup(
                                    op,
                                    Arrays.stream(dims).boxed().toList(),
                                    Spec.of(DType.F32, shape, ps, gen),
                                    Spec.of(DType.F32, reduced(shape, dims), pd, null));
                        }),
                s -> List.of(s.src(), s.dst()));
    }

    @Provide
    Arbitrary<Case<ReduceSetup>> extremes() {
        return severalDims(Arbitraries.of(ReduceOp.MAX, ReduceOp.MIN), IndexCases.gens());
    }

    @Property(tries = 300)
    void extremesOverSeveralDimsAgree(@ForAll("extremes") Case<ReduceSetup> c) {
        ReduceOp op = c.setup().op();
        int[] dims = c.setup().dimArray();
        View src = c.view(0), dst = c.view(1);
        agree(
                describe(op + " dims " + Arrays.toString(dims), src, dst),
                dst,
                false,
                (b, d) -> b.reduce(op, src.s(), src.l(), dims, d.s(), d.l()));
    }

    /** SUM's values: three times in four normal values or ties without NaN, else any mode. */
    @Provide
    Arbitrary<Case<ReduceSetup>> sums() {
        Arbitrary<IndexCases.Gen> plain = Arbitraries.integers().between(0, 1).map(mode -> new IndexCases.Gen(mode, 0));
        return severalDims(
                Arbitraries.just(ReduceOp.SUM),
                Arbitraries.frequencyOf(Tuple.of(3, plain), Tuple.of(1, IndexCases.gens())));
    }

    @Property(tries = 300)
    void sumsOverSeveralDimsAgree(@ForAll("sums") Case<ReduceSetup> c) {
        int[] dims = c.setup().dimArray();
        View src = c.view(0), dst = c.view(1);
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

    record GatherSetup(int dim, Spec src, Spec idx, IndexCases.Break brk, Spec dst) {}

    @Provide
    Arbitrary<Case<GatherSetup>> gathers() {
        return cases(
                Combinators.combine(
                                Arbitraries.of(DType.F32, DType.F32, DType.I32, DType.F64, DType.I64, DType.F16),
                                IndexCases.shapes(1, 4, 4000),
                                IndexCases.dimPicks(),
                                Combinators.combine(Draws.oneOf(IndexCases.SIZES), IndexCases.indexShapeRaw())
                                        .as(Tuple::of),
                                Combinators.combine(IndexCases.gens(), IndexCases.gens())
                                        .as(Tuple::of),
                                Combinators.combine(IndexCases.indexTypes(), IndexCases.breaks())
                                        .as(Tuple::of),
                                Combinators.combine(
                                                IndexCases.picks(true), IndexCases.picks(true), IndexCases.picks(false))
                                        .as(List::of))
                        .as((t, shape, dp, is, gens, ib, picks) -> {
                            int dim = IndexCases.dim(dp, shape.length, shape.length - 1);
                            long[] ishape = IndexCases.indexShape(shape, dim, is.get1(), is.get2());
                            return new GatherSetup(
                                    dim,
                                    Spec.of(t, shape, picks.get(0), gens.get1()),
                                    Spec.indices(ib.get1(), ishape, picks.get(1), shape[dim]),
                                    ib.get2(),
                                    Spec.of(t, ishape, picks.get(2), gens.get2()));
                        }),
                s -> List.of(s.src(), s.idx(), s.dst()));
    }

    @Property(tries = 300)
    void gatherAgrees(@ForAll("gathers") Case<GatherSetup> c) {
        int dim = c.setup().dim();
        View src = c.view(0), idx = c.view(1), dst = c.view(2);
        boolean broken = c.setup().brk().apply(idx, c.setup().idx().bound());
        outOfRangeCoverage(broken);
        agree(
                describe("gather dim " + dim, src, idx, dst),
                dst,
                broken,
                (b, d) -> b.gather(src.s(), src.l(), dim, idx.s(), idx.l(), d.s(), d.l()));
    }

    /** A scatterAdd or indexAdd: the destination, the index view, the source, and an out-of-range index or none. */
    record AddSetup(int dim, Spec dst, Spec idx, IndexCases.Break brk, Spec src) {}

    @Provide
    Arbitrary<Case<AddSetup>> scatterAdds() {
        return cases(
                Combinators.combine(
                                Arbitraries.frequencyOf(
                                        Tuple.of(4, Arbitraries.just(DType.F32)),
                                        Tuple.of(1, Arbitraries.just(DType.F64))),
                                IndexCases.shapes(1, 4, 4000),
                                IndexCases.dimPicks(),
                                Combinators.combine(Draws.oneOf(IndexCases.SIZES), IndexCases.indexShapeRaw())
                                        .as(Tuple::of),
                                IndexCases.gens(),
                                Combinators.combine(IndexCases.indexTypes(), IndexCases.breaks())
                                        .as(Tuple::of),
                                Combinators.combine(
                                                IndexCases.picks(false), IndexCases.picks(true), IndexCases.picks(true))
                                        .as(List::of))
                        .as((t, shape, dp, is, gen, ib, picks) -> {
                            int dim = IndexCases.dim(dp, shape.length, shape.length - 1);
                            long[] ishape = IndexCases.indexShape(shape, dim, is.get1(), is.get2());
                            return new AddSetup(
                                    dim,
                                    Spec.of(t, shape, picks.get(0), gen),
                                    Spec.indices(ib.get1(), ishape, picks.get(1), shape[dim]),
                                    ib.get2(),
                                    Spec.of(t, ishape, picks.get(2), gen));
                        }),
                s -> List.of(s.dst(), s.idx(), s.src()));
    }

    @Property(tries = 300)
    void scatterAddAgrees(@ForAll("scatterAdds") Case<AddSetup> c) {
        int dim = c.setup().dim();
        View dst = c.view(0), idx = c.view(1), src = c.view(2);
        boolean broken = c.setup().brk().apply(idx, c.setup().idx().bound());
        outOfRangeCoverage(broken);
        agree(
                describe("scatterAdd dim " + dim, dst, idx, src),
                dst,
                broken,
                (b, d) -> b.scatterAdd(d.s(), d.l(), dim, idx.s(), idx.l(), src.s(), src.l()));
    }

    /** indexAdd along dim 0 four times in five (else any dim of a rank 1..3 shape), 1 to 16 indices. */
    @Provide
    Arbitrary<Case<AddSetup>> indexAdds() {
        return cases(
                Combinators.combine(
                                IndexCases.shapes(1, 3, 4000),
                                IndexCases.dimPicks(),
                                Draws.oneOf(Arrays.copyOf(IndexCases.SIZES, 8)),
                                IndexCases.gens(),
                                IndexCases.indexTypes(),
                                IndexCases.breaks(),
                                Combinators.combine(
                                                IndexCases.picks(false), IndexCases.picks(true), IndexCases.picks(true))
                                        .as(List::of))
                        .as((shape, dp, count, gen, it, brk, picks) -> {
                            int dim = IndexCases.dim(dp, shape.length, 0);
                            long[] sshape = shape.clone();
                            sshape[dim] = count;
                            return new AddSetup(
                                    dim,
                                    Spec.of(DType.F32, shape, picks.get(0), gen),
                                    Spec.indices(it, new long[] {count}, picks.get(1), shape[dim]),
                                    brk,
                                    Spec.of(DType.F32, sshape, picks.get(2), gen));
                        }),
                s -> List.of(s.dst(), s.idx(), s.src()));
    }

    @Property(tries = 300)
    void indexAddAgrees(@ForAll("indexAdds") Case<AddSetup> c) {
        int dim = c.setup().dim();
        View dst = c.view(0), idx = c.view(1), src = c.view(2);
        boolean broken = c.setup().brk().apply(idx, c.setup().idx().bound());
        outOfRangeCoverage(broken);
        agree(
                describe("indexAdd dim " + dim, dst, idx, src),
                dst,
                broken,
                (b, d) -> b.indexAdd(d.s(), d.l(), dim, idx.s(), idx.l(), src.s(), src.l()));
    }
}
