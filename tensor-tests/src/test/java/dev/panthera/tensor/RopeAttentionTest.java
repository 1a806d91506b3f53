package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panthera.testing.TensorSpec;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * RoPE and scaled dot-product attention: the backend kernel (no grad) against an explicit float64 loop written here,
 * and against their composition from primitives; their analytic gradients against finite differences.
 */
class RopeAttentionTest {

    /** cos/sin tables for positions 0..seq-1 with base 10000, as llama2.c and HF Llama define them. */
    static Tensor[] tables(long seq, long dim) {
        double[] c = new double[(int) (seq * dim / 2)], s = new double[c.length];
        for (int p = 0; p < seq; p++) {
            for (int i = 0; i < dim / 2; i++) {
                double theta = p * Math.pow(10000, -2.0 * i / dim);
                c[(int) (p * dim / 2 + i)] = Math.cos(theta);
                s[(int) (p * dim / 2 + i)] = Math.sin(theta);
            }
        }
        return new Tensor[] {Tensor.of(c, seq, dim / 2), Tensor.of(s, seq, dim / 2)};
    }

    /** heads in [1, 3], seq in [1, 6], an even dim in [2, 10]: x in any layout, and interleaved or half pairs. */
    record RopeInput(TensorSpec x, boolean interleaved) {}

    @Provide
    Arbitrary<RopeInput> ropeInputs() {
        return Combinators.combine(Cases.between(1, 3), Cases.between(1, 6), Cases.between(1, 5))
                .flatAs((heads, seq, half) -> Combinators.combine(
                                Cases.anyLayout(DType.F64, heads, seq, 2 * half), Arbitraries.of(false, true))
                        .as(RopeInput::new));
    }

    @Property(tries = 60)
    void ropeMatchesTheRotationDefinition(@ForAll("ropeInputs") RopeInput in) {
        Tensor x = in.x().tensor();
        long heads = x.size(0), seq = x.size(1), dim = x.size(2);
        boolean interleaved = in.interleaved();
        Tensor[] cs = tables(seq, dim);
        Tensor y = x.rope(cs[0], cs[1], interleaved);
        for (long h = 0; h < heads; h++) {
            for (long p = 0; p < seq; p++) {
                for (long i = 0; i < dim / 2; i++) {
                    double theta = p * Math.pow(10000, -2.0 * i / dim);
                    long ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + dim / 2;
                    double a = x.get(h, p, ia), b = x.get(h, p, ib);
                    assertEquals(a * Math.cos(theta) - b * Math.sin(theta), y.get(h, p, ia), 1e-12);
                    assertEquals(a * Math.sin(theta) + b * Math.cos(theta), y.get(h, p, ib), 1e-12);
                }
            }
        }
        Tensor composed = Composed.rope(x, cs[0], cs[1], interleaved);
        assertArrayEquals(Oracle.values(y), Oracle.values(composed), 1e-12);
    }

