package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * I32 and I64 arithmetic, comparisons and reductions on the SIMD backend against the reference, exactly (integer
 * results have one right answer, wrapping included): values mix small integers with the type's extremes so sums and
 * products wrap; views are contiguous, transposed, stepped, offset or broadcast, with rank 0 and size-0 dims among
 * the shapes. A counting fallback fails the test when a claimed case reaches the reference. The dtype and shape are
 * drawn first, then each operand's view, then its values, so a failure shrinks to a small shape first.
 */
class IntOpsConformanceTest {
    private static final long[] SIZES = {0, 1, 2, 3, 5, 7, 8, 9, 13, 17};

    private static final List<Function<Tensor[], Tensor>> CASES = List.of(
            x -> x[0].add(x[1]),
            x -> x[0].neg(),
            x -> x[0].abs(),
            x -> x[0].relu(),
            x -> x[0].sign(),
            x -> x[0].sub(x[1]),
            x -> x[0].mul(x[1]),
            x -> x[0].maximum(x[1]),
            x -> x[0].minimum(x[1]),
            x -> x[0].eq(x[1]).to(DType.I64),
            x -> x[0].lt(x[1]).to(DType.I64),
            x -> x[0].ge(x[1]).to(DType.I64),
            x -> x[0].rank() == 0 ? x[0].add(x[1]) : x[0].add(x[1].select(0, 0)),
            x -> x[0].sum(),
            x -> x[0].rank() == 0 ? x[0].sum() : x[0].sum(new int[] {-1}, true),
            x -> x[0].rank() == 0 ? x[0].sum() : x[0].sum(new int[] {0}, false),
            x -> x[0].rank() == 0 ? x[0].max() : x[0].max(0),
            x -> x[0].rank() == 0 ? x[0].argmax() : x[0].argmax(-1, false),
            x -> x[0].rank() == 0 ? x[0].argmin() : x[0].argmin(0, true));

    private static Backend counting(List<String> claimed) {
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, method, args) -> {
                    List<DType> dtypes = new ArrayList<>();
                    if (args != null) for (Object a : args) if (a instanceof Storage s) dtypes.add(s.dtype());
                    if (SimdBackend.claims(method.getName(), dtypes.toArray(DType[]::new)))
                        claimed.add(method.getName() + dtypes);
                    try {
                        return method.invoke(ReferenceBackend.INSTANCE, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /**
     * One operand: the view kind (0 contiguous, 1 transposed, 2 stepped, 3 offset, 4 broadcast), the dimension a
     * stepped, offset or broadcast view acts on, the base buffer's shape and its values.
     */
    record Operand(int kind, int dim, long[] base, long[] values) {
        Tensor tensor(long[] shape, DType t) {
            Tensor v = Tensor.of(values, base).to(t);
            if (shape.length == 0) return v;
            return switch (kind) {
                case 1 -> v.transpose(0, shape.length - 1);
                case 2 -> v.slice(dim, 1, Math.max(1, base[dim]), 2);
                case 3 -> v.narrow(dim, 2, shape[dim]);
                case 4 -> v.expand(shape);
                default -> v;
            };
        }

        @Override
        public String toString() {
            return "kind " + kind + " dim " + dim + " base " + Arrays.toString(base) + " values "
                    + (values.length <= 64 ? Arrays.toString(values) : values.length + " values");
        }
    }

    /** The dtype, the shape, and two operands for each of {@link #CASES}. */
    record Case(DType t, long[] shape, List<Operand> operands) {
        @Override
        public String toString() {
            return t + " " + Arrays.toString(shape) + " " + operands;
        }
    }

    /**
     * Values that mix small integers with the type's extremes so sums and products wrap: one in six near the largest,
     * one in six near the most negative, else in [−10, 10]. Shrinks toward the small integers, and those toward 0.
     */
    private static Arbitrary<Long> values(DType t) {
        long big = t == DType.I32 ? Integer.MAX_VALUE : Long.MAX_VALUE;
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.longs().between(-10, 10)),
                Tuple.of(1, Arbitraries.longs().between(0, 2).map(d -> big - d)),
                Tuple.of(1, Arbitraries.longs().between(0, 1).map(d -> -big - d)));
    }

    /** The base buffer's shape for a view of {@code shape} of the given kind acting on {@code d}. */
    private static long[] base(long[] shape, int kind, int d) {
        long[] base = shape.clone();
        if (shape.length == 0) return base;
        switch (kind) {
            case 1 -> {
                base[0] = shape[shape.length - 1];
                base[shape.length - 1] = shape[0];
            }
            case 2 -> base[d] *= 2;
            case 3 -> base[d] += 3;
            case 4 -> base[d] = 1;
            default -> {}
        }
        return base;
    }

    private static Arbitrary<Operand> operand(long[] shape, DType t) {
        Arbitrary<Tuple.Tuple2<Integer, Integer>> view = Combinators.combine(
                        Arbitraries.integers().between(0, 4),
                        Arbitraries.integers().between(0, Math.max(0, shape.length - 1)))
                .as(Tuple::of);
        return SizesFirst.flatMap(view, kd -> {
            long[] base = base(shape, kd.get1(), kd.get2());
            long n = 1;
            for (long s : base) n *= s;
            return values(t)
                    .list()
                    .ofSize(Math.toIntExact(n))
                    .map(v -> new Operand(
                            kd.get1(),
                            kd.get2(),
                            base,
                            v.stream().mapToLong(Long::longValue).toArray()));
        });
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Tuple.Tuple2<DType, long[]>> shapes = Combinators.combine(
                        Arbitraries.of(DType.I32, DType.I64),
                        Draws.oneOf(SIZES)
                                .list()
                                .ofMaxSize(3)
                                .map(l -> l.stream().mapToLong(Long::longValue).toArray()))
                .as(Tuple::of);
        return SizesFirst.flatMap(shapes, ts -> {
            List<Arbitrary<Operand>> ops = new ArrayList<>();
            for (int i = 0; i < 2 * CASES.size(); i++) ops.add(operand(ts.get2(), ts.get1()));
            return Draws.all(ops).map(l -> new Case(ts.get1(), ts.get2(), l));
        });
    }

    @Property(tries = 60)
    void agreesExactlyWithTheReference(@ForAll("cases") Case cs) {
        DType t = cs.t();
        long[] shape = cs.shape();
        List<String> claimed = new ArrayList<>();
        Backend simd = new SimdBackend(counting(claimed));
        for (int c = 0; c < CASES.size(); c++) {
            Tensor[] in = {
                cs.operands().get(2 * c).tensor(shape, t),
                cs.operands().get(2 * c + 1).tensor(shape, t)
            };
            long[] want, got;
            try (var use = Backends.use(ReferenceBackend.INSTANCE)) {
                want = CASES.get(c).apply(in).to(DType.I64).toLongArray();
            } catch (RuntimeException e) {
                continue; // an op the reference refuses for this shape (argmax over a size-0 dim)
            }
            try (var use = Backends.use(simd)) {
                got = CASES.get(c).apply(in).to(DType.I64).toLongArray();
            }
            assertArrayEquals(want, got, "case " + c + " on " + t + " " + java.util.Arrays.toString(shape));
        }
        assertEquals(List.of(), claimed, "claimed cases answered by the reference");
    }
}
