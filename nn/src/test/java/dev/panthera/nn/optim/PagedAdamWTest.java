package dev.panthera.nn.optim;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
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

    static List<Tensor> params(int[] sizes, DType t, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Tensor> ps = new ArrayList<>();
        for (int n : sizes) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = r.nextGaussian();
            ps.add(Tensor.of(v, n).to(t).requiresGrad(true));
        }
        return ps;
    }

    @Property(tries = 25)
    void updatesBitIdenticallyToAdamW(
            @ForAll @IntRange(min = 0, max = 70) int a,
            @ForAll @IntRange(min = 0, max = 4) int primeIdx,
            @ForAll @IntRange(min = 1, max = 6) int steps,
            @ForAll boolean f64,
            @ForAll long seed)
            throws Exception {
        int[] primes = {1, 2, 13, 31, 257};
        int[] sizes = {a, primes[primeIdx], 1, 67};
        DType t = f64 ? DType.F64 : DType.F32;
        List<Tensor> plain = params(sizes, t, seed), paged = params(sizes, t, seed);
        try (PagedState state = PagedState.create(DIR)) {
            AdamW ref = new AdamW(plain, 0.01, 0.9, 0.999, 1e-8, 0.01);
            AdamW pg = new AdamW(paged, 0.01, 0.9, 0.999, 1e-8, 0.01, state);
            SplittableRandom r = new SplittableRandom(seed ^ 0x5eed);
            for (int s = 0; s < steps; s++) {
                for (int i = 0; i < sizes.length; i++) {
                    boolean skip = i == 1 && s % 3 == 1; // a parameter without a gradient this step
                    double[] g = new double[sizes[i]];
                    for (int j = 0; j < g.length; j++) g[j] = r.nextGaussian() * Math.exp(r.nextGaussian());
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
