package dev.panthera.testing;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * Arbitraries for tensors, in the manner of hypothesis' {@code arrays(dtype, shape, elements)} and torch's
 * {@code make_tensor}, with the layout drawn as well: a configuration (immutable; each {@code with...} returns a
 * copy) of shapes, dtypes, layouts and values, turned into {@link #specs()} (the tensor as reportable data) or
 * {@link #tensors()}.
 *
 * <pre>{@code
 * @Provide Arbitrary<Tensor> inputs() {
 *     return Tensors.of(DType.F32).withShapes(Shapes.shapes(1, 3)).tensors();
 * }
 * }</pre>
 *
 * Everything is drawn through jqwik, so a failure replays from jqwik's seed and shrinks: the shape toward fewer and
 * smaller dimensions, the layout toward contiguous, the values toward 0, in that order ({@link SizesFirst}).
 */
public final class Tensors {
    private final Arbitrary<Shape> shapes;
    private final Arbitrary<DType> dtypes;
    private final List<LayoutKind> layouts;
    private final Function<DType, Arbitrary<Double>> values;

    private Tensors(
            Arbitrary<Shape> shapes,
            Arbitrary<DType> dtypes,
            List<LayoutKind> layouts,
            Function<DType, Arbitrary<Double>> values) {
        this.shapes = shapes;
        this.dtypes = dtypes;
        this.layouts = layouts;
        this.values = values;
    }

    /** Tensors of {@code dtype}: shapes of rank 0..4, every layout, the dtype's ordinary {@link Values#of values}. */
    public static Tensors of(DType dtype) {
        return new Tensors(Shapes.shapes(), Arbitraries.just(dtype), List.of(LayoutKind.values()), Values::of);
    }

    /** Tensors of any of {@code dtypes} (shrinking toward the first). */
    public static Tensors of(DType first, DType... more) {
        DType[] all = new DType[more.length + 1];
        all[0] = first;
        System.arraycopy(more, 0, all, 1, more.length);
        return of(first).withDtypes(Arbitraries.of(all));
    }

    /** Every dtype, floats first (shrinking toward F32). */
    public static Arbitrary<DType> dtypes() {
        return Arbitraries.of(
                DType.F32, DType.F64, DType.F16, DType.BF16, DType.I32, DType.I64, DType.I8, DType.U8, DType.BOOL);
    }

    /** The float dtypes, F32 first. */
    public static Arbitrary<DType> floatDtypes() {
        return Arbitraries.of(DType.F32, DType.F64, DType.F16, DType.BF16);
    }

    public Tensors withShapes(Arbitrary<Shape> shapes) {
        return new Tensors(shapes, dtypes, layouts, values);
    }

    /** Every tensor of exactly {@code shape}. */
    public Tensors withShape(Shape shape) {
        return withShapes(Arbitraries.just(shape));
    }

    public Tensors withDtypes(Arbitrary<DType> dtypes) {
        return new Tensors(shapes, dtypes, layouts, values);
    }

    /** Only these layouts (the first listed in {@link LayoutKind} order is the one samples shrink toward). */
    public Tensors withLayouts(LayoutKind first, LayoutKind... more) {
        Set<LayoutKind> set = EnumSet.of(first, more);
        return new Tensors(shapes, dtypes, List.copyOf(set), values);
    }

    /** Element values from {@code values} whatever the dtype. */
    public Tensors withValues(Arbitrary<Double> values) {
        return new Tensors(shapes, dtypes, layouts, t -> values);
    }

    /** Element values chosen per dtype, e.g. {@code t -> Values.withEdges(t, 8)}. */
    public Tensors withValues(Function<DType, Arbitrary<Double>> values) {
        return new Tensors(shapes, dtypes, layouts, values);
    }

    /** The drawn tensors as data (shape, dtype, layout, storage values). */
    public Arbitrary<TensorSpec> specs() {
        return SizesFirst.flatMap(Combinators.combine(shapes, dtypes).as(Tuple::of), t -> specs(t.get1(), t.get2()));
    }

    /** The drawn tensors, each a fresh view of a fresh storage. */
    public Arbitrary<Tensor> tensors() {
        return specs().map(TensorSpec::tensor);
    }

    /** Tensors of {@code shape} and {@code dtype} in this configuration's layouts and values. */
    public Arbitrary<TensorSpec> specs(Shape shape, DType dtype) {
        int rank = shape.rank();
        Arbitrary<LayoutKind> kinds = Arbitraries.of(layouts);
        Arbitrary<Integer> a = Arbitraries.integers().between(0, Math.max(0, rank - 1));
        Arbitrary<Integer> b = Arbitraries.integers().between(0, Math.max(0, (1 << Math.min(rank, 16)) - 1));
        return SizesFirst.flatMap(Combinators.combine(kinds, a, b).as(Tuple::of), t -> {
            TensorSpec plan = plan(shape, dtype, t.get1(), t.get2(), t.get3());
            int n = Math.toIntExact(plan.storageShape().numel());
            return values.apply(dtype)
                    .list()
                    .ofSize(n)
                    .map(v -> new TensorSpec(
                            shape,
                            dtype,
                            plan.layout(),
                            plan.dim(),
                            plan.param(),
                            v.stream().mapToDouble(Double::doubleValue).toArray()));
        });
    }

    /**
     * The layout {@code kind} with parameters taken from the drawn ints, falling back to contiguous where the shape
     * has no room for it (a transpose needs rank 2, a broadcast a dimension larger than 1). The storage is empty
     * here; only its shape matters.
     */
    private static TensorSpec plan(Shape shape, DType dtype, LayoutKind kind, int x, int y) {
        int rank = shape.rank();
        LayoutKind k = kind;
        int dim = 0, param = 0;
        switch (kind) {
            case CONTIGUOUS -> {}
            case TRANSPOSED -> {
                if (rank < 2) k = LayoutKind.CONTIGUOUS;
                else {
                    dim = x % rank;
                    param = (dim + 1 + y % (rank - 1)) % rank;
                }
            }
            case STEPPED -> {
                if (rank == 0) k = LayoutKind.CONTIGUOUS;
                else {
                    dim = x % rank;
                    param = 2 + y % 2;
                }
            }
            case OFFSET -> {
                if (rank == 0) k = LayoutKind.CONTIGUOUS;
                else {
                    dim = x % rank;
                    param = 1 + y % 3;
                }
            }
            case BROADCAST -> {
                int mask = 0;
                for (int d = 0; d < rank; d++) if (shape.dim(d) > 1 && (y >> d & 1) != 0) mask |= 1 << d;
                if (mask == 0) { // expand at least the first dimension larger than 1, if there is one
                    for (int d = 0; d < rank && mask == 0; d++) if (shape.dim(d) > 1) mask = 1 << d;
                }
                if (mask == 0) k = LayoutKind.CONTIGUOUS;
                dim = mask;
            }
        }
        int n = Math.toIntExact(TensorSpec.storageShape(shape, k, dim, param).numel());
        return new TensorSpec(shape, dtype, k, dim, param, new double[n]);
    }
}
