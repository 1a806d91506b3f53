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
 * The indexing and joining ops (embedding, gather, where, maskedFill, cat, stack, split, chunk, indexSelect) against
 * loops written here over values read with {@code get}, on random shapes and layouts in F64 or F32. They copy values,
 * so the expected values are exact.
 */
class IndexingAgainstFloat64Test {
    /** An embedding table [vocab, dim] (vocab in [1, 11], dim up to 17), ids of rank 0 to 2 in [0, vocab), I64 or I32. */
    record Embedding(TensorSpec w, long[] idShape, long[] ids, boolean i32) {
        static Arbitrary<Embedding> draw(DType t) {
            return Combinators.combine(Cases.between(1, 11), Cases.size(17), Cases.shape(0, 2))
                    .flatAs((vocab, dim, idShape) -> Combinators.combine(
                                    Cases.anyLayout(t, vocab, dim),
                                    Cases.indices((int) Shape.of(idShape).numel(), vocab),
                                    Arbitraries.of(false, true))
                            .as((w, ids, i32) -> new Embedding(w, idShape, ids, i32)));
        }

        @Override
        public String toString() {
            return "table " + w + ", ids " + Arrays.toString(idShape) + " " + Arrays.toString(ids)
                    + (i32 ? " I32" : "");
        }
    }

    /** x of rank 1 to 3, a dim gd, and a gather index of 1 to 4 along gd with values in [0, x.size(gd)). */
    record Gather(TensorSpec x, int gd, long[] ishape, long[] gi) {
        static Arbitrary<Gather> draw(DType t) {
            return Cases.shape(1, 3)
                    .flatMap(shape -> Combinators.combine(Cases.choice(shape.length), Cases.between(1, 4))
                            .flatAs((gd, len) -> {
                                long[] ishape = shape.clone();
                                ishape[gd] = len;
                                return Combinators.combine(
                                                Cases.anyLayout(t, shape),
                                                Cases.indices(
                                                        (int) Shape.of(ishape).numel(), shape[gd]))
                                        .as((x, gi) -> new Gather(x, gd, ishape, gi));
                            }));
        }

        @Override
        public String toString() {
            return x + ", dim " + gd + ", index " + Arrays.toString(ishape) + " " + Arrays.toString(gi);
        }
    }

    /** Two operands that broadcast together (shapes of rank 0 to 4, sizes 1 to 17), any layouts. */
    record Pair(TensorSpec a, TensorSpec b) {
        static Arbitrary<Pair> draw(DType t) {
            return Shapes.broadcastable(2, Shapes.shapes(0, 4, 1, 17, Cases.MAX_NUMEL))
                    .flatMap(p -> Combinators.combine(
                                    Cases.anyLayout(t, p.inputs().get(0).toArray()),
                                    Cases.anyLayout(t, p.inputs().get(1).toArray()))
                            .as(Pair::new));
        }
    }

    record EmbedGatherWhere(Embedding e, Gather g, Pair p) {}

    @Provide
    Arbitrary<EmbedGatherWhere> embedGatherWhere() {
        return OpsAgainstFloat64Test.floatTypes()
                .flatMap(t -> Combinators.combine(Embedding.draw(t), Gather.draw(t), Pair.draw(t))
                        .as(EmbedGatherWhere::new));
    }

