package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The operands that are not "the data" — index tensors, masks, conditions, norm weights, in-place destinations —
 * in non-contiguous layouts (transposed, stepped, expanded), and indexAdd/scatterAdd with repeated indices, each
 * against a loop written here over values read with {@code get}.
 */
class IndexingLayoutsTest {

    /**
     * An I64 index tensor of {@code shape} with values in [0, bound): its storage values and how it is laid out
     * (0 contiguous, 1 stored transposed when rank 2, 2 every other element of a tensor twice as long along dim 0, 3
     * one row repeated with stride 0 when dim 0 is larger than 1; a kind the shape does not allow falls back to
     * contiguous).
     */
    record IndexSpec(long[] shape, int kind, long[] storage) {
        static final int CONTIGUOUS = 0, TRANSPOSED = 1, STEPPED = 2, EXPANDED = 3;

        static int effectiveKind(long[] shape, int kind) {
            return switch (kind) {
                case TRANSPOSED -> shape.length == 2 ? kind : CONTIGUOUS;
                case STEPPED -> shape.length >= 1 ? kind : CONTIGUOUS;
                case EXPANDED -> shape.length >= 1 && shape[0] > 1 ? kind : CONTIGUOUS;
                default -> CONTIGUOUS;
            };
        }

        /** Index tensors of {@code shape} with values in [0, bound) in each of the four layouts, shrinking to contiguous. */
        static Arbitrary<IndexSpec> draw(long[] shape, long bound) {
            long n = Shape.of(shape).numel();
            return Cases.choice(4).flatMap(k -> {
                int kind = effectiveKind(shape, k);
                long count = switch (kind) {
                    case STEPPED -> 2 * n;
                    case EXPANDED -> n / shape[0];
                    default -> n;
                };
                return Cases.indices((int) count, bound).map(v -> new IndexSpec(shape, kind, v));
            });
        }

        Tensor tensor() {
            return switch (kind) {
                case TRANSPOSED -> Tensor.of(storage, shape[1], shape[0]).t();
                case STEPPED -> {
                    long[] big = shape.clone();
                    big[0] *= 2;
                    yield Tensor.of(storage, big).slice(0, 0, big[0], 2);
                }
                case EXPANDED -> {
                    long[] row = shape.clone();
                    row[0] = 1;
                    yield Tensor.of(storage, row).expand(shape);
                }
                default -> Tensor.of(storage, shape);
            };
        }

        @Override
        public String toString() {
            String how = new String[] {"contiguous", "transposed", "stepped", "expanded"}[kind];
            return "I64 " + Arrays.toString(shape) + " " + how + " storage " + Arrays.toString(storage);
        }
    }

    /** x of rank 1 to 3 (sizes 1 to 17) in any layout, a dim, a gather index and indexSelect ids along it. */
    record GatherCase(TensorSpec x, int dim, IndexSpec index, boolean i32, boolean negativeDim, IndexSpec ids) {}

    @Provide
    Arbitrary<GatherCase> gatherCases() {
        return Cases.shape(1, 3)
                .flatMap(shape -> Cases.choice(shape.length).flatMap(dim -> {
                    List<Arbitrary<Long>> sizes = new ArrayList<>();
                    for (int i = 0; i < shape.length; i++)
                        sizes.add(i == dim ? Cases.between(1, 5) : Cases.between(1, shape[i]));
                    Arbitrary<IndexSpec> index = Cases.all(sizes)
                            .flatMap(is -> IndexSpec.draw(
                                    is.stream().mapToLong(Long::longValue).toArray(), shape[dim]));
                    Arbitrary<IndexSpec> ids =
                            Cases.between(1, 6).flatMap(len -> IndexSpec.draw(new long[] {len}, shape[dim]));
                    return Combinators.combine(
                                    Cases.anyLayout(DType.F64, shape),
                                    index,
                                    Arbitraries.of(false, true),
                                    Arbitraries.of(false, true),
                                    ids)
                            .as((x, ix, i32, neg, id) -> new GatherCase(x, dim, ix, i32, neg, id));
                }));
    }

