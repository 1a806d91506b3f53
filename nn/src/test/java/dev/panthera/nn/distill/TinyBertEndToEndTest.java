package dev.panthera.nn.distill;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.optim.AdamW;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * TinyBERT's two-stage task distillation end to end on nn's own encoder: a 4-layer, width-32 teacher (random weights,
 * a fixed function to imitate) and a 2-layer, width-16 student with as many heads, on random token batches with
 * padding. Stage 1 trains student and projection on the intermediate loss (embedding + hidden + attention), stage 2 on
 * the soft cross-entropy at T = 1. Properties checked: each stage's loss falls on held-out batches, and the student's
 * class distribution approaches the teacher's (KL on held-out batches falls).
 */
class TinyBertEndToEndTest {
    private static final SmallEncoder.Config TEACHER = new SmallEncoder.Config(50, 32, 2, 64, 4, 12, 3);
    private static final SmallEncoder.Config STUDENT = new SmallEncoder.Config(50, 16, 2, 32, 2, 12, 3);
    private static final int BATCH = 8, SEQ = 10;

    /** ids and a padding mask: each row has a random length in [4, SEQ]. */
    private static Tensor[] batch(SplittableRandom r) {
        long[] ids = new long[BATCH * SEQ];
        float[] mask = new float[BATCH * SEQ];
        for (int b = 0; b < BATCH; b++) {
            int len = 4 + r.nextInt(SEQ - 3);
            for (int i = 0; i < SEQ; i++) {
                ids[b * SEQ + i] = i < len ? 1 + r.nextInt(TEACHER.vocab() - 1) : 0;
                mask[b * SEQ + i] = i < len ? 1 : 0;
            }
        }
        return new Tensor[] {Tensor.of(ids, BATCH, SEQ), Tensor.of(mask, BATCH, SEQ)};
    }

    private static EncoderOutputs teacherOut(SmallEncoder teacher, Tensor[] b) {
        try (var _ = Autograd.noGrad()) {
            return teacher.forwardWithIntermediates(b[0], b[1]);
        }
    }

    /** Held-out {intermediate loss, soft CE, KL(teacher ‖ student) per row} averaged over 4 batches. */
    private static double[] evaluate(SmallEncoder teacher, SmallEncoder student, TinyBertDistillation d) {
        SplittableRandom r = new SplittableRandom(999);
        double[] out = new double[3];
        try (var _ = Autograd.noGrad()) {
            for (int i = 0; i < 4; i++) {
                try (var scope = MemoryScope.open()) {
                    Tensor[] b = batch(r);
                    EncoderOutputs t = teacherOut(teacher, b), s = student.forwardWithIntermediates(b[0], b[1]);
                    out[0] += d.intermediateLoss(s, t).item() / 4;
                    out[1] += d.predictionLoss(s, t, 1.0).item() / 4;
                    Tensor lt = t.logits().logSoftmax(-1), ls = s.logits().logSoftmax(-1);
                    out[2] += lt.exp().mul(lt.sub(ls)).sum().item() / BATCH / 4;
                }
            }
        }
        return out;
    }

    @Test
    void twoStageDistillationFitsTheTeacher() {
        SmallEncoder teacher = new SmallEncoder(TEACHER, new SplittableRandom(1));
        teacher.freeze();
        SmallEncoder student = new SmallEncoder(STUDENT, new SplittableRandom(2));
        TinyBertDistillation d = new TinyBertDistillation(2, 4, 16, 32, new SplittableRandom(3));
        double[] start = evaluate(teacher, student, d);

        SplittableRandom r = new SplittableRandom(7);
        AdamW stage1 = new AdamW(d.trainableParameters(student), 3e-3, 0.9, 0.999, 1e-8, 0);
        for (int step = 0; step < 60; step++) {
            try (var scope = MemoryScope.open()) {
                Tensor[] b = batch(r);
                Tensor loss = d.intermediateLoss(student.forwardWithIntermediates(b[0], b[1]), teacherOut(teacher, b));
                stage1.zeroGrad();
                loss.backward();
                stage1.step();
            }
        }
        double[] mid = evaluate(teacher, student, d);

        AdamW stage2 = new AdamW(student.trainableParameters(), 3e-3, 0.9, 0.999, 1e-8, 0);
        for (int step = 0; step < 60; step++) {
            try (var scope = MemoryScope.open()) {
                Tensor[] b = batch(r);
                Tensor loss =
                        d.predictionLoss(student.forwardWithIntermediates(b[0], b[1]), teacherOut(teacher, b), 1.0);
                stage2.zeroGrad();
                loss.backward();
                stage2.step();
            }
        }
        double[] end = evaluate(teacher, student, d);
        System.out.printf(
                "TinyBERT held-out: intermediate %.4f -> %.4f; soft CE %.4f -> %.4f; KL %.4f -> %.4f%n",
                start[0], mid[0], mid[1], end[1], mid[2], end[2]);
        assertTrue(mid[0] < 0.6 * start[0], "stage 1 lowers the intermediate loss: " + start[0] + " -> " + mid[0]);
        assertTrue(end[1] < mid[1], "stage 2 lowers the soft cross-entropy: " + mid[1] + " -> " + end[1]);
        assertTrue(
                end[2] < 0.5 * mid[2],
                "the student's predictions approach the teacher's: KL " + mid[2] + " -> " + end[2]);
    }

    @Test
    void encoderExposesEveryLayerAndMasksPadding() {
        SmallEncoder e = new SmallEncoder(STUDENT, new SplittableRandom(2));
        Tensor[] b = batch(new SplittableRandom(5));
        EncoderOutputs o = e.forwardWithIntermediates(b[0], b[1]);
        assertEquals(3, o.hiddenStates().size());
        assertEquals(2, o.attentionScores().size());
        assertEquals(
                java.util.List.of((long) BATCH, 2L, (long) SEQ, (long) SEQ),
                java.util.Arrays.stream(o.attentionScores().get(0).shape().toArray())
                        .boxed()
                        .toList());
        float[] scores = o.attentionScores().get(1).toFloatArray(), mask = b[1].toFloatArray();
        for (int bi = 0; bi < BATCH; bi++)
            for (int k = 0; k < SEQ; k++)
                assertEquals(
                        mask[bi * SEQ + k] == 0,
                        scores[((bi * 2) * SEQ) * SEQ + k] < -1000,
                        "padding key " + k + " of row " + bi + " carries the −10000 mask");
        var bad =
                assertThrows(IllegalArgumentException.class, () -> e.forwardWithIntermediates(b[0], Tensor.ones(2, 3)));
        assertTrue(bad.getMessage().contains("attention mask"), bad.getMessage());
    }
}
