package dev.panthera.models.bert;

import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.nn.distill.EncoderOutputs;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * A frozen {@link BertModel} as a TinyBERT teacher: one no-grad forward pass turned into the {@link EncoderOutputs}
 * that nn's {@code TinyBertDistillation} compares a student with.
 *
 * <ul>
 *   <li>hidden states: {@link BertModel#forward}'s, the embedding output then every layer's;
 *   <li>attention: every layer's scores before the softmax ({@link EncoderOutput#attentionScores}), as TinyBERT's
 *       task_distill.py takes them: padded keys carry the additive mask (−3.4·10³⁸ here, −10000 in a student built
 *       as BERT's extended mask), and the attention MSE replaces every entry ≤ −100 by 0 on both sides, so padded keys
 *       do not count. The student's raw scores are compared with them as they are;
 *   <li>logits: MiniLM has no classifier, so the prediction-layer target is K pseudo-classes, {@code scale} times a
 *       fixed random Gaussian projection [hidden, K] (seeded) of the teacher's L2-normalised mean-pooled sentence
 *       embedding. Its softmax at temperature T is a distribution over K random directions of the sentence
 *       embedding, which a student matches only by agreeing with the teacher's embedding along them.
 * </ul>
 */
public final class BertTeacher {
    private final BertModel model;
    private final Tensor classifier;
    private final double scale;

    /**
     * @param classes K, the number of pseudo-classes
     * @param scale the factor on the logits (projections of a unit vector by N(0, 1) columns are about N(0, 1))
     * @param seed the projection's seed
     */
    public BertTeacher(BertModel model, int classes, double scale, long seed) {
        if (classes < 2) throw new IllegalArgumentException("BertTeacher: need at least 2 classes, got " + classes);
        if (!(scale > 0)) throw new IllegalArgumentException("BertTeacher: scale must be positive, got " + scale);
        this.model = model;
        this.scale = scale;
        int h = model.config().hidden();
        SplittableRandom rng = new SplittableRandom(seed);
        float[] w = new float[h * classes];
        for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian();
        this.classifier = Tensor.of(w, h, classes);
    }

    public BertModel model() {
        return model;
    }

    /** The fixed projection [hidden, K] of the normalised sentence embedding to the pseudo-class logits. */
    Tensor classifier() {
        return classifier;
    }

    /** The teacher's outputs for a padded batch, computed without gradients. */
    public EncoderOutputs outputs(BatchEncoding batch) {
        try (var _ = Autograd.noGrad()) {
            EncoderOutput out = model.forward(batch, true, false, true);
            Tensor pooled = Pooling.normalize(Pooling.MEAN.pool(out.lastHiddenState(), batch.attentionMask()));
            return new EncoderOutputs(
                    out.hiddenStates(),
                    out.attentionScores(),
                    pooled.matmul(classifier).mul(scale));
        }
    }

    /** The mask [B][T] (1 = token) as a float [B, T] tensor, the form nn's encoders take. */
    public static Tensor maskTensor(int[][] mask) {
        int b = mask.length, t = mask[0].length;
        float[] m = new float[b * t];
        for (int r = 0; r < b; r++) for (int j = 0; j < t; j++) m[r * t + j] = mask[r][j];
        return Tensor.of(m, b, t);
    }

    /** BOOL [B, 1, 1, T], true at padded keys. */
    static Tensor padKeys(int[][] mask) {
        int b = mask.length, t = mask[0].length;
        boolean[] pad = new boolean[b * t];
        for (int r = 0; r < b; r++) for (int j = 0; j < t; j++) pad[r * t + j] = mask[r][j] == 0;
        return Tensor.of(pad, b, 1, 1, t);
    }
}
