package dev.panthera.nn.loss;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;

/**
 * Loss functions with PyTorch's definitions and TinyBERT's distillation losses. Every loss returns a rank-0 tensor
 * averaged as stated, differentiable with respect to its first (prediction) argument.
 */
public final class Losses {
    private Losses() {}

    /** PyTorch's default ignore index. */
    public static final long IGNORE_INDEX = -100;

    /** {@link #crossEntropy(Tensor, Tensor, long, double)} with ignore index -100 and no smoothing. */
    public static Tensor crossEntropy(Tensor logits, Tensor targets) {
        return crossEntropy(logits, targets, IGNORE_INDEX, 0);
    }

    /**
     * torch.nn.functional.cross_entropy(logits, targets, ignore_index, label_smoothing=ε, reduction="mean"):
     * per target position, loss = (1-ε)·(-log p_y) + (ε/C)·Σ_c(-log p_c); averaged over positions whose target is not
     * {@code ignoreIndex}. logits [..., C], integer targets [...] (the leading shapes must match).
     */
    public static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, double labelSmoothing) {
        if (logits.rank() < 1 || targets.rank() != logits.rank() - 1) {
            throw new IllegalArgumentException("crossEntropy: logits [..., C] and targets [...] expected, got "
                    + logits.shape() + " and " + targets.shape());
        }
        for (int d = 0; d < targets.rank(); d++) {
            if (targets.size(d) != logits.size(d))
                throw new IllegalArgumentException("crossEntropy: logits " + logits.shape() + " and targets "
                        + targets.shape() + " differ in leading dimensions");
        }
        if (targets.dtype().isFloatingPoint())
            throw new IllegalArgumentException(
                    "crossEntropy: targets must be integer class ids, got " + targets.describe());
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new IllegalArgumentException(
                    "crossEntropy: label smoothing must be in [0, 1], got " + labelSmoothing);
        long c = logits.size(-1);
        long[] t = targets.toLongArray();
        long[] safe = new long[t.length];
        float[] mask = new float[t.length];
        int count = 0;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == ignoreIndex) continue;
            if (t[i] < 0 || t[i] >= c)
                throw new IndexOutOfBoundsException(
                        "crossEntropy: target " + t[i] + " at position " + i + " outside [0, " + c + ")");
            safe[i] = t[i];
            mask[i] = 1;
            count++;
        }
        Tensor logp = logits.reshape(t.length, c).logSoftmax(-1);
        Tensor nll =
                logp.gather(1, Tensor.of(safe, t.length, 1)).reshape(t.length).neg();
        Tensor per = labelSmoothing == 0
                ? nll
                : nll.mul(1 - labelSmoothing).sub(logp.mean(1).mul(labelSmoothing));
        Tensor m = Tensor.of(mask, t.length).to(per.dtype());
        return per.mul(m).sum().div(count == 0 ? Double.NaN : count);
    }

    /** Mean squared error over all elements (shapes must match). */
    public static Tensor mse(Tensor prediction, Tensor target) {
        if (!prediction.shape().equals(target.shape()))
            throw new IllegalArgumentException(
                    "mse: shapes " + prediction.shape() + " and " + target.shape() + " differ");
        Tensor d = prediction.sub(target);
        return d.mul(d).mean();
    }

    /**
     * TinyBERT's prediction-layer loss as its task_distill.py defines soft_cross_entropy: the mean over all elements
     * (positions and classes) of −softmax(z_t/T)·log_softmax(z_s/T), softmaxes over the last dimension; that is the
     * per-position cross-entropy divided by the number of classes. The teacher is treated as a constant.
     */
    public static Tensor softCrossEntropy(Tensor studentLogits, Tensor teacherLogits, double temperature) {
        checkPair("softCrossEntropy", studentLogits, teacherLogits, temperature);
        Tensor pt = teacherLogits.detach().div(temperature).softmax(-1);
        Tensor ls = studentLogits.div(temperature).logSoftmax(-1);
        return pt.mul(ls).neg().mean();
    }

    /**
     * Hinton distillation: KL(p_t ‖ p_s) with p = softmax(z/T), summed over classes, averaged over the other positions
     * (PyTorch's reduction="batchmean" for 2-D input) and multiplied by T² so gradients keep their scale.
     */
    public static Tensor klDivergence(Tensor studentLogits, Tensor teacherLogits, double temperature) {
        checkPair("klDivergence", studentLogits, teacherLogits, temperature);
        Tensor lt = teacherLogits.detach().div(temperature).logSoftmax(-1);
        Tensor ls = studentLogits.div(temperature).logSoftmax(-1);
        return lt.exp().mul(lt.sub(ls)).sum(new int[] {-1}, false).mean().mul(temperature * temperature);
    }

    /**
     * TinyBERT's hidden-state (and embedding) loss MSE(H_s·W_h, H_t); {@code projection} maps the student width to the
     * teacher's (pass null when the widths agree).
     */
    public static Tensor hiddenStateMse(Tensor student, Tensor teacher, Module projection) {
        Tensor s = projection == null ? student : projection.forward(student);
        return mse(s, teacher.detach());
    }

    /**
     * TinyBERT's attention loss: MSE between student and teacher attention scores (before softmax) [B, H, T, T], with
     * masked entries (≤ -100, e.g. -inf or -1e4 padding masks) replaced by zero on both sides, as the TinyBERT code does.
     */
    public static Tensor attentionScoreMse(Tensor studentScores, Tensor teacherScores) {
        Tensor s = Tensor.where(studentScores.le(-100), Tensor.zeros(1).to(studentScores.dtype()), studentScores);
        Tensor t = teacherScores.detach();
        t = Tensor.where(t.le(-100), Tensor.zeros(1).to(t.dtype()), t);
        return mse(s, t);
    }

    private static void checkPair(String op, Tensor s, Tensor t, double temperature) {
        if (!s.shape().equals(t.shape()))
            throw new IllegalArgumentException(
                    op + ": student " + s.shape() + " and teacher " + t.shape() + " shapes differ");
        if (!(temperature > 0))
            throw new IllegalArgumentException(op + ": temperature must be positive, got " + temperature);
    }
}
