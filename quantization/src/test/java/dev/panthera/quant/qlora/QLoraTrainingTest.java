package dev.panthera.quant.qlora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** QLoRA on nn's decoder: preparation, a training run, and what a step allocates. */
class QLoraTrainingTest {

    private static CausalLm model() {
        return new CausalLm(DecoderConfig.of(32, 64, 4, 2, 50, 2, 16), new SplittableRandom(1));
    }

    @Test
    void doraOverAFourBitBaseIsRefusedNotSilentlyPlainLora() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> QLora.prepare(
                        model(),
                        FourBitCode.NF4,
                        64,
                        true,
                        LoraConfig.of(4, 8, 0, List.of("q_proj")).withDora(true),
                        "default"));
        assertTrue(e.getMessage().contains("DoRA"), e.getMessage());
    }

    @Test
    void prepareQuantizesEveryLinearButLmHeadAndTrainsOnlyTheAdapters() {
        CausalLm m = model();
        List<String> adapted = QLora.prepare(
                m, FourBitCode.NF4, 64, true, LoraConfig.of(4, 8, 0, List.of("q_proj", "v_proj")), "default");
        assertEquals(
                List.of(
                        "model.layers.0.self_attn.q_proj",
                        "model.layers.0.self_attn.v_proj",
                        "model.layers.1.self_attn.q_proj",
                        "model.layers.1.self_attn.v_proj"),
                adapted);
        Map<String, Linear4bit> q = QLora.fourBitLayers(m);
        assertEquals(14, q.size(), "7 linears per block (q, k, v, o, gate, up, down) in 2 blocks");
        assertTrue(m.child("lm_head") instanceof Linear, "lm_head stays float");
        List<String> trainable = new ArrayList<>();
        for (var e : m.namedParameters().entrySet()) if (e.getValue().requiresGrad()) trainable.add(e.getKey());
        assertEquals(8, trainable.size());
        assertTrue(trainable.stream().allMatch(n -> n.contains(".lora_A.default.") || n.contains(".lora_B.default.")));
        assertEquals(
                List.of(
                        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"),
                QLora.adapterStateDict(m, "default").keySet().stream().limit(2).toList());
    }

    /** Markov-chain tokens (each token has 2 successors), so the loss can fall well below ln(vocab). */
    private static long[] batch(SplittableRandom r, int[][] next, int rows, int len) {
        long[] out = new long[rows * len];
        for (int b = 0; b < rows; b++) {
            int tok = r.nextInt(next.length);
            for (int i = 0; i < len; i++) {
                out[b * len + i] = tok;
                tok = next[tok][r.nextInt(2)];
            }
        }
        return out;
    }

    @Test
    void trainingTheAdaptersLowersTheLossAndLeavesThePackedBaseAsItWas() {
        CausalLm m = model();
        QLora.prepare(m, FourBitCode.NF4, 64, true, LoraConfig.of(8, 16, 0.05, List.of(LoraConfig.ALL_LINEAR)), "d");
        Map<String, Linear4bit> q = QLora.fourBitLayers(m);
        List<byte[]> packedBefore = new ArrayList<>();
        for (Linear4bit l : q.values()) packedBefore.add(l.weight().packed().clone());
        SplittableRandom r = new SplittableRandom(4);
        int[][] next = new int[50][2];
        for (int[] n : next) for (int k = 0; k < 2; k++) n[k] = r.nextInt(50);
        AdamW opt = new AdamW(m.trainableParameters(), 1e-2);
        int steps = 30, rows = 4, len = 13;
        double first = 0, last = 0;
        for (int s = 0; s < steps; s++) {
            try (var scope = MemoryScope.open()) {
                Tensor all = Tensor.of(batch(r, next, rows, len), rows, len);
                Tensor in = all.narrow(1, 0, len - 1).contiguous(),
                        target = all.narrow(1, 1, len - 1).contiguous();
                Tensor loss = Losses.crossEntropy(m.forward(in), target);
                opt.zeroGrad();
                loss.backward();
                opt.step();
                double l = loss.item();
                if (s < 5) first += l / 5;
                if (s >= steps - 5) last += l / 5;
            }
        }
        // ln 50 ≈ 3.91 at the start; a chain with 2 successors allows ln 2 ≈ 0.69. Demand a clear fall.
        System.out.printf("QLoRA training loss %.3f -> %.3f%n", first, last);
        assertTrue(last < first - 0.5, "loss " + first + " -> " + last);
        int i = 0;
        for (Linear4bit l : q.values())
            assertArrayEquals(packedBefore.get(i++), l.weight().packed());
    }

    /**
     * A forward and backward through QLoRA over a 512×512 NF4 weight (1 MiB as F32) with 2 activation rows, inside a
     * memory scope: the tensor memory the step takes from the host pool (the blocks its scope holds: nothing goes
     * back before the scope closes, so that is everything the step allocated) stays far below out·in·4 bytes, and nothing is
     * allocated outside the scope once the adapter's gradients exist. The step legitimately needs activations and
     * gradients of a few KiB and the adapter's r·(in + out) gradients; the bound, a quarter of the F32 matrix, leaves
     * room for that while any F32 tensor of the weight exceeds it — which the last assertion shows the counter sees.
     */
    @Test
    void aStepAllocatesNoOutTimesInFloatBuffer() {
        int in = 512, out = 512;
        Linear4bit q4 =
                Linear4bit.quantize(new Linear(in, out, false, new SplittableRandom(2)), FourBitCode.NF4, 64, true);
        QLoraLinear layer = new QLoraLinear(q4);
        layer.addAdapter("d", 8, 2, 0, LoraConfig.InitWeights.RANDOM, 1);
        long matrix = 4L * out * in, bound = matrix / 4;
        Tensor x = Tensor.randn(Shape.of(2, in), 3).requiresGrad(true);
        for (int warm = 0; warm < 2; warm++) step(layer, x);
        MemoryPool pool = MemoryPool.host();
        long gcBefore = pool.stats().gcManagedAllocations(), held;
        try (var scope = MemoryScope.open()) {
            layer.forward(x).sum().backward();
            // the scope's own blocks: the pool's bytes in use also move when blocks that earlier tests left to the
            // GC are released meanwhile
            held = scope.bytesHeld();
        }
        assertTrue(held > 0 && held < bound, "pooled bytes held by the step: " + held + " vs bound " + bound);
        assertEquals(0, pool.stats().gcManagedAllocations() - gcBefore, "nothing allocated outside the scope");
        try (var scope = MemoryScope.open()) {
            q4.dequantizedWeight();
            assertTrue(scope.bytesHeld() >= matrix, "the counter sees an F32 copy of the weight");
        }
    }

    private static void step(QLoraLinear layer, Tensor x) {
        try (var scope = MemoryScope.open()) {
            layer.forward(x).sum().backward();
        }
    }
}