    @Property(tries = 120)
    void gatherAndIndexSelectWithStridedIndices(@ForAll("gatherCases") GatherCase c) {
        long[] shape = c.x().shape().toArray();
        int dim = c.dim();
        Tensor x = c.x().tensor();
        long[] ishape = c.index().shape();
        Tensor index = c.index().tensor();
        if (c.i32()) index = index.to(DType.I32);
        Tensor g = x.gather(dim - (c.negativeDim() ? shape.length : 0), index);
        assertArrayEquals(ishape, g.dims());
        for (long[] i : Oracle.indices(ishape)) {
            long[] src = i.clone();
            src[dim] = (long) index.get(i);
            assertEquals(x.get(src), g.get(i), 0.0, "gather at " + Arrays.toString(i));
        }
        Tensor ids = c.ids().tensor();
        Tensor sel = x.indexSelect(dim, ids);
        for (long[] i : Oracle.indices(sel.dims())) {
            long[] src = i.clone();
            src[dim] = (long) ids.get(i[dim]);
            assertEquals(x.get(src), sel.get(i), 0.0, "indexSelect at " + Arrays.toString(i));
        }
    }

    /**
     * x of rank 1 to 3 (sizes 1 to 5) in any layout and a dim; indexAdd's ids (1 to 6) and src; scatterAdd's index (1
     * to 5 along dim) and src.
     */
    record AddCase(TensorSpec x, int dim, IndexSpec ids, TensorSpec src, IndexSpec index, TensorSpec src2) {}

    @Provide
    Arbitrary<AddCase> addCases() {
        return Shapes.shapes(1, 3, 1, 5, 125)
                .map(Shape::toArray)
                .flatMap(shape -> Combinators.combine(
                                Cases.choice(shape.length), Cases.between(1, 6), Cases.between(1, 5))
                        .flatAs((dim, nIds, nIndex) -> {
                            long[] sshape = shape.clone(), ishape = shape.clone();
                            sshape[dim] = nIds;
                            ishape[dim] = nIndex;
                            return Combinators.combine(
                                            Cases.anyLayout(DType.F64, shape),
                                            IndexSpec.draw(new long[] {nIds}, shape[dim]),
                                            Cases.anyLayout(DType.F64, sshape),
                                            IndexSpec.draw(ishape, shape[dim]),
                                            Cases.anyLayout(DType.F64, ishape))
                                    .as((x, ids, src, index, src2) -> new AddCase(x, dim, ids, src, index, src2));
                        }));
    }

    @Property(tries = 120)
    void indexAddAndScatterAddAccumulateRepeats(@ForAll("addCases") AddCase c) {
        long[] shape = c.x().shape().toArray();
        int dim = c.dim();
        Tensor x = c.x().tensor();
        // indexAdd: src rows land on index[i] along dim; repeated ids add up
        Tensor ids = c.ids().tensor();
        long[] sshape = c.src().shape().toArray();
        Tensor src = c.src().tensor();
        Tensor y = x.indexAdd(dim, ids, src);
        double[] want = Oracle.values(x);
        for (long[] i : Oracle.indices(sshape)) {
            long[] to = i.clone();
            to[dim] = (long) ids.get(i[dim]);
            want[Oracle.flat(shape, to)] += src.get(i);
        }
        Oracle.assertClose(want, Oracle.values(y), 1e-15, 1e-15, "indexAdd");
        assertArrayEquals(Oracle.values(x), Oracle.values(x.detach()), "indexAdd is out of place");
        // scatterAdd: each src element lands at index[i] along dim
        long[] ishape = c.index().shape();
        Tensor index = c.index().tensor();
        Tensor s2 = c.src2().tensor();
        Tensor z = x.scatterAdd(dim, index, s2);
        double[] want2 = Oracle.values(x);
        for (long[] i : Oracle.indices(ishape)) {
            long[] to = i.clone();
            to[dim] = (long) index.get(i);
            want2[Oracle.flat(shape, to)] += s2.get(i);
        }
        Oracle.assertClose(want2, Oracle.values(z), 1e-15, 1e-15, "scatterAdd");
    }

