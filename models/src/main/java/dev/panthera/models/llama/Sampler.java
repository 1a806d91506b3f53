package dev.panthera.models.llama;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from a logits row as {@link SamplingParams} describes; one instance per generation. */
public final class Sampler {
    private final SamplingParams p;
    private final SplittableRandom rng;

    public Sampler(SamplingParams p) {
        this.p = p;
        this.rng = new SplittableRandom(p.seed());
    }

    /** The next token for {@code logits} (modified in place by the penalties) given the tokens seen so far. */
    public int next(float[] logits, boolean[] seen) {
        if (p.repetitionPenalty() != 1 || p.presencePenalty() != 0) {
            for (int i = 0; i < logits.length; i++) {
                if (!seen[i]) continue;
                float z = logits[i];
                z = (float) (z > 0 ? z / p.repetitionPenalty() : z * p.repetitionPenalty());
                logits[i] = (float) (z - p.presencePenalty());
            }
        }
        if (p.temperature() == 0) return argmax(logits);
        int n = logits.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // stable sort by logit, descending: equal logits keep id order
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int keep = p.topK() > 0 ? Math.min(p.topK(), n) : n;
        double[] prob = new double[keep];
        double max = logits[order[0]] / p.temperature(), sum = 0;
        for (int i = 0; i < keep; i++) sum += prob[i] = Math.exp(logits[order[i]] / p.temperature() - max);
        for (int i = 0; i < keep; i++) prob[i] /= sum;
        if (p.topP() < 1) { // smallest prefix whose mass reaches top-p (at least one token)
            double cum = 0;
            int k = 0;
            while (k < keep) {
                cum += prob[k++];
                if (cum >= p.topP()) break;
            }
            keep = k;
        }
        if (p.minP() > 0) {
            int k = 1;
            while (k < keep && prob[k] >= p.minP() * prob[0]) k++;
            keep = k;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += prob[i];
        double u = rng.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            u -= prob[i];
            if (u < 0) return order[i];
        }
        return order[keep - 1];
    }

    /** The index of the largest value; the lowest index on ties. */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
