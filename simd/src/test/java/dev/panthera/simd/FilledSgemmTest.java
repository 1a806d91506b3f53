package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.SizesFirst;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link FilledSgemm} against a float64 triple loop, with B filled block by block from a plain K×N matrix: sizes 0,
 * 1, primes and lengths that cross the MR/NR/MC blocks, shapes with several depth blocks (K past KC) and several
 * column blocks (N past NC), thread column ranges aligned to 1, 16 or 48 columns, on 1 to 3 threads, with A packed
 * once for all threads or per block by each (the form an A too large to share takes). The tolerance
 * is the deterministic bound of a float dot product of k terms in any order, |Δ| ≤ γ_k·Σ|a||b| with γ_k = k·u/(1 −
 * k·u), u = 2^-24 (each FMA rounds once). Every fill is checked against the contract: pc a multiple of DEPTH, kc and
 * nc within one block, the block inside B; the padding columns of a part sliver are filled with NaN, which must not
 * reach C.
 */
class FilledSgemmTest {
    private static final long[] SIZES = {0, 1, 2, 3, 5, 6, 7, 13, 16, 17, 31, 97, 130};

    record Gemm(int m, int n, int k, int align, int threads, boolean packPerBlock) {}

    record Case(Gemm g, float[] a, float[] b) {
        @Override
        public String toString() {
            return g + " a=" + Draws.show(a) + " b=" + Draws.show(b);
        }
    }

    private static Arbitrary<Case> cases(Arbitrary<Integer> ms, Arbitrary<Integer> ns, Arbitrary<Integer> ks) {
        Arbitrary<Gemm> gemms = Combinators.combine(
                        ms,
                        ns,
                        ks,
                        Arbitraries.of(1, 16, 48),
                        Arbitraries.integers().between(1, 3),
                        Arbitraries.of(false, true))
                .as(Gemm::new);
        return SizesFirst.flatMap(
                gemms,
                g -> Combinators.combine(Draws.normals((long) g.m() * g.k()), Draws.normals((long) g.k() * g.n()))
                        .as((a, b) -> new Case(g, a, b)));
    }

    private static Arbitrary<Integer> listed() {
        return Draws.oneOf(SIZES).map(Long::intValue);
    }

    @Provide
    Arbitrary<Case> anySizes() {
        return cases(listed(), listed(), listed());
    }

    @Provide
    Arbitrary<Case> severalBlocks() {
        return cases(
                Arbitraries.integers().between(PackedGemm.MC + 1, PackedGemm.MC + 13),
                Arbitraries.integers().between(PackedGemm.NC + 1, PackedGemm.NC + 3 * PackedGemm.NR + 5),
                Arbitraries.integers().between(PackedGemm.KC + 1, PackedGemm.KC + 70));
    }

    @Property(tries = 100)
    void matchesFloat64(@ForAll("anySizes") Case c) {
        check(c);
    }

    @Property(tries = 4)
    void severalDepthAndColumnBlocks(@ForAll("severalBlocks") Case c) {
        check(c);
    }

    /** The fill of a plain row-major K×N matrix b, checking each call against the contract. */
    private static FilledSgemm.Panels panels(float[] b, int k, int n) {
        int s = FilledSgemm.SLIVER;
        return (pc, kc, jc, nc, out) -> {
            if (pc % FilledSgemm.DEPTH != 0 || kc < 1 || kc > FilledSgemm.DEPTH || pc + kc > k)
                throw new AssertionError("depth block " + pc + " + " + kc + " of " + k);
            if (jc < 0 || nc < 1 || nc > FilledSgemm.COLUMNS || jc + nc > n)
                throw new AssertionError("column block " + jc + " + " + nc + " of " + n);
            int width = (nc + s - 1) / s * s;
            for (int j = 0; j < width; j++) {
                for (int p = 0; p < kc; p++)
                    out[j / s * s * kc + p * s + j % s] = j < nc ? b[(pc + p) * n + jc + j] : Float.NaN;
            }
        };
    }

    private static void check(Case cs) {
        Gemm g = cs.g();
        int m = g.m(), n = g.n(), k = g.k();
        float[] c = new float[m * n];
        Arrays.fill(c, Float.NaN); // overwritten, not accumulated into
        try (var scope = GemmConfig.of(g.threads()).use()) {
            FilledSgemm.gemm(
                    cs.a(), m, k, n, panels(cs.b(), k, n), c, g.align(), g.packPerBlock() ? 0 : Long.MAX_VALUE);
        }
        double u = 0x1p-24, gamma = k * u / (1 - k * u);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++) {
                    double t = (double) cs.a()[i * k + p] * cs.b()[p * n + j];
                    s += t;
                    mag += Math.abs(t);
                }
                double got = c[i * n + j], tol = gamma * mag;
                if (!(Math.abs(got - s) <= tol))
                    throw new AssertionError("C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k + ": expected " + s
                            + " but was " + got + " (tolerance " + tol + ")");
            }
        }
    }

    @Test
    void badArgumentsNameTheShapes() {
        FilledSgemm.Panels none = (pc, kc, jc, nc, out) -> {
            throw new AssertionError("no block may be filled");
        };
        var e = assertThrows(
                IllegalArgumentException.class, () -> FilledSgemm.gemm(new float[6], 2, 3, 4, none, new float[7], 1));
        assertTrue(e.getMessage().contains("C [2 x 4]") && e.getMessage().contains("(has 7)"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> FilledSgemm.gemm(new float[5], 2, 3, 4, none, new float[8], 1));
        assertTrue(e.getMessage().contains("A [2 x 3]"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> FilledSgemm.gemm(new float[0], -1, 3, 4, none, new float[8], 1));
        assertTrue(e.getMessage().contains("m -1"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> FilledSgemm.gemm(new float[6], 2, 3, 4, none, new float[8], 0));
        assertTrue(e.getMessage().contains("align 0"), e.getMessage());
    }
}
