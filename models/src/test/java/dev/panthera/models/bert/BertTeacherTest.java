package dev.panthera.models.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.nn.distill.EncoderOutputs;
import dev.panthera.nn.distill.SmallEncoder;
import dev.panthera.nn.distill.TinyBertDistillation;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The TinyBERT wiring over all-MiniLM-L6-v2 that {@code dev.panthera.bench.TinyBertDistill} runs at length: the
 * teacher's outputs are {@link BertModel#forward}'s (hidden states and pre-softmax attention scores), and a few
 * distillation steps on a tiny batch lower the loss. The attention loss against transformers' own scores is checked
 * on the tiny BERT fixture in {@link BertAttentionScoresTest}.
 */
class BertTeacherTest {
    private static final String NAME = "all-minilm-l6-v2";
    private static final List<String> SENTENCES = List.of(
            "The chef slowly stirred the tomato soup.",
            "Heavy rain flooded the mountain roads overnight near the coast.",
            "A curious cat watched the red ball.",
            "The bank raised interest rates.");

    @Test
    void teacherOutputsAreBertModelForwards() throws Exception {
        Oracles.require(BertModels.jar(NAME, BertModels.localRepository()));
        try (BertModel m = BertModel.load(NAME)) {
            BatchEncoding enc = m.tokenizer().encodeBatch(SENTENCES, true, 64);
            assertTrue(enc.attentionMask()[2][enc.ids()[0].length - 1] == 0, "the batch should have padding");
            EncoderOutput ref = m.forward(enc, true, false, true);
            BertTeacher teacher = new BertTeacher(m, 8, 5, 3);
            EncoderOutputs t = teacher.outputs(enc);
            assertEquals(7, t.hiddenStates().size());
            assertEquals(6, t.layers());
            for (int i = 0; i < 7; i++)
                assertArrayEquals(
                        ref.hiddenStates().get(i).contiguous().toFloatArray(),
                        t.hiddenStates().get(i).contiguous().toFloatArray(),
                        "hidden state " + i + " (the same deterministic forward: equal bits)");
            int b = SENTENCES.size(), len = enc.ids()[0].length;
            for (int l = 0; l < 6; l++)
                assertArrayEquals(
                        ref.attentionScores().get(l).contiguous().toFloatArray(),
                        t.attentionScores().get(l).contiguous().toFloatArray(),
                        "layer " + l + " scores before the softmax (the same deterministic forward: equal bits)");
            // logits: scale · normalise(mean pool) · R, recomputed here in float64 from the reference's last state
            float[] last = ref.lastHiddenState().contiguous().toFloatArray(),
                    r = teacher.classifier().toFloatArray();
            float[] logits = t.logits().contiguous().toFloatArray();
            int h = 384;
            for (int row = 0; row < b; row++) {
                double[] mean = new double[h];
                int count = 0;
                for (int j = 0; j < len; j++) {
                    if (enc.attentionMask()[row][j] == 0) continue;
                    count++;
                    for (int c = 0; c < h; c++) mean[c] += last[(row * len + j) * h + c];
                }
                double norm = 0;
                for (int c = 0; c < h; c++) norm += (mean[c] / count) * (mean[c] / count);
                norm = Math.sqrt(norm);
                for (int k = 0; k < 8; k++) {
                    double z = 0;
                    for (int c = 0; c < h; c++) z += mean[c] / count / norm * r[c * 8 + k];
                    // float32 sums of 384 products of values ≤ ~4 in magnitude: 1e-4 absolute is ~10x their rounding
                    assertEquals(5 * z, logits[row * 8 + k], 1e-4 * 5, "logit " + row + "," + k);
                }
            }
        }
    }

    @Test
    void aFewStepsLowerTheIntermediateAndPredictionLosses() throws Exception {
        Oracles.require(BertModels.jar(NAME, BertModels.localRepository()));
        try (BertModel m = BertModel.load(NAME)) {
            BatchEncoding enc = m.tokenizer().encodeBatch(SENTENCES, true, 64);
            BertTeacher teacher = new BertTeacher(m, 8, 5, 3);
            EncoderOutputs t = teacher.outputs(enc);
            int b = SENTENCES.size(), len = enc.ids()[0].length;
            Map<Integer, Integer> vocab = new HashMap<>();
            long[] ids = new long[b * len];
            for (int i = 0; i < ids.length; i++)
                ids[i] = vocab.computeIfAbsent(enc.ids()[i / len][i % len], k -> vocab.size());
            Tensor idsT = Tensor.of(ids, b, len), mask = BertTeacher.maskTensor(enc.attentionMask());
            SplittableRandom rng = new SplittableRandom(1);
            SmallEncoder student = new SmallEncoder(new SmallEncoder.Config(vocab.size(), 48, 12, 96, 2, 64, 8), rng);
            var distill = new TinyBertDistillation(2, 6, 48, 384, rng);
            AdamW opt = new AdamW(distill.trainableParameters(student), 3e-3, 0.9, 0.999, 1e-8, 0);
            double[] inter = new double[11];
            for (int step = 0; step <= 10; step++) {
                try (var scope = MemoryScope.open()) {
                    EncoderOutputs s = student.forwardWithIntermediates(idsT, mask);
                    if (step == 0) {
                        // the student's padded keys are masked out of the attention MSE, as the teacher's are
                        float[] raw = s.attentionScores().get(0).contiguous().toFloatArray();
                        assertTrue(raw[raw.length - 1] <= -100, "student score at a padded key");
                    }
                    Tensor loss = distill.intermediateLoss(s, t);
                    inter[step] = loss.item();
                    opt.zeroGrad();
                    loss.backward();
                    opt.step();
                }
            }
            assertTrue(
                    Double.isFinite(inter[0]) && inter[10] < 0.8 * inter[0],
                    "intermediate loss " + inter[0] + " → " + inter[10]);
            AdamW opt2 = new AdamW(student.trainableParameters(), 3e-3, 0.9, 0.999, 1e-8, 0);
            double[] pred = new double[11];
            for (int step = 0; step <= 10; step++) {
                try (var scope = MemoryScope.open()) {
                    EncoderOutputs s = student.forwardWithIntermediates(idsT, mask);
                    Tensor loss = distill.predictionLoss(s, t, 2);
                    pred[step] = loss.item();
                    opt2.zeroGrad();
                    loss.backward();
                    opt2.step();
                }
            }
            assertTrue(pred[10] < 0.9 * pred[0], "prediction loss " + pred[0] + " → " + pred[10]);
        }
    }
}
