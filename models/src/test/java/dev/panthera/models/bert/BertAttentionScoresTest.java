package dev.panthera.models.bert;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.nn.distill.EncoderOutputs;
import dev.panthera.nn.distill.SmallEncoder;
import dev.panthera.nn.distill.TinyBertDistillation;
import dev.panthera.tensor.MemoryScope;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * BERT's attention scores before the softmax against transformers' eager attention on the tiny random BERT fixture
 * ({@code bert_scores_fixtures.py}, command in its docstring: the tensor eager_attention_forward hands to softmax,
 * captured there), and TinyBERT's attention loss over them.
 *
 * <p>Tolerance: the scores are q·kᵀ/√8 of the layers' F32 activations; {@link HuggingFaceBertTest}'s bound for values
 * built from its hidden states applies, |ours − ref| ≤ 2e-5·max(1, max|ref|) over the real keys. Padded keys carry
 * transformers' additive minimum on both sides, bit for bit.
 */
class BertAttentionScoresTest {
    static final Path DIR = HuggingFaceBertTest.DIR;

    @Test
    void scoresBeforeSoftmaxEqualTransformersEagerAttention() throws Exception {
        Oracles.require(DIR.resolve("scores.safetensors"));
        try (BertModel m = BertModel.load(DIR);
                Weights ref = Weights.open(DIR.resolve("reference.safetensors"));
                Weights scores = Weights.open(DIR.resolve("scores.safetensors"));
                var scope = MemoryScope.open()) {
            int[][] mask = HuggingFaceBertTest.ints(ref.tensor("attention_mask"));
            EncoderOutput out =
                    m.forward(ref.tensor("input_ids"), ref.tensor("token_type_ids"), mask, false, true, true);
            assertEquals(2, out.attentionScores().size());
            for (int l = 0; l < 2; l++) {
                float[] want = scores.tensor("scores." + l).contiguous().toFloatArray();
                float[] got = out.attentionScores().get(l).contiguous().toFloatArray();
                assertEquals(want.length, got.length);
                int t = mask[0].length;
                double scale = 1;
                for (int i = 0; i < want.length; i++)
                    if (mask[i / (4 * t * t)][i % t] == 1) scale = Math.max(scale, Math.abs(want[i]));
                int padded = 0;
                for (int i = 0; i < want.length; i++) {
                    if (mask[i / (4 * t * t)][i % t] == 0) {
                        padded++;
                        assertEquals(-Float.MAX_VALUE, want[i], "transformers' mask value at entry " + i);
                        assertEquals(want[i], got[i], "layer " + l + " padded key, entry " + i);
                    } else {
                        assertEquals(want[i], got[i], 2e-5 * scale, "layer " + l + " entry " + i);
                    }
                }
                assertTrue(padded > 0, "the batch has padded keys");
                // the probabilities are the softmax of these scores
                float[] p = out.attentions().get(l).contiguous().toFloatArray(),
                        sp =
                                out.attentionScores()
                                        .get(l)
                                        .softmax(3)
                                        .contiguous()
                                        .toFloatArray();
                for (int i = 0; i < p.length; i++) assertEquals(p[i], sp[i], 1e-6, "softmax of the scores, " + i);
            }
            var none = m.forward(ref.tensor("input_ids"), ref.tensor("token_type_ids"), mask, false, true);
            assertTrue(none.attentionScores().isEmpty(), "scores only on request");
        }
    }

    /**
     * TinyBERT's attention loss with BertTeacher over the fixture as the teacher and a 1-layer student: student layer
     * 0 fits teacher layer 1 (k = 2); the loss equals a float64 loop over the student's scores and transformers'
     * scores (token types 0, as BertTeacher runs), every entry ≤ −100 replaced by 0 on both sides and the squared
     * differences averaged over all B·heads·T·T entries (task_distill.py's MSELoss). The loss sums ~7700 float32
     * squares of values ≲ 30: 1e-5 relative covers float32 summation; a log-probability or softmax target, or the
     * wrong teacher layer, changes it by far more.
     */
    @Test
    void tinyBertAttentionLossFitsTransformersScores() throws Exception {
        Oracles.require(DIR.resolve("scores.safetensors"));
        try (BertModel m = BertModel.load(DIR);
                Weights ref = Weights.open(DIR.resolve("reference.safetensors"));
                Weights scores = Weights.open(DIR.resolve("scores.safetensors"));
                var scope = MemoryScope.open()) {
            int[][] ids = HuggingFaceBertTest.ints(ref.tensor("input_ids")),
                    mask = HuggingFaceBertTest.ints(ref.tensor("attention_mask"));
            int b = ids.length, t = ids[0].length;
            EncoderOutputs teacher = new BertTeacher(m, 4, 5, 3).outputs(new BatchEncoding(ids, mask));
            SplittableRandom rng = new SplittableRandom(7);
            SmallEncoder student = new SmallEncoder(new SmallEncoder.Config(37, 16, 4, 32, 1, 64, 4), rng);
            var distill = new TinyBertDistillation(1, 2, 16, 32, rng);
            EncoderOutputs s = student.forwardWithIntermediates(ref.tensor("input_ids"), BertTeacher.maskTensor(mask));
            double loss = distill.attentionLoss(s, teacher).item();

            float[] st = s.attentionScores().get(0).contiguous().toFloatArray();
            float[] tt = scores.tensor("types0.1").contiguous().toFloatArray();
            assertEquals((long) b * 4 * t * t, tt.length);
            double sum = 0;
            for (int i = 0; i < tt.length; i++) {
                double x = st[i] <= -100 ? 0 : st[i], y = tt[i] <= -100 ? 0 : tt[i];
                sum += (x - y) * (x - y);
            }
            double want = sum / tt.length;
            assertEquals(want, loss, 1e-5 * want, "attention MSE vs a float64 loop over transformers' scores");
        }
    }
}