    @Property(tries = 100)
    void embeddingIndexSelectGatherAndWhere(@ForAll("embedGatherWhere") EmbedGatherWhere in) {
        Embedding em = in.e();
        long dim = em.w().shape().dim(1);
        Tensor w = em.w().tensor();
        long[] idShape = em.idShape(), ids = em.ids();
        Tensor idT = Tensor.of(ids, idShape.length == 0 ? new long[0] : idShape);
        if (idShape.length == 0) idT = idT.reshape();
        Tensor e = Tensor.embedding(w, em.i32() ? idT.to(DType.I32) : idT);
        long[] es = Arrays.copyOf(idShape, idShape.length + 1);
        es[idShape.length] = dim;
        assertArrayEquals(es, e.dims());
        double[] got = Oracle.values(e);
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < dim; j++)
                assertEquals(w.get(ids[i], j), got[(int) (i * dim + j)], 0.0, "embedding row " + ids[i]);
        }

        // gather along a random dim of a random 2-3D tensor
        int gd = in.g().gd();
        Tensor x = in.g().x().tensor();
        long[] ishape = in.g().ishape(), gi = in.g().gi();
        Tensor g = x.gather(gd, Tensor.of(gi, ishape));
        long[][] ix = Oracle.indices(ishape);
        for (int c = 0; c < ix.length; c++) {
            long[] src = ix[c].clone();
            src[gd] = gi[c];
            assertEquals(x.get(src), g.get(ix[c]), 0.0, "gather");
        }

        // where with broadcasting, and maskedFill
        Tensor a = in.p().a().tensor(), b = in.p().b().tensor();
        Tensor cond = a.gt(0);
        Tensor wv = Tensor.where(cond, a, b);
        long[] out = Shape.broadcast("test", a.shape(), b.shape()).toArray();
        for (long[] i : Oracle.indices(out)) {
            double av = a.get(Oracle.broadcastIndex(a.dims(), i)), bv = b.get(Oracle.broadcastIndex(b.dims(), i));
            assertEquals(av > 0 ? av : bv, wv.get(i), 0.0, "where");
        }
        Tensor mf = a.maskedFill(cond, -7);
        double[] av = Oracle.values(a), mv = Oracle.values(mf);
        for (int i = 0; i < av.length; i++) assertEquals(av[i] > 0 ? -7 : av[i], mv[i], 0.0, "maskedFill");
    }

    /**
     * 1 to 3 parts of one float dtype and rank 1 to 3 that differ only along dim (1 to 4 there), any layouts; a split
     * size in [1, 3], a chunk count in [1, 4] and a stack dim in [0, rank].
     */
    record CatCase(int dim, List<TensorSpec> parts, long splitSize, int chunks, int stackDim) {}

    @Provide
    Arbitrary<CatCase> catCases() {
        return Combinators.combine(OpsAgainstFloat64Test.floatTypes(), Cases.shape(1, 3))
                .flatAs((t, shape) -> Cases.choice(shape.length).flatMap(dim -> {
                    Arbitrary<TensorSpec> part = Cases.between(1, 4).flatMap(len -> {
                        long[] s = shape.clone();
                        s[dim] = len;
                        return Cases.anyLayout(t, s);
                    });
                    return Combinators.combine(
                                    part.list().ofMinSize(1).ofMaxSize(3),
                                    Cases.between(1, 3),
                                    Cases.between(1, 4),
                                    Arbitraries.integers().between(0, shape.length))
                            .as((parts, split, chunks, sd) -> new CatCase(dim, parts, split, (int) (long) chunks, sd));
                }));
    }

    @Property(tries = 80)
    void catStackSplitChunk(@ForAll("catCases") CatCase cc) {
        int dim = cc.dim();
        List<Tensor> xs = new ArrayList<>();
        for (TensorSpec p : cc.parts()) xs.add(p.tensor());
        Tensor c = Tensor.cat(xs, dim);
        long at = 0;
        for (Tensor x : xs) {
            for (long[] i : Oracle.indices(x.dims())) {
                long[] j = i.clone();
                j[dim] += at;
                assertEquals(x.get(i), c.get(j), 0.0, "cat");
            }
            at += x.size(dim);
        }
        // split and chunk are views that cat back to the original
        long size = cc.splitSize();
        assertArrayEquals(Oracle.values(c), Oracle.values(Tensor.cat(c.split(size, dim), dim)), "split/cat round trip");
        List<Tensor> ch = c.chunk(cc.chunks(), dim);
        assertArrayEquals(Oracle.values(c), Oracle.values(Tensor.cat(ch, dim)), "chunk/cat round trip");
        for (Tensor part : ch) assertEquals(c.storage(), part.storage(), "chunks are views");
        // stack = unsqueeze + cat
        List<Tensor> same = List.of(xs.get(0), xs.get(0).mul(2));
        int sd = cc.stackDim();
        Tensor st = Tensor.stack(same, sd);
        assertEquals(2, st.size(sd));
        assertArrayEquals(Oracle.values(xs.get(0)), Oracle.values(st.select(sd, 0)));
        assertArrayEquals(Oracle.values(xs.get(0).mul(2)), Oracle.values(st.select(sd, 1)));
    }

    /** x of rank 1 to 3 in any layout, a dim, and 1 to 5 ids in [0, x.size(dim)). */
    record SelectCase(TensorSpec x, int dim, long[] idx) {
        @Override
        public String toString() {
            return x + ", dim " + dim + ", ids " + Arrays.toString(idx);
        }
    }

    @Provide
    Arbitrary<SelectCase> selectCases() {
        return Cases.shape(1, 3)
                .flatMap(shape -> Cases.choice(shape.length)
                        .flatMap(dim -> Combinators.combine(
                                        Cases.anyLayout(DType.F64, shape),
                                        Arbitraries.longs()
                                                .between(0, shape[dim] - 1)
                                                .array(long[].class)
                                                .ofMinSize(1)
                                                .ofMaxSize(5))
                                .as((x, idx) -> new SelectCase(x, dim, idx))));
    }

    @Property(tries = 60)
    void indexSelectAlongAnyDim(@ForAll("selectCases") SelectCase c) {
        long[] shape = c.x().shape().toArray();
        int dim = c.dim();
        Tensor x = c.x().tensor();
        long[] idx = c.idx();
        Tensor y = x.indexSelect(dim, Tensor.of(idx, idx.length));
        long[] ys = shape.clone();
        ys[dim] = idx.length;
        assertArrayEquals(ys, y.dims());
        for (long[] i : Oracle.indices(ys)) {
            long[] s = i.clone();
            s[dim] = idx[(int) i[dim]];
            assertEquals(x.get(s), y.get(i), 0.0);
        }
    }
}
