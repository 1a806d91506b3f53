package dev.panthera.models.llama;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;

/**
 * Log-likelihood of a token stream under a model: log p(ids[i] | ids[..i]) for i ≥ 1, computed in windows of the
 * context length, each window one batched forward pass from position 0 (the first token of each window after the
 * first is predicted from the previous window's last context, so windows overlap by one token).
 */
public final class Perplexity {
    /** Per-token log-probabilities (natural log) of ids[1..]; their count is ids.length − 1. */
    public record Score(double[] logProbs) {
        public double logLikelihood() {
            double s = 0;
            for (double v : logProbs) s += v;
            return s;
        }

        /** exp(−mean log p). */
        public double perplexity() {
            return Math.exp(-logLikelihood() / logProbs.length);
        }
    }

    private Perplexity() {}

    public static Score score(LlamaModel model, int[] ids) {
        if (ids.length < 2) throw new IllegalArgumentException("perplexity needs at least 2 tokens, got " + ids.length);
        int vocab = model.config().vocab(), window = model.config().maxSeq();
        for (int id : ids) {
            if (id < 0 || id >= vocab)
                throw new IllegalArgumentException("token id " + id + " outside [0, " + vocab + ")");
        }
        double[] lp = new double[ids.length - 1];
        try (var ng = Autograd.noGrad()) {
            for (int from = 0; from < ids.length - 1; from += window - 1) {
                int len = Math.min(window, ids.length - from);
                int[] chunk = new int[len];
                System.arraycopy(ids, from, chunk, 0, len);
                try (var scope = MemoryScope.open()) {
                    Tensor logp = model.forward(Tensor.of(chunk, 1, len)).logSoftmax(-1);
                    float[] rows = logp.toFloatArray();
                    for (int i = 0; i + 1 < len; i++) lp[from + i] = rows[i * vocab + chunk[i + 1]];
                }
            }
        }
        return new Score(lp);
    }
}
