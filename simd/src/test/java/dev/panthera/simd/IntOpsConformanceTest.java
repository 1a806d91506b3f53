package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * I32 and I64 arithmetic, comparisons and reductions on the SIMD backend against the reference, exactly (integer
 * results have one right answer, wrapping included): values mix small integers with the type's extremes so sums and
 * products wrap; views are contiguous, transposed, stepped, offset or broadcast, with rank 0 and size-0 dims among
 * the shapes. A counting fallback fails the test when a claimed case reaches the reference.
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

    private static Tensor values(Random r, long[] shape, DType t) {
        long n = 1;
        for (long s : shape) n *= s;
        long[] v = new long[Math.toIntExact(n)];
        long big = t == DType.I32 ? Integer.MAX_VALUE : Long.MAX_VALUE;
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (r.nextInt(6)) {
                case 0 -> big - r.nextInt(3);
                case 1 -> -big - r.nextInt(2);
                default -> r.nextInt(21) - 10;
            };
        }
        return Tensor.of(v, shape).to(t);
    }

    private static Tensor view(Random r, long[] shape, DType t) {
        if (shape.length == 0) return values(r, shape, t);
        int d = r.nextInt(shape.length);
        long[] base = shape.clone();
        switch (r.nextInt(5)) {
            case 1 -> {
                base[0] = shape[shape.length - 1];
                base[shape.length - 1] = shape[0];
                return values(r, base, t).transpose(0, shape.length - 1);
            }
            case 2 -> {
                base[d] *= 2;
                return values(r, base, t).slice(d, 1, Math.max(1, base[d]), 2);
            }
            case 3 -> {
                base[d] += 3;
                return values(r, base, t).narrow(d, 2, shape[d]);
            }
            case 4 -> {
                base[d] = 1;
                return values(r, base, t).expand(shape);
            }
            default -> {
                return values(r, shape, t);
            }
        }
    }

    @Property(tries = 60)
    void agreesExactlyWithTheReference(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = r.nextBoolean() ? DType.I32 : DType.I64;
        long[] shape = new long[r.nextInt(4)];
        for (int i = 0; i < shape.length; i++) shape[i] = SIZES[r.nextInt(SIZES.length)];
        List<String> claimed = new ArrayList<>();
        Backend simd = new SimdBackend(counting(claimed));
        for (int c = 0; c < CASES.size(); c++) {
            Tensor[] in = {view(r, shape, t), view(r, shape, t)};
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
