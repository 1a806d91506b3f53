package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The operands that are not "the data" — index tensors, masks, conditions, norm weights, in-place destinations —
 * in non-contiguous layouts (transposed, stepped, expanded), and indexAdd/scatterAdd with repeated indices, each
 * against a loop written here over values read with {@code get}.
 */
class IndexingLayoutsTest {

    /** An I64 tensor of {@code shape} with values in [0, bound), laid out contiguous, transposed, stepped or expanded. */
    static Tensor randomIndex(Random r, long[] shape, long bound) {
        long n = Shape.of(shape).numel();
        int kind = r.nextInt(4);
        if (kind == 1 && shape.length == 2) { // stored transposed
            long[] v = new long[(int) n];
            for (int i = 0; i < v.length; i++) v[i] = r.nextInt((int) bound);
            return Tensor.of(v, shape[1], shape[0]).t();
        }
        if (kind == 2 && shape.length >= 1) { // every other element of a longer tensor
            long[] big = shape.clone();
            big[0] *= 2;
            long[] v = new long[(int) (2 * n)];
            for (int i = 0; i < v.length; i++) v[i] = r.nextInt((int) bound);
            return Tensor.of(v, big).slice(0, 0, big[0], 2);
        }
        if (kind == 3 && shape.length >= 1 && shape[0] > 1) { // one row repeated with stride 0
            long[] row = shape.clone();
            row[0] = 1;
            long[] v = new long[(int) Shape.of(row).numel()];
            for (int i = 0; i < v.length; i++) v[i] = r.nextInt((int) bound);
            return Tensor.of(v, row).expand(shape);
        }
        long[] v = new long[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt((int) bound);
        return Tensor.of(v, shape);
    }

    @Property(tries = 120)
    void gatherAndIndexSelectWithStridedIndices(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = Seeded.shape(r, 1, 3);
        int dim = r.nextInt(shape.length);
        Tensor x = Seeded.random(r, shape, DType.F64);
        long[] ishape = shape.clone();
        ishape[dim] = 1 + r.nextInt(5);
        for (int i = 0; i < ishape.length; i++) if (i != dim) ishape[i] = 1 + r.nextInt((int) shape[i]);
        Tensor index = randomIndex(r, ishape, shape[dim]);
        if (r.nextBoolean()) index = index.to(DType.I32);
        Tensor g = x.gather(dim - (r.nextBoolean() ? shape.length : 0), index);
        assertArrayEquals(ishape, g.dims());
        for (long[] i : Oracle.indices(ishape)) {
            long[] src = i.clone();
            src[dim] = (long) index.get(i);
            assertEquals(x.get(src), g.get(i), 0.0, "gather at " + Arrays.toString(i));
        }
        Tensor ids = randomIndex(r, new long[] {1 + r.nextInt(6)}, shape[dim]);
        Tensor sel = x.indexSelect(dim, ids);
        for (long[] i : Oracle.indices(sel.dims())) {
            long[] src = i.clone();
            src[dim] = (long) ids.get(i[dim]);
            assertEquals(x.get(src), sel.get(i), 0.0, "indexSelect at " + Arrays.toString(i));
        }
    }

    @Property(tries = 120)
    void indexAddAndScatterAddAccumulateRepeats(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = Seeded.shape(r, 1, 3);
        for (int i = 0; i < shape.length; i++) shape[i] = Math.min(shape[i], 5);
        int dim = r.nextInt(shape.length);
        Tensor x = Seeded.random(r, shape, DType.F64);
        // indexAdd: src rows land on index[i] along dim; repeated ids add up
        Tensor ids = randomIndex(r, new long[] {1 + r.nextInt(6)}, shape[dim]);
        long[] sshape = shape.clone();
        sshape[dim] = ids.numel();
        Tensor src = Seeded.random(r, sshape, DType.F64);
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
        long[] ishape = shape.clone();
        ishape[dim] = 1 + r.nextInt(5);
        Tensor index = randomIndex(r, ishape, shape[dim]);
        Tensor s2 = Seeded.random(r, ishape, DType.F64);
        Tensor z = x.scatterAdd(dim, index, s2);
        double[] want2 = Oracle.values(x);
        for (long[] i : Oracle.indices(ishape)) {
            long[] to = i.clone();
            to[dim] = (long) index.get(i);
            want2[Oracle.flat(shape, to)] += s2.get(i);
        }
        Oracle.assertClose(want2, Oracle.values(z), 1e-15, 1e-15, "scatterAdd");
    }

    @Property(tries = 120)
    void masksConditionsAndWeightsInAnyLayout(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = r.nextBoolean() ? DType.F64 : DType.F32;
        long[] shape = Seeded.shape(r, 1, 3);
        Tensor x = Seeded.random(r, shape, t);
        int rank = shape.length;
        Tensor cond = switch (r.nextInt(3)) {
            case 0 -> { // a BOOL tensor stored with its dims reversed, viewed back (non-contiguous)
                long[] rev = new long[rank];
                int[] perm = new int[rank];
                for (int i = 0; i < rank; i++) {
                    rev[i] = shape[rank - 1 - i];
                    perm[i] = rank - 1 - i;
                }
                yield Seeded.random(r, rev, DType.F64).gt(0).permute(perm);
            }
            case 1 -> { // a BOOL tensor with size-1 dims expanded (stride 0)
                long[] small = shape.clone();
                for (int i = 0; i < rank; i++) if (r.nextBoolean()) small[i] = 1;
                yield Seeded.random(r, small, DType.F64).gt(0).expand(shape);
            }
            default -> Seeded.random(r, shape, DType.F64).gt(0);
        };
        Tensor other = Seeded.random(r, shape, t);
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
        Tensor wBig = Seeded.normal(r, new long[] {2 * d}, t), weight = wBig.slice(0, 1, 2 * d, 2);
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

    @Property(tries = 150)
    void copyBetweenOverlappingViewsOfOneStorageReadsTheOldValues(@ForAll long seed) {
        // x.copy_(x.t()), shifting a window by narrow: the result must be what a copy from a snapshot gives
        Random r = new Random(seed);
        long n = 1 + r.nextInt(7), m = r.nextBoolean() ? n : 1 + r.nextInt(7);
        Tensor base = Tensor.randn(Shape.of(n + 2, m + 2), r.nextLong()).to(DType.F64);
        double[] before = base.toDoubleArray();
        Tensor src = base.narrow(0, r.nextInt(3), n).narrow(1, r.nextInt(3), m);
        Tensor dst = base.narrow(0, r.nextInt(3), n).narrow(1, r.nextInt(3), m);
        if (n == m && r.nextBoolean()) src = src.t();
        double[] srcValues = Oracle.values(src); // read before the write
        long[][] dstIdx = Oracle.indices(dst.dims());
        long[] at = new long[dstIdx.length];
        for (int i = 0; i < at.length; i++) at[i] = dst.layout().indexOf(dstIdx[i]);
        dst.copy_(src);
        double[] want = before.clone();
        for (int i = 0; i < at.length; i++) want[(int) at[i]] = srcValues[i];
        assertArrayEquals(want, base.toDoubleArray(), "overlapping copy_ from " + src.layout() + " to " + dst.layout());
    }

    @Property(tries = 120)
    void inPlaceWritesIntoStridedDestinations(@ForAll long seed) {
        Random r = new Random(seed);
        long rows = Seeded.size(r, 17), cols = Seeded.size(r, 17);
        Tensor base = Tensor.zeros(DType.F64, Shape.of(cols, 2 * rows));
        Tensor dst = base.slice(1, 1, 2 * rows, 2).t(); // [rows, cols], strided both ways
        Tensor src = Seeded.random(
                r, r.nextBoolean() ? new long[] {rows, cols} : new long[] {cols}, DType.F32); // may broadcast
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
