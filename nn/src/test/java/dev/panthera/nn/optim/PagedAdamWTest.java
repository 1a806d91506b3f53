package dev.panthera.nn.optim;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AdamW with its moments in a memory-mapped file ({@link PagedState}) against AdamW with them in the pool: the same
 * operations on the same values, so every parameter must be bit for bit the same after every step, whatever the sizes
 * (0, 1, primes, tails past a vector) and whether a parameter skips a step.
 */
class PagedAdamWTest {
    @TempDir
    Path tmp;

    static final Path DIR = tempDir();

    private static Path tempDir() {
        try {
            Path d = Files.createTempDirectory("paged-adamw-test");
            d.toFile().deleteOnExit();
            return d;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static List<Tensor> params(int[] sizes, DType t, List<double[]> values) {
        List<Tensor> ps = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++)
            ps.add(Tensor.of(values.get(i), sizes[i]).to(t).requiresGrad(true));
        return ps;
    }

    private static final int[] PRIMES = {1, 2, 13, 31, 257};

    /** Four parameter sizes (a, a prime, 1, 67), the step count and the dtype. */
    record Run(int[] sizes, int steps, boolean f64) {
        @Override
        public String toString() {
            return Arrays.toString(sizes) + " steps=" + steps + (f64 ? " F64" : " F32");
        }
    }

    /** A run, the parameters' initial values, and each step's gradients (steps × 4 arrays, step-major). */
    record Case(Run run, List<double[]> params, List<double[]> grads) {
        @Override
        public String toString() {
            int n = 0;
            for (int s : run.sizes()) n += s;
            return run
                    + (n <= 16
                            ? " params=" + params.stream().map(Arrays::toString).toList()
                            : "");
        }
    }

    private static Arbitrary<double[]> normals(int n) {
        return Values.normal()
                .list()
                .ofSize(n)
                .map(l -> l.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** A gradient of n elements z·exp(z') with z, z' N(0, 1): magnitudes spread over several orders. */
    private static Arbitrary<double[]> gradient(int n) {
        return Combinators.combine(normals(n), normals(n)).as((z, w) -> {
            double[] g = new double[n];
            for (int j = 0; j < n; j++) g[j] = z[j] * Math.exp(w[j]);
            return g;
        });
    }

    /** Sizes, steps and dtype are drawn before the values, so a failure shrinks to small parameters first. */
    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Run> runs = Combinators.combine(
                        Arbitraries.integers().between(0, 70),
                        Arbitraries.integers().between(0, 4),
                        Arbitraries.integers().between(1, 6),
                        Arbitraries.of(false, true))
                .as((a, prime, steps, f64) -> new Run(new int[] {a, PRIMES[prime], 1, 67}, steps, f64));
        return SizesFirst.flatMap(runs, run -> {
            List<Arbitrary<double[]>> ps = new ArrayList<>(), gs = new ArrayList<>();
            for (int n : run.sizes()) ps.add(normals(n));
            for (int s = 0; s < run.steps(); s++) for (int n : run.sizes()) gs.add(gradient(n));
            return Combinators.combine(
                            Combinators.combine(ps).as(List::copyOf),
                            Combinators.combine(gs).as(List::copyOf))
                    .as((p, g) -> new Case(run, p, g));
        });
    }

    @Property(tries = 25)
    void updatesBitIdenticallyToAdamW(@ForAll("cases") Case c) throws Exception {
        int[] sizes = c.run().sizes();
        int steps = c.run().steps();
        DType t = c.run().f64() ? DType.F64 : DType.F32;
        List<Tensor> plain = params(sizes, t, c.params()), paged = params(sizes, t, c.params());
        try (PagedState state = PagedState.create(DIR)) {
            AdamW ref = new AdamW(plain, 0.01, 0.9, 0.999, 1e-8, 0.01);
            AdamW pg = new AdamW(paged, 0.01, 0.9, 0.999, 1e-8, 0.01, state);
            for (int s = 0; s < steps; s++) {
                for (int i = 0; i < sizes.length; i++) {
                    boolean skip = i == 1 && s % 3 == 1; // a parameter without a gradient this step
                    double[] g = c.grads().get(s * sizes.length + i);
                    plain.get(i).setGrad(skip ? null : Tensor.of(g, sizes[i]).to(t));
                    paged.get(i).setGrad(skip ? null : Tensor.of(g, sizes[i]).to(t));
                }
                ref.step();
                pg.step();
                if (s % 2 == 0) state.evict(); // paged out: the next step reads the moments back from the file
                for (int i = 0; i < sizes.length; i++)
                    assertArrayEquals(
                            plain.get(i).toDoubleArray(), paged.get(i).toDoubleArray(), "step " + s + " param " + i);
            }
            assertEquals(ref.stateBytes(), pg.stateBytes());
            assertTrue(state.mappedBytes() >= ref.stateBytes());
            assertEquals(0, state.mappedBytes() % 4096);
        }
    }

    @Test
    void closeUnmapsAndDeletes() throws Exception {
        PagedState state = PagedState.create(tmp);
        Tensor p = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor m = state.zerosLike(p);
        assertArrayEquals(new float[3], m.toFloatArray());
        assertEquals(DType.F32, m.dtype());
        Path f = state.file(); // on Linux already unlinked: the mapping outlives the name
        state.close();
        state.close(); // again: nothing
        assertFalse(Files.exists(f));
        var e = assertThrows(IllegalStateException.class, m::toFloatArray);
        assertTrue(e.getMessage().contains("paged optimizer state"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> state.zerosLike(p));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