    /**
     * x and other of rank 1 to 3 in F64 or F32, any layout; a condition drawn as F64 values (> 0 is true) stored with
     * its dims reversed (kind 0), with some size-1 dims expanded (kind 1, {@code ones} marks them) or plain (kind 2);
     * a norm weight of twice x's last size read through a step of 2.
     */
    record MaskCase(
            DType t,
            TensorSpec x,
            int condKind,
            List<Boolean> ones,
            TensorSpec cond,
            TensorSpec other,
            TensorSpec wBig) {}

    @Provide
    Arbitrary<MaskCase> maskCases() {
        return Combinators.combine(Arbitraries.of(DType.F64, DType.F32), Cases.shape(1, 3), Cases.choice(3))
                .flatAs((t, shape, kind) -> {
                    int rank = shape.length;
                    return Arbitraries.of(false, true).list().ofSize(rank).flatMap(ones -> {
                        long[] condShape = shape.clone();
                        if (kind == 0) for (int i = 0; i < rank; i++) condShape[i] = shape[rank - 1 - i];
                        if (kind == 1) for (int i = 0; i < rank; i++) if (ones.get(i)) condShape[i] = 1;
                        return Combinators.combine(
                                        Cases.anyLayout(t, shape),
                                        Cases.anyLayout(DType.F64, condShape),
                                        Cases.anyLayout(t, shape),
                                        Cases.contiguous(t, 2 * shape[rank - 1]))
                                .as((x, cond, other, w) -> new MaskCase(t, x, kind, ones, cond, other, w));
                    });
                });
    }

    @Property(tries = 120)
    void masksConditionsAndWeightsInAnyLayout(@ForAll("maskCases") MaskCase in) {
        DType t = in.t();
        long[] shape = in.x().shape().toArray();
        Tensor x = in.x().tensor();
        int rank = shape.length;
        Tensor cond = switch (in.condKind()) {
            case 0 -> { // a BOOL tensor stored with its dims reversed, viewed back (non-contiguous)
                int[] perm = new int[rank];
                for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
                yield in.cond().tensor().gt(0).permute(perm);
            }
            case 1 -> in.cond().tensor().gt(0).expand(shape); // a BOOL tensor with size-1 dims expanded (stride 0)
            default -> in.cond().tensor().gt(0);
        };
        Tensor other = in.other().tensor();
        Tensor w = Tensor.where(cond, x, other), m = x.maskedFill(cond, 2.5);
        for (long[] i : Oracle.indices(shape)) {
            boolean c = cond.get(i) != 0;
            assertEquals(c ? x.get(i) : other.get(i), w.get(i), 0.0, "where");
            assertEquals(c ? 2.5 : x.get(i), m.get(i), 0.0, "maskedFill");
        }
        // a non-BOOL condition means "non-zero"
        Tensor numeric = cond.to(DType.F32).mul(3);
        assertArrayEquals(Oracle.values(w), Oracle.values(Tensor.where(numeric, x, other)));
        // norm weights read through a stepped view
        long d = shape[shape.length - 1];
        Tensor wBig = in.wBig().tensor(), weight = wBig.slice(0, 1, 2 * d, 2);
        Tensor y = x.rmsNorm(weight, 1e-6);
        for (long[] i : Oracle.indices(shape)) {
            long[] j = i.clone();
            double sq = 0;
            for (long k = 0; k < d; k++) {
                j[j.length - 1] = k;
                sq += x.get(j) * x.get(j);
            }
            double want = x.get(i) / Math.sqrt(sq / d + 1e-6) * wBig.get(2 * i[i.length - 1] + 1);
            assertEquals(
                    want,
                    y.get(i),
                    (t == DType.F64 ? 1e-12 : 2e-6) * (1 + Math.abs(want)),
                    "rmsNorm with stepped weight");
        }
    }

