package dev.panthera.nn.distill;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.loss.Losses;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * TinyBERT's task-specific distillation (Jiao et al., "TinyBERT: Distilling BERT for Natural Language Understanding",
 * arXiv 1909.10351, section 3.1 and its task_distill.py), for a student of M layers and a teacher of N = k·M layers:
 *
 * <ul>
 *   <li>intermediate-layer loss = Σ_{m=0..M} MSE(H_s[m]·W_h, H_t[m·k]) + Σ_{m=1..M} MSE(A_s[m], A_t[m·k]): hidden
 *       state m of the student (0 = the embedding layer) against the teacher's hidden state m·k, through one learned
 *       projection W_h shared by every layer (a {@link Linear} with bias, student width → teacher width, as
 *       task_distill's fit_dense); student layer m's attention scores against teacher layer m·k's, each MSE over all
 *       elements with scores ≤ −100 (masked keys) set to zero on both sides;
 *   <li>prediction-layer loss = mean over all elements of −softmax(z_t/T)·log_softmax(z_s/T)
 *       ({@link Losses#softCrossEntropy}).
 * </ul>
 *
 * The teacher's outputs are constants; the trainable parameters are the student's and the projection's. Needs as
 * many attention heads in student and teacher (the attention maps are compared head by head).
 */
public final class TinyBertDistillation {
    private final Linear projection;
    private final int studentLayers;
    private final int teacherLayers;

    /**
     * @param studentDim width of the student's hidden states
     * @param teacherDim width of the teacher's hidden states
     */
    public TinyBertDistillation(
            int studentLayers, int teacherLayers, int studentDim, int teacherDim, RandomGenerator rng) {
        if (studentLayers < 1 || teacherLayers % studentLayers != 0)
            throw new IllegalArgumentException("TinyBertDistillation: teacher layers " + teacherLayers
                    + " must be a positive multiple of student layers " + studentLayers);
        this.studentLayers = studentLayers;
        this.teacherLayers = teacherLayers;
        this.projection = new Linear(studentDim, teacherDim, true, rng);
    }

    /** The learned projection W_h (fit_dense). */
    public Linear projection() {
        return projection;
    }

    /** {@code student}'s trainable parameters followed by the projection's: what the optimizer updates. */
    public List<Tensor> trainableParameters(Module student) {
        List<Tensor> out = new ArrayList<>(student.trainableParameters());
        out.addAll(projection.trainableParameters());
        return out;
    }

    /** Teacher layer whose hidden state student hidden state {@code m} (0 = embeddings) fits: m·k. */
    public int teacherHiddenIndex(int m) {
        return m * (teacherLayers / studentLayers);
    }

    /** Teacher layer (0-based) whose attention student layer {@code m} (0-based) fits: (m + 1)·k − 1. */
    public int teacherAttentionIndex(int m) {
        int k = teacherLayers / studentLayers;
        return m * k + k - 1;
    }

    /** The intermediate-layer loss: hidden-state (embeddings included) plus attention losses, summed. */
    public Tensor intermediateLoss(EncoderOutputs s, EncoderOutputs t) {
        return hiddenLoss(s, t).add(attentionLoss(s, t));
    }

    /** Σ_{m=0..M} MSE(H_s[m]·W_h, H_t[m·k]), the embedding layer's term included. */
    public Tensor hiddenLoss(EncoderOutputs s, EncoderOutputs t) {
        check(s, t);
        Tensor sum = null;
        for (int m = 0; m <= studentLayers; m++) {
            Tensor l = Losses.hiddenStateMse(
                    s.hiddenStates().get(m), t.hiddenStates().get(teacherHiddenIndex(m)), projection);
            sum = sum == null ? l : sum.add(l);
        }
        return sum;
    }

    /** Σ_{m} MSE(A_s[m], A_t[(m+1)·k − 1]) on attention scores, masked entries zeroed. */
    public Tensor attentionLoss(EncoderOutputs s, EncoderOutputs t) {
        check(s, t);
        Tensor sum = null;
        for (int m = 0; m < studentLayers; m++) {
            Tensor ss = s.attentionScores().get(m), ts = t.attentionScores().get(teacherAttentionIndex(m));
            if (!ss.shape().equals(ts.shape()))
                throw new IllegalArgumentException("TinyBertDistillation: student layer " + m + " attention "
                        + ss.shape() + " vs teacher layer " + teacherAttentionIndex(m) + " " + ts.shape()
                        + " (student and teacher need as many heads)");
            Tensor l = Losses.attentionScoreMse(ss, ts);
            sum = sum == null ? l : sum.add(l);
        }
        return sum;
    }

    /** The prediction-layer loss: soft cross-entropy of the logits at temperature {@code temperature}. */
    public Tensor predictionLoss(EncoderOutputs s, EncoderOutputs t, double temperature) {
        return Losses.softCrossEntropy(s.logits(), t.logits(), temperature);
    }

    private void check(EncoderOutputs s, EncoderOutputs t) {
        if (s.layers() != studentLayers || t.layers() != teacherLayers)
            throw new IllegalArgumentException(
                    "TinyBertDistillation: expected a " + studentLayers + "-layer student and a " + teacherLayers
                            + "-layer teacher, got " + s.layers() + " and " + t.layers());
    }
}
