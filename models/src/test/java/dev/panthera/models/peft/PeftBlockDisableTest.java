package dev.panthera.models.peft;

import static dev.panthera.models.peft.PeftFixturesTest.FIXTURES;
import static dev.panthera.models.peft.PeftFixturesTest.base;
import static dev.panthera.models.peft.PeftFixturesTest.close;
import static dev.panthera.models.peft.PeftFixturesTest.expected;
import static dev.panthera.models.peft.PeftFixturesTest.ids;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.Lora;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Adapters disabled in one decoder block, against peft 0.21: {@code plain.block0off} and {@code ia3x.block1off} are
 * peft's logits with {@code enable_adapters(False)} on every tuner layer inside {@code model.layers[i]}
 * ({@code peft_fixtures.py write}). And LoRA's fan_in_fan_out = true, which peft reads as false for Linear targets
 * ({@code plainfifo}: plain's files with the flag set, checked equal by the script).
 */
class PeftBlockDisableTest {
    @Test
    void loraDisabledInBlockZeroGivesPeftsLogits() throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        AdapterFiles.load(FIXTURES.resolve("plain"), m, "default", true);
        m.eval();
        long trainable = m.trainableParameterCount();
        float[] want = expected().get("plain.block0off");
        assertFalse(Arrays.equals(want, expected().get("plain")), "block 0's adapter changes the logits");
        assertFalse(Arrays.equals(want, expected().get("base")), "block 1's adapter changes the logits");
        try (var _ = Lora.disableAdapters(m.layers().get(0))) {
            close(want, m.forward(x).toFloatArray(), "plain with block 0 disabled vs peft");
            // layer 0: q_proj A [4, 8], B [8, 4] and v_proj A [4, 8], B [4, 4] (one kv head of 4) no longer train
            assertEquals(trainable - (4 * 8 + 8 * 4) - (4 * 8 + 4 * 4), m.trainableParameterCount());
        }
        close(expected().get("plain"), m.forward(x).toFloatArray(), "plain enabled again vs peft");
        assertEquals(trainable, m.trainableParameterCount(), "closing restores what trains");
    }

    @Test
    void ia3DisabledInBlockOneGivesPeftsLogits() throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        Ia3Files.load(FIXTURES.resolve("ia3x"), m, "default", false);
        float[] want = expected().get("ia3x.block1off");
        assertFalse(Arrays.equals(want, expected().get("ia3x")), "block 1's vectors change the logits");
        try (var _ = Lora.disableAdapters(m.layers().get(1))) {
            close(want, m.forward(x).toFloatArray(), "ia3x with block 1 disabled vs peft");
        }
        close(expected().get("ia3x"), m.forward(x).toFloatArray(), "ia3x enabled again vs peft");
        try (var _ = Lora.disableAdapters(m)) {
            close(expected().get("base"), m.forward(x).toFloatArray(), "every (IA)³ layer and the lm_head copy off");
        }
    }

    @Test
    void loraFanInFanOutTrueLoadsAsPeftLoadsItOntoLinearLayers() throws IOException {
        CausalLm m = base();
        AdapterFiles.load(FIXTURES.resolve("plainfifo"), m, "default");
        close(expected().get("plain"), m.forward(ids()).toFloatArray(), "plainfifo vs peft's plain");
    }

    /**
     * LLaMA-Adapter under peft's disable_adapter: the plain attention, so transformers' base logits; one block off
     * leaves the other block's prompt in effect.
     */
    @Test
    void adaptionPromptDisabledGivesTheBaseLogits() throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        AdaptionPromptFiles.load(FIXTURES.resolve("adaption"), m, true);
        m.eval();
        long trainable = m.trainableParameterCount();
        try (var _ = Lora.disableAdapters(m)) {
            close(expected().get("base"), m.forward(x).toFloatArray(), "adaption prompts disabled vs transformers");
            assertEquals(0, m.trainableParameterCount());
        }
        close(expected().get("adaption"), m.forward(x).toFloatArray(), "adaption enabled again vs peft");
        assertEquals(trainable, m.trainableParameterCount());
        try (var _ = Lora.disableAdapters(m.layers().get(0))) {
            float[] half = m.forward(x).toFloatArray();
            assertFalse(Arrays.equals(half, expected().get("base"))
                    || Arrays.equals(half, expected().get("adaption")));
            assertEquals(trainable / 2, m.trainableParameterCount(), "block 1's prompt and gate still train");
        }
    }
}
