package dev.panthera.models.llama;

import dev.panthera.models.lm.LanguageModel;
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

    /**
     * How far a candidate model's next-token distributions are from a reference's over one token stream (llama.cpp's
     * {@code --kl-divergence} statistics): per position i (predicting ids[i+1]) KL(P_ref ‖ P_cand) in nats, whether
     * both models' most likely tokens agree, and each model's own log-likelihood of the stream.
     */
    public record Comparison(Score reference, Score candidate, double[] kl, boolean[] top1Same) {
        public double meanKl() {
            double s = 0;
            for (double v : kl) s += v;
            return s / kl.length;
        }

        public double maxKl() {
            double m = 0;
            for (double v : kl) m = Math.max(m, v);
            return m;
        }

        /** Fraction of positions whose argmax token is the same under both models. */
        public double top1Agreement() {
            int same = 0;
            for (boolean b : top1Same) if (b) same++;
            return (double) same / top1Same.length;
        }
    }

    private Perplexity() {}

    /**
     * Compares {@code candidate} with {@code reference} over {@code ids} (both must share the vocabulary); the windows
     * are those of {@link #score}, over the smaller of the two context lengths. Sums run in double.
     */
    public static Comparison compare(LanguageModel reference, LanguageModel candidate, int[] ids) {
        int vocab = reference.config().vocab();
        if (candidate.config().vocab() != vocab)
            throw new IllegalArgumentException("Perplexity.compare: vocabularies differ, " + vocab + " vs "
                    + candidate.config().vocab());
        if (ids.length < 2) throw new IllegalArgumentException("compare needs at least 2 tokens, got " + ids.length);
        checkIds(ids, vocab);
        int window = Math.min(reference.config().maxSeq(), candidate.config().maxSeq());
        double[] lpRef = new double[ids.length - 1],
                lpCand = new double[ids.length - 1],
                kl = new double[ids.length - 1];
        boolean[] same = new boolean[ids.length - 1];
        windows(ids, window, (from, chunk, in) -> {
            float[] p = reference.forward(in).logSoftmax(-1).toFloatArray();
            float[] q = candidate.forward(in).logSoftmax(-1).toFloatArray();
            for (int i = 0; i + 1 < chunk.length; i++) {
                int row = i * vocab, at = from + i;
                lpRef[at] = p[row + chunk[i + 1]];
                lpCand[at] = q[row + chunk[i + 1]];
                double d = 0;
                int argP = 0, argQ = 0;
                for (int j = 0; j < vocab; j++) {
                    double lp = p[row + j], lq = q[row + j];
                    d += Math.exp(lp) * (lp - lq);
                    if (lp > p[row + argP]) argP = j;
                    if (lq > q[row + argQ]) argQ = j;
                }
                kl[at] = Math.max(0, d); // rounding can leave a tiny negative sum for identical rows
                same[at] = argP == argQ;
            }
        });
        return new Comparison(new Score(lpRef), new Score(lpCand), kl, same);
    }

    /** What runs on one window: its first index in the stream, its ids, and those ids as a [1, len] tensor. */
    private interface Window {
        void run(int from, int[] chunk, Tensor in);
    }

    /**
     * Runs {@code w} over windows of at most {@code window} ids, each from position 0 without gradients in a scope of
     * its own; consecutive windows overlap by one id so every id after the first is predicted once.
     */
    private static void windows(int[] ids, int window, Window w) {
        try (var ng = Autograd.noGrad()) {
            for (int from = 0; from < ids.length - 1; from += window - 1) {
                int len = Math.min(window, ids.length - from);
                int[] chunk = new int[len];
                System.arraycopy(ids, from, chunk, 0, len);
                try (var scope = MemoryScope.open()) {
                    w.run(from, chunk, Tensor.of(chunk, 1, len));
                }
            }
        }
    }

    private static void checkIds(int[] ids, int vocab) {
        for (int id : ids) {
            if (id < 0 || id >= vocab)
                throw new IllegalArgumentException("token id " + id + " outside [0, " + vocab + ")");
        }
    }

    public static Score score(LanguageModel model, int[] ids) {
        if (ids.length < 2) throw new IllegalArgumentException("perplexity needs at least 2 tokens, got " + ids.length);
        int vocab = model.config().vocab(), window = model.config().maxSeq();
        checkIds(ids, vocab);
        double[] lp = new double[ids.length - 1];
        windows(ids, window, (from, chunk, in) -> {
            float[] rows = model.forward(in).logSoftmax(-1).toFloatArray();
            for (int i = 0; i + 1 < chunk.length; i++) lp[from + i] = rows[i * vocab + chunk[i + 1]];
        });
        return new Score(lp);
    }
}
