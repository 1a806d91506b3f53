package dev.panthera.models.bert;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny random-initialised HuggingFace BertModel (models/src/test/python/bert_fixtures.py; the command is in its
 * docstring) loaded from its save_pretrained folder, against transformers' own outputs on a padded batch with token
 * types: last_hidden_state, every layer's hidden states and attention probabilities, and mean / CLS pooling with and
 * without L2 normalisation.
 *
 * <p>Tolerance. Both sides compute in F32 (transformers on CPU, eager attention). A dot product of length K ≤ 64
 * differs between two summation orders by at most about √K·2⁻²⁴ ≈ 5e-7 of Σ|aᵢbᵢ| (random-walk estimate), and
 * with std-1 embeddings, weights of std 0.2 and LayerNorm re-scaling the sums Σ|aᵢbᵢ| stay ≲ 20, i.e. ~1e-5 per
 * product; LayerNorm and two layers keep that scale. The checks: |ours − ref| ≤ 2e-5·max(1, max|ref|) for hidden
 * states and pooled vectors, and 2e-5 absolute for probabilities (softmax outputs in [0, 1]). A wrong mask, scale,
 * residual order or GELU variant moves values by 1e-2 and more.
 */
class HuggingFaceBertTest {
    static final Path DIR =
            Path.of("src", "test", "resources", "bert", "bert-tiny").toAbsolutePath();

    static final List<String> SENTENCES = List.of(
            "The cat sat on the mat.",
            "A quick brown fox jumped over the lazy dog, and the dog jumps in the river!",
            "Money is in the bank?",
            "Java tensor library: faster vectors.");

    @TempDir
    Path tmp;

    @Test
    void everyOutputEqualsTransformers() throws Exception {
        Oracles.require(DIR.resolve("reference.safetensors"));
        try (BertModel m = BertModel.load(DIR);
                Weights ref = Weights.open(DIR.resolve("reference.safetensors"));
                var scope = MemoryScope.open()) {
            assertEquals(new BertConfig(37, 32, 2, 4, 64, 64, 2, 1e-12, "gelu"), m.config());
            int[][] ids = ints(ref.tensor("input_ids")), mask = ints(ref.tensor("attention_mask"));
            BatchEncoding enc = m.tokenizer().encodeBatch(SENTENCES, true, 0);
            assertArrayEquals(ids, enc.ids(), "our tokenization of the sentences equals the tokenizer.json's");
            assertArrayEquals(mask, enc.attentionMask());

            Tensor types = ref.tensor("token_type_ids");
            Tensor idsT = ref.tensor("input_ids");
            EncoderOutput out = m.forward(idsT, types, mask, true, true);
            close("last_hidden_state", ref.tensor("last_hidden_state"), out.lastHiddenState(), true);
            assertEquals(3, out.hiddenStates().size());
            assertEquals(2, out.attentions().size());
            for (int i = 0; i <= 2; i++)
                close(
                        "hidden_states." + i,
                        ref.tensor("hidden_states." + i),
                        out.hiddenStates().get(i),
                        true);
            for (int i = 0; i < 2; i++)
                close(
                        "attentions." + i,
                        ref.tensor("attentions." + i),
                        out.attentions().get(i),
                        false);

            Tensor mean = Pooling.MEAN.pool(out.lastHiddenState(), mask),
                    cls = Pooling.CLS.pool(out.lastHiddenState(), mask);
            close("mean_pooled", ref.tensor("mean_pooled"), mean, true);
            close("cls_pooled", ref.tensor("cls_pooled"), cls, true);
            close("mean_normalized", ref.tensor("mean_normalized"), Pooling.normalize(mean), true);
            close("cls_normalized", ref.tensor("cls_normalized"), Pooling.normalize(cls), true);

            // the fused attention path (no probabilities requested) gives the same hidden state
            close(
                    "last_hidden_state (fused attention)",
                    ref.tensor("last_hidden_state"),
                    m.forward(idsT, types, mask, false, false).lastHiddenState(),
                    true);
        }
    }

