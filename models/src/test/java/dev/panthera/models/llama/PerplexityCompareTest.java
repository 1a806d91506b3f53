package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Perplexity#compare} against KL divergence and argmax agreement recomputed here in float64 from each model's
 * raw logits (log-softmax by max-shifted log-sum-exp in double, independent of the library's log-softmax kernel).
 */
class PerplexityCompareTest {
    static final double EPS_F32 = Math.ulp(1f);

    @Test
    void identicalModelsHaveZeroKlAndFullAgreement() throws Exception {
        try (LlamaModel a = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"));
                LlamaModel b = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"))) {
            var c = Perplexity.compare(a, b, ids(50, a.config().vocab(), 3));
            assertEquals(0.0, c.maxKl(), "same weights, same arithmetic: every row identical");
            assertEquals(1.0, c.top1Agreement());
            assertArrayEquals(c.reference().logProbs(), c.candidate().logProbs());
        }
    }

    @Test
    void klAndTop1MatchFloat64Recomputation() throws Exception {
        try (LlamaModel a = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"));
                LlamaModel b = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-linear"))) {
            int v = a.config().vocab();
            int[] ids = ids(40, v, 5);
            var c = Perplexity.compare(a, b, ids);
            float[] la = a.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            float[] lb = b.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            assertEquals(ids.length - 1, c.kl().length);
            for (int i = 0; i + 1 < ids.length; i++) {
                double[] p = logSoftmax(la, i * v, v), q = logSoftmax(lb, i * v, v);
                double kl = 0, maxAbs = 0, maxGap = 0;
                int ap = 0, aq = 0;
                for (int j = 0; j < v; j++) {
                    kl += Math.exp(p[j]) * (p[j] - q[j]);
                    maxAbs = Math.max(maxAbs, Math.max(Math.abs(la[i * v + j]), Math.abs(lb[i * v + j])));
                    maxGap = Math.max(maxGap, Math.abs(p[j] - q[j]));
                    if (p[j] > p[ap]) ap = j;
                    if (q[j] > q[aq]) aq = j;
                }
                // The library's F32 log-softmax is off from the double one by a few roundings of values of size
                // |logit| + ln V (shift, exp-sum, log: take 8 ε of it). With δ that bound on each log-prob,
                // |ΔKL| ≤ Σ p (|δp|·(1 + |lp − lq|) + |δq|) ≤ δ (2 + max|lp − lq|).
                double delta = 8 * EPS_F32 * (maxAbs + Math.log(v));
                assertEquals(kl, c.kl()[i], delta * (2 + maxGap), "KL at position " + i);
                assertEquals(p[ids[i + 1]], c.reference().logProbs()[i], delta, "reference log p at " + i);
                assertEquals(q[ids[i + 1]], c.candidate().logProbs()[i], delta, "candidate log p at " + i);
                assertEquals(ap == aq, c.top1Same()[i], "top-1 agreement at " + i);
            }
            assertTrue(c.meanKl() > 0, "different rope scaling must change the distributions");
        }
    }

    @Test
    void rejectsMismatchedInput() throws Exception {
        try (LlamaModel a = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"))) {
            var e = assertThrows(IllegalArgumentException.class, () -> Perplexity.compare(a, a, new int[] {1}));
            assertTrue(e.getMessage().contains("at least 2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Perplexity.compare(a, a, new int[] {1, 9999}));
            assertTrue(e.getMessage().contains("9999"), e.getMessage());
        }
    }

    static int[] ids(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    static double[] logSoftmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int j = 0; j < n; j++) max = Math.max(max, x[off + j]);
        for (int j = 0; j < n; j++) sum += Math.exp(x[off + j] - max);
        double lse = max + Math.log(sum);
        double[] out = new double[n];
        for (int j = 0; j < n; j++) out[j] = x[off + j] - lse;
        return out;
    }
}