    /**
     * An [n + 2, m + 2] F64 base (n in [1, 7], m = n or in [1, 7]), the row and column offsets (0 to 2) of an [n, m]
     * source and destination window in it, and whether a square source is read transposed.
     */
    record OverlapCase(TensorSpec base, List<Long> offsets, boolean transposed) {}

    @Provide
    Arbitrary<OverlapCase> overlapCases() {
        Arbitrary<long[]> nm = Cases.between(1, 7)
                .flatMap(n -> Combinators.combine(Arbitraries.of(true, false), Cases.between(1, 7))
                        .as((square, m) -> new long[] {n, square ? n : m}));
        return nm.flatMap(d -> Combinators.combine(
                        Cases.contiguous(DType.F64, d[0] + 2, d[1] + 2),
                        Cases.between(0, 2).list().ofSize(4),
                        Arbitraries.of(false, true))
                .as(OverlapCase::new));
    }

    @Property(tries = 150)
    void copyBetweenOverlappingViewsOfOneStorageReadsTheOldValues(@ForAll("overlapCases") OverlapCase c) {
        // x.copy_(x.t()), shifting a window by narrow: the result must be what a copy from a snapshot gives
        Tensor base = c.base().tensor();
        long n = base.size(0) - 2, m = base.size(1) - 2;
        List<Long> o = c.offsets();
        double[] before = base.toDoubleArray();
        Tensor src = base.narrow(0, o.get(0), n).narrow(1, o.get(1), m);
        Tensor dst = base.narrow(0, o.get(2), n).narrow(1, o.get(3), m);
        if (n == m && c.transposed()) src = src.t();
        double[] srcValues = Oracle.values(src); // read before the write
        long[][] dstIdx = Oracle.indices(dst.dims());
        long[] at = new long[dstIdx.length];
        for (int i = 0; i < at.length; i++) at[i] = dst.layout().indexOf(dstIdx[i]);
        dst.copy_(src);
        double[] want = before.clone();
        for (int i = 0; i < at.length; i++) want[(int) at[i]] = srcValues[i];
        assertArrayEquals(want, base.toDoubleArray(), "overlapping copy_ from " + src.layout() + " to " + dst.layout());
    }

    /** rows and cols up to 17, and an F32 source of [rows, cols] or [cols] (broadcast) in any layout. */
    record StridedCase(long rows, long cols, TensorSpec src) {}

    @Provide
    Arbitrary<StridedCase> stridedCases() {
        return Combinators.combine(Cases.size(17), Cases.size(17), Arbitraries.of(true, false))
                .flatAs((rows, cols, full) -> Cases.anyLayout(
                                DType.F32, full ? new long[] {rows, cols} : new long[] {cols})
                        .map(src -> new StridedCase(rows, cols, src)));
    }

    @Property(tries = 120)
    void inPlaceWritesIntoStridedDestinations(@ForAll("stridedCases") StridedCase c) {
        long rows = c.rows(), cols = c.cols();
        Tensor base = Tensor.zeros(DType.F64, Shape.of(cols, 2 * rows));
        Tensor dst = base.slice(1, 1, 2 * rows, 2).t(); // [rows, cols], strided both ways
        Tensor src = c.src().tensor(); // may broadcast
        dst.copy_(src);
        for (long[] i : Oracle.indices(new long[] {rows, cols})) {
            double want = src.rank() == 1 ? src.get(i[1]) : src.get(i);
            assertEquals(
                    (float) want, base.get(i[1], 2 * i[0] + 1), 0.0, "written through the view, converted from F32");
            assertEquals(0.0, base.get(i[1], 2 * i[0]), 0.0, "the skipped elements stay untouched");
        }
        dst.fill_(-1);
        assertEquals(-rows * cols, base.sum().item(), 0.0, "fill_ reaches exactly the view's elements");
    }
}