    /** A row run alone equals its row of the padded batch: padding does not leak into real positions. */
    @Test
    void paddingDoesNotChangeRealPositions() throws Exception {
        Oracles.require(DIR.resolve("reference.safetensors"));
        try (BertModel m = BertModel.load(DIR);
                Weights ref = Weights.open(DIR.resolve("reference.safetensors"));
                var scope = MemoryScope.open()) {
            Tensor want = ref.tensor("last_hidden_state");
            int[][] ids = ints(ref.tensor("input_ids")), mask = ints(ref.tensor("attention_mask"));
            Tensor types = ref.tensor("token_type_ids");
            int n = 0;
            while (mask[0][n] == 1) n++;
            Tensor alone = m.forward(
                            ref.tensor("input_ids")
                                    .narrow(0, 0, 1)
                                    .narrow(1, 0, n)
                                    .contiguous(),
                            types.narrow(0, 0, 1).narrow(1, 0, n).contiguous(),
                            null,
                            false,
                            false)
                    .lastHiddenState();
            close("row 0 alone", want.narrow(0, 0, 1).narrow(1, 0, n).contiguous(), alone, true);
            assertTrue(ids[0].length > n, "row 0 is padded in the batch");
        }
    }

    /** The same folder with vocab.txt instead of tokenizer.json tokenizes the sentences identically. */
    @Test
    void vocabTxtTokenizerEqualsTokenizerJson() throws Exception {
        Oracles.require(DIR.resolve("reference.safetensors"));
        for (String f : new String[] {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
            Files.copy(DIR.resolve(f), tmp.resolve(f));
        try (BertModel json = BertModel.load(DIR);
                BertModel txt = BertModel.load(tmp)) {
            List<String> texts = List.of("The cat sat on the mat.", "Über-quick FOX jumps!!", "", "a\tdog\u00a0s");
            BatchEncoding a = json.tokenizer().encodeBatch(texts, true, 0),
                    b = txt.tokenizer().encodeBatch(texts, true, 0);
            assertArrayEquals(a.ids(), b.ids());
            assertArrayEquals(a.attentionMask(), b.attentionMask());
        }
    }

    @Test
    void badInputIsRejectedNamingIt() throws Exception {
        Oracles.require(DIR.resolve("reference.safetensors"));
        try (BertModel m = BertModel.load(DIR)) {
            var e = assertThrows(
                    IllegalArgumentException.class,
                    () -> m.forward(Tensor.of(new long[] {2, 37, 3}, 1, 3), null, null, false, false));
            assertTrue(e.getMessage().contains("token id 37 outside [0, 37)"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> m.forward(
                            Tensor.of(new long[] {2, 5, 3}, 1, 3), null, new int[][] {{0, 0, 0}}, false, false));
            assertTrue(e.getMessage().contains("masks every token"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> m.forward(
                            Tensor.of(new long[] {2, 5, 3}, 1, 3),
                            Tensor.of(new long[] {0, 2, 0}, 1, 3),
                            null,
                            false,
                            false));
            assertTrue(e.getMessage().contains("token type 2 outside [0, 2)"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> m.forward(
                            Tensor.zeros(dev.panthera.tensor.DType.I64, dev.panthera.tensor.Shape.of(1, 65)),
                            null,
                            null,
                            false,
                            false));
            assertTrue(e.getMessage().contains("65 positions exceed max_position_embeddings 64"), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> BertModel.load(tmp));
        assertTrue(e.getMessage().contains("no config.json"), e.getMessage());
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"bert\", \"vocab_size\": 37}");
        e = assertThrows(IllegalArgumentException.class, () -> BertModel.load(tmp));
        assertTrue(e.getMessage().contains("missing 'hidden_size'"), e.getMessage());
    }

    /** A closed model fails with an exception, never a crash or stale numbers. */
    @Test
    void useAfterCloseIsAnException() throws Exception {
        Oracles.require(DIR.resolve("reference.safetensors"));
        BertModel m = BertModel.load(DIR);
        m.close();
        m.close(); // closing again does nothing
        assertThrows(IllegalStateException.class, () -> m.embed(List.of("The cat sat on the mat.")));
    }

    static int[][] ints(Tensor t) {
        long[] v = t.toLongArray();
        int rows = (int) t.size(0), cols = (int) t.size(1);
        int[][] out = new int[rows][cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) out[r][c] = (int) v[r * cols + c];
        return out;
    }

    static void close(String what, Tensor want, Tensor got, boolean scaled) {
        assertArrayEquals(want.dims(), got.dims(), what + " shape");
        float[] w = want.contiguous().toFloatArray(), g = got.contiguous().toFloatArray();
        double max = 1;
        for (float v : w) max = Math.max(max, Math.abs(v));
        double tol = scaled ? 2e-5 * max : 2e-5, worst = 0;
        for (int i = 0; i < w.length; i++) {
            double d = Math.abs(w[i] - g[i]);
            worst = Math.max(worst, d);
            assertTrue(
                    d <= tol,
                    what + "[" + i + "]: ours " + g[i] + ", transformers " + w[i] + " (tolerance " + tol + ")");
        }
        System.out.printf("%s: max diff %.3g (tolerance %.3g)%n", what, worst, tol);
    }
}
