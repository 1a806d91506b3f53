package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link LlamaModel#forwardWithStates} against transformers' output_hidden_states / output_attentions (eager
 * attention) on the GQA and the sliding-window fixtures, written by models/src/test/python/states_fixtures.py.
 *
 * <p>Tolerance: HuggingFaceReferenceTest's bound for logits (F32 on both sides, only the summation order differs;
 * 2e-3 over about 20 dependent stages) covers every intermediate hidden state, which passes through fewer stages. A
 * probability moves by at most about twice the error of its scores (softmax is 1-Lipschitz in each logit up to the
 * factor p(1 − p) ≤ 1/4 per pair), and the scores are dot products of length head_dim over those same states, so the
 * same 2e-3 holds; a missing window, a wrong GQA head mapping or an unscaled score moves probabilities by tenths.
 */
class LlamaStatesTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa", "mistral-window"})
    void hiddenStatesAndAttentionsMatchTransformers(String name) throws Exception {
        Path dir = HuggingFaceReferenceTest.fixture(name);
        try (SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                SafetensorsFile states = SafetensorsFile.open(dir.resolve("states.safetensors"));
                LlamaModel m = LlamaModel.load(dir)) {
            int[] ids = HuggingFaceReferenceTest.ints(ref.tensor("ids"));
            Tensor in = Tensor.of(ids, 1, ids.length);
            LlamaModel.Output out = m.forwardWithStates(in, null, true, true);
            int layers = m.config().layers();
            assertEquals(layers + 1, out.hiddenStates().size());
            assertEquals(layers, out.attentions().size());
            for (int i = 0; i <= layers; i++)
                assertClose(states.tensor("hidden." + i), out.hiddenStates().get(i), name + " hidden." + i);
            for (int i = 0; i < layers; i++)
                assertClose(states.tensor("attention." + i), out.attentions().get(i), name + " attention." + i);
            assertArrayEquals(
                    m.forward(in).toFloatArray(),
                    out.logits().toFloatArray(),
                    "the logits are those of the plain forward, bit for bit");
            LlamaModel.Output none = m.forwardWithStates(in, null, false, false);
            assertTrue(none.hiddenStates().isEmpty() && none.attentions().isEmpty());
        }
    }

    private static void assertClose(Tensor want, Tensor got, String what) {
        assertArrayEquals(want.dims(), got.dims(), what + " shape");
        float[] w = want.toFloatArray(), g = got.contiguous().toFloatArray();
        double worst = 0;
        for (int i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - g[i]));
        assertTrue(worst <= HuggingFaceReferenceTest.TOL, what + ": max |diff| " + worst);
    }
}