    /** softmax(q·kᵀ·scale + mask)·v in float64 loops, GQA by h / (Hq/Hkv), queries aligned to the end of the keys. */
    static double[] attentionLoop(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        int b = (int) q.size(0), hq = (int) q.size(1), lq = (int) q.size(2), d = (int) q.size(3);
        int hkv = (int) k.size(1), lk = (int) k.size(2), dv = (int) v.size(3);
        double[] out = new double[b * hq * lq * dv];
        int o = 0;
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < hq; h++)
                for (int i = 0; i < lq; i++) {
                    int kh = h / (hq / hkv);
                    double[] w = new double[lk];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < lk; j++) {
                        if (causal && j > i + lk - lq) {
                            w[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double s = 0;
                        for (int e = 0; e < d; e++) s += q.get(bi, h, i, e) * k.get(bi, kh, j, e);
                        w[j] = s * scale;
                        max = Math.max(max, w[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < lk; j++) {
                        w[j] = Math.exp(w[j] - max);
                        sum += w[j];
                    }
                    for (int e = 0; e < dv; e++) {
                        double acc = 0;
                        for (int j = 0; j < lk; j++) acc += w[j] * v.get(bi, kh, j, e);
                        out[o++] = acc / sum;
                    }
                }
        return out;
    }

    /** Sizes (b, hkv in [1, 2], group in [1, 3], lk in [1, 7], d in [1, 6], dv in [1, 5]) and q, k, v in any layout. */
    record AttentionInput(AttentionSizes s, TensorSpec q, TensorSpec k, TensorSpec v) {}

    @Provide
    Arbitrary<AttentionInput> attentionInputs() {
        return AttentionSizes.draw(
                        Cases.between(1, 2),
                        Cases.between(1, 2),
                        Cases.between(1, 3),
                        Cases.between(1, 7),
                        Cases.between(1, 6),
                        Cases.between(1, 5))
                .flatMap(s -> Combinators.combine(
                                Cases.anyLayout(DType.F64, s.b(), s.hq(), s.lq(), s.d()),
                                Cases.anyLayout(DType.F64, s.b(), s.hkv(), s.lk(), s.d()),
                                Cases.anyLayout(DType.F64, s.b(), s.hkv(), s.lk(), s.dv()))
                        .as((q, k, v) -> new AttentionInput(s, q, k, v)));
    }

    @Property(tries = 60)
    void attentionMatchesTheDefinition(@ForAll("attentionInputs") AttentionInput in) {
        AttentionSizes s = in.s();
        long b = s.b(), hkv = s.hkv(), group = s.group(), lq = s.lq(), dv = s.dv();
        boolean causal = s.causal();
        Tensor q = in.q().tensor(), k = in.k().tensor(), v = in.v().tensor();
        double scale = 1 / Math.sqrt(s.d());
        Tensor fused = Tensor.scaledDotProductAttention(q, k, v, causal, scale);
        assertArrayEquals(new long[] {b, hkv * group, lq, dv}, fused.dims());
        double[] want = attentionLoop(q, k, v, causal, scale);
        Oracle.assertClose(want, Oracle.values(fused), 1e-11, 1e-12, "fused attention");
        Oracle.assertClose(
                want,
                Oracle.values(Composed.attention(q, k, v, null, causal, scale)),
                1e-11,
                1e-12,
                "composed attention");
    }

    /** lk in [1, 4], lq in [1, lk], causal or not, interleaved or half pairs. */
    @Provide
    Arbitrary<GradChecks> fusedGradients() {
        Arbitrary<List<Object>> params = Cases.between(1, 4)
                .flatMap(lk -> Combinators.combine(
                                Cases.between(1, lk), Arbitraries.of(false, true), Arbitraries.of(false, true))
                        .as((lq, causal, il) -> List.<Object>of(lk, lq, causal, il)));
        return GradChecks.of(params, p -> {
            long lk = (Long) p.get(0), lq = (Long) p.get(1);
            boolean causal = (Boolean) p.get(2), interleaved = (Boolean) p.get(3);
            Tensor[] cs = tables(3, 4);
            return List.of(
                    new GradChecks.Check(
                            "attention",
                            x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], causal, 0.7),
                            new long[] {1, 2, lq, 3},
                            new long[] {1, 1, lk, 3},
                            new long[] {1, 1, lk, 2}),
                    new GradChecks.Check("rope", x -> x[0].rope(cs[0], cs[1], interleaved), new long[] {2, 3, 4}));
        });
    }

    @Property(tries = 15)
    void gradientsOfTheFusedOpsMatchFiniteDifferences(@ForAll("fusedGradients") GradChecks checks) {
        checks.run();
    }

    @Test
    void badShapesAreRejected() {
        Tensor[] cs = tables(3, 4);
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3, 5).rope(cs[0], cs[1], true));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 4).rope(cs[0], cs[1], true));
        Tensor q = Tensor.zeros(1, 3, 2, 4), k = Tensor.zeros(1, 2, 2, 4);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Tensor.scaledDotProductAttention(q, k, k, false, 1));
        assertEquals(
                true,
                e.getMessage().contains("[1, 3, 2, 4]") && e.getMessage().contains("[1, 2, 2, 4]"),
                e.getMessage());
    }
}
