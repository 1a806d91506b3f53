package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
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

    @Property(tries = 60)
    void ropeMatchesTheRotationDefinition(@ForAll long seed) {
        Random r = new Random(seed);
        long heads = 1 + r.nextInt(3), seq = 1 + r.nextInt(6), dim = 2L * (1 + r.nextInt(5));
        boolean interleaved = r.nextBoolean();
        Tensor x = Seeded.random(r, new long[] {heads, seq, dim}, DType.F64);
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

    @Property(tries = 60)
    void attentionMatchesTheDefinition(@ForAll long seed) {
        Random r = new Random(seed);
        long b = 1 + r.nextInt(2),
                hkv = 1 + r.nextInt(2),
                group = 1 + r.nextInt(3),
                lk = 1 + r.nextInt(7),
                d = 1 + r.nextInt(6),
                dv = 1 + r.nextInt(5);
        long lq = r.nextBoolean() ? lk : 1 + r.nextInt((int) lk); // prefill, or the last few positions (decode)
        boolean causal = r.nextBoolean();
        Tensor q = Seeded.random(r, new long[] {b, hkv * group, lq, d}, DType.F64);
        Tensor k = Seeded.random(r, new long[] {b, hkv, lk, d}, DType.F64);
        Tensor v = Seeded.random(r, new long[] {b, hkv, lk, dv}, DType.F64);
        double scale = 1 / Math.sqrt(d);
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

    @Property(tries = 15)
    void gradientsOfTheFusedOpsMatchFiniteDifferences(@ForAll long seed) {
        Random r = new Random(seed);
        long lk = 1 + r.nextInt(4), lq = 1 + r.nextInt((int) lk);
        boolean causal = r.nextBoolean(), interleaved = r.nextBoolean();
        Seeded.gradCheck(
                "attention",
                r,
                x -> Tensor.scaledDotProductAttention(x[0], x[1], x[2], causal, 0.7),
                new long[] {1, 2, lq, 3},
                new long[] {1, 1, lk, 3},
                new long[] {1, 1, lk, 2});
        Tensor[] cs = tables(3, 4);
        Seeded.gradCheck("rope", r, x -> x[0].rope(cs[0], cs[1], interleaved), new long[] {2, 3, 4});
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
