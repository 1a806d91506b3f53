package dev.panthera.models.gpt2;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link Gpt2Model#forwardWithStates} against transformers' output_hidden_states / output_attentions (eager attention)
 * on the F32 GPT-2 fixture, written by models/src/test/python/states_fixtures.py. Tolerance as in
 * Gpt2HuggingFaceTest: F32 on both sides, only the summation order differs, bounded by its 2e-3 for the logits, which
 * pass through more stages than any hidden state; a probability moves by at most about twice its scores' error.
 */
class Gpt2StatesTest {
    @Test
    void hiddenStatesAndAttentionsMatchTransformers() throws Exception {
        Path dir = Gpt2HuggingFaceTest.fixture("gpt2-f32");
        try (SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                SafetensorsFile states = SafetensorsFile.open(dir.resolve("states.safetensors"));
                Gpt2Model m = Gpt2Model.load(dir)) {
            long[] l = ref.tensor("ids").toLongArray();
            int[] ids = new int[l.length];
            for (int i = 0; i < l.length; i++) ids[i] = Math.toIntExact(l[i]);
            Tensor in = Tensor.of(ids, 1, ids.length);
            Gpt2Model.Output out = m.forwardWithStates(in, null, true, true);
            int layers = m.config().layers();
            assertEquals(layers + 1, out.hiddenStates().size());
            assertEquals(layers, out.attentions().size());
            for (int i = 0; i <= layers; i++)
                assertClose(states.tensor("hidden." + i), out.hiddenStates().get(i), "hidden." + i);
            for (int i = 0; i < layers; i++)
                assertClose(states.tensor("attention." + i), out.attentions().get(i), "attention." + i);
            assertArrayEquals(m.forward(in).toFloatArray(), out.logits().toFloatArray(), "logits of the plain forward");
        }
    }

    private static void assertClose(Tensor want, Tensor got, String what) {
        assertArrayEquals(want.dims(), got.dims(), what + " shape");
        float[] w = want.toFloatArray(), g = got.contiguous().toFloatArray();
        double worst = 0;
        for (int i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - g[i]));
        assertTrue(worst <= Gpt2HuggingFaceTest.TOL, what + ": max |diff| " + worst);
    }
}
