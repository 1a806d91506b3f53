package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.testing.ElementArrays;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * The inputs {@link IndexKernelsTest} draws, all through jqwik: shapes from a list of sizes (1, primes, lengths past
 * the vector widths, 8, 16, 64), views of them (contiguous, offset, transposed, narrowed, stepped and stride-0
 * broadcast, also in the last dim), float values in four modes (normal; ties and signed zeros; normal with NaN, also
 * with a payload, and ±Inf; only ±Inf with rare NaN), BOOL bytes that are sometimes not 0 or 1, raw bytes for the
 * other dtypes, and index values. A case's structure (shape, views, modes) is drawn first and its buffers after, so a
 * failure shrinks to a small shape, plain views and simple values.
 */
final class IndexCases {
    private IndexCases() {}

    static final long[] SIZES = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 67};
    /** {@link #SIZES} and 0, for the elementwise ops, where an empty shape is a valid input. */
    static final long[] SIZES_AND_0 = {1, 0, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 67};

    private static final long[] SMALL = {1, 2, 3, 5, 7};
    private static final float[] TIES = {-2f, -1f, -0f, 0f, 1f, 2f};
    private static final float[] INFS = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
    private static final double[] NAN_RATES = {0, 0.003, 0.02, 0.2};

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
        static final Gen NORMAL = new Gen(0, 0);

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

    /** Any of the four modes and NaN rates, shrinking toward normal values without NaN. */
    static Arbitrary<Gen> gens() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(0, 3))
                .as((mode, rate) -> new Gen(mode, NAN_RATES[rate]));
    }

    /**
     * A view's kind (0 contiguous, 1 transposed, 2 stepped, 3 narrowed, 4 offset, 5 broadcast in dim d, 6 broadcast
     * in the last dim) and two dims (taken modulo the rank; 0..11 so each rank up to 4 gets them uniformly).
     */
    record Pick(int kind, int d, int e) {}

    /** Picks among the first five kinds, or all seven when {@code broadcast}; shrinking toward contiguous. */
    static Arbitrary<Pick> picks(boolean broadcast) {
        Arbitrary<Integer> dims = Arbitraries.integers().between(0, 11);
        return Combinators.combine(Arbitraries.integers().between(0, broadcast ? 6 : 4), dims, dims)
                .as(Pick::new);
    }

    /** How a buffer's elements are drawn. */
    enum Fill {
        /** F32 or F64 from a {@link Gen}. */
        FLOATS,
        /** BOOL bytes, one in eight not 0 or 1. */
        BOOLS,
        /** Raw bytes of the dtype. */
        RAW,
        /** I32 or I64 indices in [0, bound). */
        INDICES
    }

    /** One buffer to draw: a view of {@code shape} picked by {@code pick}, and how its elements are drawn. */
    record Spec(DType dtype, long[] shape, Pick pick, Fill fill, Gen gen, long bound) {
        static Spec of(DType dtype, long[] shape, Pick pick, Gen gen) {
            Fill fill = dtype == DType.F32 || dtype == DType.F64
                    ? Fill.FLOATS
                    : dtype == DType.BOOL ? Fill.BOOLS : Fill.RAW;
            return new Spec(dtype, shape, pick, fill, gen == null ? Gen.NORMAL : gen, 0);
        }

        static Spec indices(DType dtype, long[] shape, Pick pick, long bound) {
            return new Spec(dtype, shape, pick, Fill.INDICES, Gen.NORMAL, bound);
        }

        Layout layout() {
            return IndexCases.layout(shape, pick);
        }

        /** The storage's length: the view's span, and 3 elements of slack after it (writes there must not happen). */
        long length() {
            return Math.max(layout().span()[1] + 1, 1) + 3;
        }

        ElementArrays.Kind kind() {
            return switch (fill) {
                case FLOATS -> ElementArrays.floats(gen::next);
                case BOOLS ->
                    new ElementArrays.Kind(
                            r -> r.nextInt(8) == 0 ? new int[] {2, -1, 64}[r.nextInt(3)] : r.nextInt(2),
                            v -> v == 0 || v == 1 ? v : 1,
                            v -> v == 0 ? 0 : v == 1 ? 1 : 2);
                case RAW -> {
                    int bits = 8 * dtype.byteSize();
                    yield ElementArrays.whole(r -> bits == 64 ? r.nextLong() : r.nextLong() & ((1L << bits) - 1));
                }
                case INDICES -> ElementArrays.whole(r -> (long) (r.nextDouble() * bound));
            };
        }

        @Override
        public String toString() {
            return dtype + " " + Arrays.toString(shape) + " " + pick + " " + fill
                    + (fill == Fill.FLOATS ? " " + gen : fill == Fill.INDICES ? " below " + bound : "");
        }

        /** The drawn buffer of this spec. */
        Arbitrary<Buf> draw() {
            return ElementArrays.of(kind(), length()).map(bits -> new Buf(this, bits));
        }
    }

    /** A spec and its drawn elements (raw bits: a float's, a byte, an index, the dtype's bytes). */
    record Buf(Spec spec, long[] bits) {
        /** A fresh storage holding the elements, and the view into it. */
        View view() {
            DType t = spec.dtype();
            Storage s = Storage.allocate(t, bits.length, Arena.ofAuto());
            MemorySegment m = s.segment();
            for (int i = 0; i < bits.length; i++) {
                long b = bits[i];
                switch (spec.fill()) {
                    case FLOATS -> {
                        float f = Float.intBitsToFloat((int) b);
                        if (t == DType.F32) m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, f);
                        else m.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, f);
                    }
                    case BOOLS -> m.set(ValueLayout.JAVA_BYTE, i, (byte) b);
                    case INDICES -> setIndex(s, i, b);
                    case RAW -> {
                        for (int k = 0; k < t.byteSize(); k++)
                            m.set(ValueLayout.JAVA_BYTE, (long) i * t.byteSize() + k, (byte) (b >>> (8 * k)));
                    }
                }
            }
            return new View(s, spec.layout());
        }

        @Override
        public String toString() {
            int n = Math.min(bits.length, 16);
            StringBuilder b = new StringBuilder(spec.dtype() + " " + spec.layout() + " " + spec.fill());
            if (spec.fill() == Fill.FLOATS) b.append(" mode ").append(spec.gen().mode());
            b.append(" ").append(bits.length).append(" elements [");
            for (int i = 0; i < n; i++) {
                if (i > 0) b.append(", ");
                b.append(spec.fill() == Fill.FLOATS ? Float.toString(Float.intBitsToFloat((int) bits[i])) : bits[i]);
            }
            return b.append(bits.length > n ? ", ...]" : "]").toString();
        }
    }

    /** The buffers of {@code specs}, in order. */
    static Arbitrary<List<Buf>> draw(List<Spec> specs) {
        return Draws.all(specs.stream().map(Spec::draw).toList());
    }

    static void setIndex(Storage s, long at, long value) {
        if (s.dtype() == DType.I64) s.segment().setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at, value);
        else s.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, at, (int) value);
    }

    static long numel(long[] d) {
        long n = 1;
        for (long x : d) n *= x;
        return n;
    }

    /**
     * Shapes of rank in [minRank, maxRank] with sizes from {@link #SIZES}; while there are more than {@code maxNumel}
     * elements the largest size is replaced by a small one (1, 2, 3, 5 or 7, drawn too). Shrinks toward rank
     * {@code minRank} and sizes 1.
     */
    static Arbitrary<long[]> shapes(int minRank, int maxRank, long maxNumel) {
        return shapes(SIZES, minRank, maxRank, maxNumel);
    }

    /** {@link #shapes(int, int, long)} with sizes from {@code listed}, shrinking toward its first. */
    static Arbitrary<long[]> shapes(long[] listed, int minRank, int maxRank, long maxNumel) {
        Arbitrary<List<Long>> sizes = Draws.oneOf(listed)
                .list()
                .ofMinSize(minRank)
                .ofMaxSize(maxRank)
                .withSizeDistribution(RandomDistribution.uniform());
        Arbitrary<List<Long>> small = Draws.oneOf(SMALL).list().ofSize(maxRank);
        return Combinators.combine(sizes, small).as((s, sm) -> {
            long[] d = s.stream().mapToLong(Long::longValue).toArray();
            while (numel(d) > maxNumel) { // ends: with every size at most 7, a rank-4 shape has 2401 elements
                int big = 0;
                for (int i = 1; i < d.length; i++) if (d[i] > d[big]) big = i;
                d[big] = sm.get(big);
            }
            return d;
        });
    }

    /**
     * A dim of a shape: the last (or {@code fallback} when not -1) four times in five, else any (taken modulo the
     * rank). The arbitrary gives -1 for the default and 0..11 otherwise; {@link #dim} resolves it.
     */
    static Arbitrary<Integer> dimPicks() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.just(-1)),
                Tuple.of(1, Arbitraries.integers().between(0, 11)));
    }

    static int dim(int pick, int rank, int otherwise) {
        return pick < 0 ? otherwise : pick % rank;
    }

    /** A choice of several dims: all but the last (one time in three), or a subset with a fallback if empty. */
    record DimsPick(boolean all, List<Boolean> mask, int fallback) {}

    static Arbitrary<DimsPick> dimsPicks() {
        return Combinators.combine(
                        Arbitraries.frequencyOf(
                                Tuple.of(2, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true))),
                        Arbitraries.of(false, true).list().ofSize(3),
                        Arbitraries.integers().between(0, 11))
                .as(DimsPick::new);
    }

    /** The last dim and a non-empty subset of the others (sometimes all), ascending. */
    static int[] severalDims(DimsPick p, int rank) {
        List<Integer> ds = new ArrayList<>();
        for (int i = 0; i < rank - 1; i++) if (p.all() || p.mask().get(i)) ds.add(i);
        if (ds.isEmpty()) ds.add(p.fallback() % (rank - 1));
        ds.add(rank - 1);
        return ds.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * An index shape for gather and scatterAdd on {@code shape} along {@code dim}: any listed size along it, and
     * 1..shape[i] along the others ({@code raw} taken modulo).
     */
    static long[] indexShape(long[] shape, int dim, long along, List<Long> raw) {
        long[] ishape = shape.clone();
        for (int i = 0; i < ishape.length; i++) ishape[i] = i == dim ? along : 1 + raw.get(i) % shape[i];
        return ishape;
    }

    /** Raw draws for {@link #indexShape}: four whole numbers, shrinking toward 0 (size 1). */
    static Arbitrary<List<Long>> indexShapeRaw() {
        return Arbitraries.longs().between(0, 66).list().ofSize(4);
    }

    /**
     * An out-of-range index put into one element an index view reads, one time in four: its kind (0: −1, 1: the
     * bound, 2: bound + 7, 3: the dtype's minimum; −1: none) and which element (taken modulo the view's count).
     */
    record Break(int kind, long at) {
        /** Puts the bad value into {@code idx}; true if it did. */
        boolean apply(View idx, long bound) {
            long n = idx.l().numel();
            if (kind < 0 || n == 0) return false;
            long[] pos = new long[idx.l().rank()];
            long rest = at % n;
            for (int i = pos.length - 1; i >= 0; i--) {
                long size = idx.l().shape().dim(i);
                pos[i] = rest % size;
                rest /= size;
            }
            long bad = switch (kind) {
                case 0 -> -1;
                case 1 -> bound;
                case 2 -> bound + 7;
                default -> idx.s().dtype() == DType.I64 ? Long.MIN_VALUE : Integer.MIN_VALUE;
            };
            setIndex(idx.s(), idx.l().indexOf(pos), bad);
            return true;
        }
    }

    static Arbitrary<Break> breaks() {
        return Combinators.combine(
                        Arbitraries.frequencyOf(
                                Tuple.of(3, Arbitraries.just(-1)),
                                Tuple.of(1, Arbitraries.integers().between(0, 3))),
                        Arbitraries.longs().between(0, 1 << 20))
                .as(Break::new);
    }

    /** I64 or I32, equally often. */
    static Arbitrary<DType> indexTypes() {
        return Arbitraries.of(DType.I64, DType.I32);
    }

    /**
     * The view {@code pick} describes of {@code shape}: contiguous, offset, transposed, stepped, narrowed, or stride 0
     * in dim d or in the last one. A rank-0 view is contiguous or offset.
     */
    static Layout layout(long[] shape, Pick pick) {
        int rank = shape.length;
        int kind = rank == 0 ? (pick.kind() % 2 == 0 ? 0 : 4) : pick.kind();
        int d = rank == 0 ? 0 : pick.d() % rank, e = rank == 0 ? 0 : pick.e() % rank;
        long[] phys = shape.clone();
        return switch (kind) {
            case 1 -> {
                phys[d] = shape[e];
                phys[e] = shape[d];
                yield Layout.contiguous(Shape.of(phys)).transpose(d, e);
            }
            case 2 -> {
                phys[d] = 2 * shape[d] + 1;
                yield Layout.contiguous(Shape.of(phys)).slice(d, 1, phys[d], 2);
            }
            case 3 -> {
                phys[d] = shape[d] + 3;
                yield Layout.contiguous(Shape.of(phys)).narrow(d, 2, shape[d]);
            }
            case 4 ->
                new Layout(Shape.of(shape), Layout.contiguous(Shape.of(shape)).strides(), 5);
            case 5, 6 -> {
                int b = kind == 5 ? d : rank - 1;
                phys[b] = 1;
                long[] st = Layout.contiguous(Shape.of(phys)).strides();
                st[b] = 0;
                yield new Layout(Shape.of(shape), st, 1);
            }
            default -> Layout.contiguous(Shape.of(shape));
        };
    }
}
