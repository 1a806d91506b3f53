package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link ShortAttention} (attention whose keys fit one row of scores) through {@code scaledDotProductAttention} on the
 * SIMD backend, against a float64 loop written here: key and value head dims apart (1 to 128, around the vector
 * widths), key counts around the pairs of vectors up to {@link ShortAttention#MAX_KEYS}, query counts with every
 * remainder 0–7 by eight (the kernel takes eight rows, then four, then one), GQA groups, causal or not, an additive
 * float mask with −∞ entries or none, and q, k, v as the transposed [B, L, H, D] projections a model passes (row
 * stride H·D).
 *
 * <p>Bound per output element, from the arithmetic: each score is a d-term FMA chain (γ_d·scale·Σ|q·k|), times scale
 * and plus the mask (one rounding each); the shift by the row maximum rounds once and expFloat is within 2⁻²³, so
 * each probability is its exact weight times (1 + ε_j) with |ε_j| ≤ e^(2·Δs + u·|s_j − max| + 2⁻²³) − 1, Δs the
 * largest score error of the row (the maximum moves with it, but a common shift cancels in the ratio); the sum of the
 * probabilities and each P·V sum are n-term float sums (γ_n); the output is one product by the rounded reciprocal
 * (2u). So |out − exact| ≤ (|exact| + A)·τ with A = Σ w·|v| / Σ w and τ = (ε + 2γ_n + 3u)·1.01. Rows that see no key
 * are NaN on both sides. Unmasked, the same call asked for each row's log-sum-exp (as a recorded forward asks) gives
 * the same output and a log-sum-exp within the bound {@link #checkLse} derives.
 */
class ShortAttentionTest {
    private static final double U = 0x1p-24;

    private static double gamma(int n) {
        return n * U / (1 - n * U);
    }

    record Case(int lq, int lk, int hkv, int group, int d, int dv, boolean causal, boolean masked, long seed) {}

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> dims = Arbitraries.of(1, 7, 16, 31, 32, 33, 64, 100, 128);
        return Combinators.combine(
                        Arbitraries.of(16, 17, 18, 19, 20, 21, 22, 23, 33, 64),
                        Arbitraries.of(1, 2, 15, 16, 17, 31, 32, 33, 97, 128, 300, 512, 513, 700, 1024),
                        Arbitraries.integers().between(1, 2),
                        Arbitraries.integers().between(1, 2),
                        dims,
                        dims,
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true))
                .as((lq, lk, hkv, group, d, dv, causal, masked) ->
                        new Case(lq, lk, hkv, group, d, dv, causal, masked, (long) lq * 31 + lk * 7L + d * 131L + dv));
    }

    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void shortAttentionIsWithinItsBound(@ForAll("cases") Case c) throws Exception {
        // the run with -Dpanthera.simd.shortAttentionKeys=0 (simd pom) puts the same cases through the blocked path
        if (ShortAttention.MAX_KEYS > 0)
            assertTrue(ShortAttention.fits(c.lq(), c.lk(), c.d(), c.dv()), "the case does not reach ShortAttention");
        Random rnd = new Random(c.seed());
        int lq = c.lq(), lk = c.lk(), d = c.d(), dv = c.dv(), hkv = c.hkv(), hq = hkv * c.group();
        float[] q = uniform(rnd, lq * hq * d), k = uniform(rnd, lk * hkv * d), v = uniform(rnd, lk * hkv * dv);
        float[] mask = null;
        if (c.masked()) {
            mask = new float[lq * lk];
            for (int i = 0; i < mask.length; i++)
                mask[i] = rnd.nextInt(5) == 0 ? Float.NEGATIVE_INFINITY : (float) rnd.nextGaussian();
        }
        float scale = (float) (1 / Math.sqrt(d));
        double[] got;
        float[] lse = new float[hq * lq];
        try (var use = Backends.use(new SimdBackend())) {
            // [1, L, H, D] as a model's projections are laid out, transposed to [1, H, L, D]: row stride H·D
            Tensor tq = Tensor.of(q, 1, lq, hq, d).transpose(1, 2);
            Tensor tk = Tensor.of(k, 1, lk, hkv, d).transpose(1, 2);
            Tensor tv = Tensor.of(v, 1, lk, hkv, dv).transpose(1, 2);
            Tensor tm = mask == null ? null : Tensor.of(mask, 1, 1, lq, lk);
            got = Tensor.scaledDotProductAttention(tq, tk, tv, tm, c.causal(), scale)
                    .toDoubleArray();
            if (mask == null) {
                // the same kernel asked for each row's log-sum-exp as well, as a recorded forward asks
                Tensor out = Tensor.zeros(1, hq, lq, dv);
                boolean wrote = new SimdBackend()
                        .attention(
                                tq.storage(),
                                tq.layout(),
                                tk.storage(),
                                tk.layout(),
                                tv.storage(),
                                tv.layout(),
                                c.causal(),
                                scale,
                                out.storage(),
                                out.layout(),
                                new FusedGradKernels.Rows(MemorySegment.ofArray(lse), 0, hq * lq, lq, 1));
                assertEquals(ShortAttention.MAX_KEYS > 0, wrote, "whether the kernel wrote the log-sum-exp");
                if (!wrote) lse = null;
                else assertArrayEquals(got, out.toDoubleArray(), "the output with the log-sum-exp asked for");
            }
        }
        for (int h = 0; h < hq; h++) {
            int kh = h / c.group();
            for (int i = 0; i < lq; i++) {
                int visible = c.causal() ? Math.clamp(lk - lq + 1 + i, 0, lk) : lk;
                double[] s = new double[lk], err = new double[lk];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    double dot = 0, abs = 0;
                    for (int e = 0; e < d; e++) {
                        double x = (double) q[(i * hq + h) * d + e] * k[(j * hkv + kh) * d + e];
                        dot += x;
                        abs += Math.abs(x);
                    }
                    double m = mask == null ? 0 : mask[i * lk + j];
                    s[j] = scale * dot + m;
                    err[j] = scale * abs * gamma(d) * (1 + U)
                            + 2 * U * (scale * abs + (Double.isInfinite(m) ? 0 : Math.abs(m)));
                    max = Math.max(max, s[j]);
                }
                String where = c + " head " + h + " row " + i;
                if (mask == null && lse != null) checkLse(lse[h * lq + i], s, err, visible, max, where);
                if (max == Double.NEGATIVE_INFINITY) {
                    for (int cc = 0; cc < dv; cc++)
                        assertTrue(
                                Double.isNaN(got[(h * lq + i) * dv + cc]),
                                where + ": a row that sees no key gives NaN");
                    continue;
                }
                double ds = 0;
                for (int j = 0; j < visible; j++) if (s[j] != Double.NEGATIVE_INFINITY) ds = Math.max(ds, err[j]);
                double w = 0, eps = 0;
                double[] wj = new double[visible];
                for (int j = 0; j < visible; j++) {
                    wj[j] = Math.exp(s[j] - max);
                    w += wj[j];
                    if (s[j] != Double.NEGATIVE_INFINITY)
                        eps = Math.max(eps, Math.expm1(2 * ds + U * Math.abs(s[j] - max) * 1.01 + 0x1p-23));
                }
                double tau = (eps + 2 * gamma(visible) + 3 * U) * 1.01;
                for (int cc = 0; cc < dv; cc++) {
                    double num = 0, a = 0;
                    for (int j = 0; j < visible; j++) {
                        double x = v[(j * hkv + kh) * dv + cc];
                        num += wj[j] * x;
                        a += wj[j] * Math.abs(x);
                    }
                    double want = num / w, bound = (Math.abs(want) + a / w) * tau + 1e-30;
                    double g = got[(h * lq + i) * dv + cc];
                    assertTrue(
                            Math.abs(g - want) <= bound,
                            where + " dim " + cc + ": " + g + ", want " + want + " ± " + bound);
                }
            }
        }
    }

    /**
     * The row's log-sum-exp log Σ e^(s_j) against the float64 one, unmasked rows: the kernel's is m̃ + log Σ ẽ_j over
     * its own scores s̃ (each within err[j] of s_j, so its exact log-sum-exp is within Δs = max err of the true one),
     * each ẽ_j = e^(s̃_j − m̃)·(1 + ε_j) with |ε_j| ≤ e^(u·|s_j − max|·1.01 + 2⁻²³) − 1 (the shift's rounding and
     * expFloat), summed in float (γ_n), then m̃ + log(sum) rounded once to float (u·|lse|): |lse − exact| ≤ (Δs +
     * −log(1 − ε − γ_n) + u·|exact|)·1.01. A row that sees no key has −∞.
     */
    private static void checkLse(float got, double[] s, double[] err, int visible, double max, String where) {
        if (max == Double.NEGATIVE_INFINITY) {
            assertEquals(Float.NEGATIVE_INFINITY, got, where + ": the log-sum-exp of a row that sees no key");
            return;
        }
        double w = 0, ds = 0, eps = 0;
        for (int j = 0; j < visible; j++) {
            w += Math.exp(s[j] - max);
            ds = Math.max(ds, err[j]);
            eps = Math.max(eps, Math.expm1(U * Math.abs(s[j] - max) * 1.01 + 0x1p-23));
        }
        double exact = max + Math.log(w);
        double bound = (ds - Math.log1p(-(eps + gamma(visible))) + U * Math.abs(exact)) * 1.01;
        assertTrue(Math.abs(got - exact) <= bound, where + ": log-sum-exp " + got + ", want " + exact + " ± " + bound);
    }

    private static float[] uniform(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextFloat() * 2 - 1;
        return x;
    }
}
