package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.models.io.Weights;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tiny random checkpoints written by HuggingFace transformers ({@code src/test/python/llama_fixtures.py}) load from
 * their folders and give transformers' logits at all 40 prompt positions, its loss (our perplexity API) and its 16
 * greedy tokens (KV-cache decode):
 * GQA, rope_theta 500000 with llama3 scaling and a tied head in BF16, linear and dynamic scaling, Mistral's sliding
 * window, Qwen2's q/k/v bias in F16.
 *
 * <p>Tolerance: both sides compute in F32 on identical weight values (transformers upcasts the stored BF16/F16
 * weights; we widen them in registers), so only F32 rounding in a different summation order separates them. A dot
 * product of length K ≤ 64 is off by at most K·u·Σ|aᵢbᵢ| (u = 2⁻²⁴); through about 20 dependent stages (2 layers of
 * norm, projections, attention, MLP; final norm, head) that is 20 · 64 · 6e-8 ≈ 8e-5 relative, ≈ 5e-4 absolute on
 * logits up to 6 in size. 2e-3 leaves a factor 4 for exp/rsqrt; a wrong rotation, scaling or mask moves logits by
 * tenths or more.
 */
class HuggingFaceReferenceTest {
    static final double TOL = 2e-3;

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        return Path.of("src", "test", "resources", "llama", name).toAbsolutePath();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"llama-gqa", "llama3-scaled", "llama-linear", "llama-dynamic", "mistral-window", "qwen2-bias"})
    void logitsAndGreedyTokensMatchTransformers(String name) throws Exception {
        Path dir = fixture(name);
        try (Weights ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                LlamaModel m = LlamaModel.load(dir)) {
            int[] ids = ints(ref.tensor("ids"));
            float[] want = ref.tensor("logits").toFloatArray();
            float[] got = m.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            assertEquals(want.length, got.length);
            double worst = 0;
            for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
            System.out.println(name + ": max |logit diff| vs transformers " + worst);
            assertTrue(worst <= TOL, name + ": max |logit diff| " + worst + " > " + TOL);
            // perplexity API against transformers' causal-LM loss: a log-softmax moves by at most twice the largest
            // logit error, so the mean NLL agrees within 2·TOL
            double nll = -Perplexity.score(m, ids).logLikelihood() / (ids.length - 1);
            assertEquals(ref.tensor("nll").toFloatArray()[0], nll, 2 * TOL, name + ": mean NLL");
            int[] greedy = ints(ref.tensor("greedy"));
            var r = new Generator(m)
                    .generate(ids, SamplingParams.greedy(greedy.length).withIgnoreEos(true), null);
            assertArrayEquals(greedy, r.tokens(), name + ": greedy tokens");
        }
    }

    /** The same checkpoint split into two shards with model.safetensors.index.json gives the same logits. */
    @Test
    void shardedFolderLoads() throws Exception {
        Path src = fixture("llama3-scaled"), dir = Files.createDirectory(tmp.resolve("sharded"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        StringBuilder map = new StringBuilder();
        try (Weights w = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            List<String> names = w.names();
            List<SafetensorsWriter.Item> a = new ArrayList<>(), b = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i),
                        shard = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
                (i % 2 == 0 ? a : b).add(SafetensorsWriter.Item.of(n, w.tensor(n)));
                map.append(map.isEmpty() ? "" : ",")
                        .append('"')
                        .append(n)
                        .append("\":\"")
                        .append(shard)
                        .append('"');
            }
            SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), Map.of(), a);
            SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), Map.of(), b);
        }
        Files.writeString(
                dir.resolve("model.safetensors.index.json"), "{\"metadata\":{},\"weight_map\":{" + map + "}}");
        int[] ids = {1, 4, 9, 16, 25, 36, 49, 64, 81};
        try (LlamaModel one = LlamaModel.load(src);
                LlamaModel two = LlamaModel.load(dir)) {
            assertArrayEquals(
                    one.forward(Tensor.of(ids, 1, ids.length)).toFloatArray(),
                    two.forward(Tensor.of(ids, 1, ids.length)).toFloatArray());
        }
    }

    /** 16-bit weights are served in their file dtype (the mixed matmul widens them), never as an F32 copy. */
    @Test
    void sixteenBitWeightsStayInTheirDtype() throws Exception {
        String q = "model.layers.0.self_attn.q_proj.weight";
        try (Weights bf = SafetensorsFile.open(fixture("llama3-scaled").resolve("model.safetensors"));
                Weights f16 = SafetensorsFile.open(fixture("qwen2-bias").resolve("model.safetensors"))) {
            assertEquals(
                    DType.BF16, new LlamaWeights(bf, n -> n).matrix(q, 32, 32).dtype());
            assertEquals(
                    DType.F16, new LlamaWeights(f16, n -> n).matrix(q, 32, 32).dtype());
            var e = assertThrows(IllegalArgumentException.class, () -> new LlamaWeights(bf, n -> n).matrix(q, 32, 16));
            assertTrue(e.getMessage().contains(q) && e.getMessage().contains("[32, 32]"), e.getMessage());
        }
    }

    static int[] ints(Tensor t) {
        long[] l = t.toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) out[i] = Math.toIntExact(l[i]);
        return out;
    }

    /**
     * The HF layout (half-split RoPE over rows as transformers stores them) and the same weights written as a GGUF
     * with llama.cpp's q/k row permutation (adjacent pairs) give the same logits: the permutation reorders the
     * head dimension of q and k alike, so each q·k sum only changes its order (error ≪ 1e-4 at these sizes).
     */
    @Test
    void hfLayoutEqualsPermutedGguf() throws Exception {
        Path dir = fixture("llama-gqa"), gguf = tmp.resolve("gqa.gguf");
        try (LlamaModel hf = LlamaModel.load(dir);
                Weights w = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            LlamaConfig c = hf.config();
            GgufWriter g = new GgufWriter()
                    .put("general.architecture", "llama")
                    .putU32("llama.context_length", c.maxSeq())
                    .putU32("llama.embedding_length", c.dim())
                    .putU32("llama.block_count", c.layers())
                    .putU32("llama.feed_forward_length", c.hidden())
                    .putU32("llama.rope.dimension_count", c.headDim())
                    .putU32("llama.attention.head_count", c.heads())
                    .putU32("llama.attention.head_count_kv", c.kvHeads())
                    .put("llama.attention.layer_norm_rms_epsilon", (float) c.normEps())
                    .put("llama.rope.freq_base", (float) c.ropeTheta());
            for (String n : w.names()) {
                float[] v = w.tensor(n).toFloatArray();
                long[] shape = w.shape(n);
                if (n.endsWith("q_proj.weight")) v = permute(v, c.heads(), shape);
                if (n.endsWith("k_proj.weight")) v = permute(v, c.kvHeads(), shape);
                g.tensor(LlamaWeights.ggufName(n), GgmlType.F32, shape, v);
            }
            g.write(gguf);
            try (LlamaModel gg = LlamaModel.load(gguf)) {
                assertTrue(gg.config().interleavedRope());
                assertFalse(hf.config().interleavedRope());
                int[] ids = new int[40];
                for (int i = 0; i < ids.length; i++) ids[i] = (i * 29 + 7) % c.vocab();
                float[] a = hf.forward(Tensor.of(ids, 1, 40)).toFloatArray();
                float[] b = gg.forward(Tensor.of(ids, 1, 40)).toFloatArray();
                for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4, "logit " + i);
            }
        }
    }

    /**
     * llama.cpp's convert_hf_to_gguf permute: rows of each head [2, d/2] become [d/2, 2], so HF's (x[i], x[i+d/2])
     * pairs become adjacent.
     */
    static float[] permute(float[] w, int heads, long[] shape) {
        int rows = (int) shape[0], cols = (int) shape[1], hd = rows / heads, half = hd / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int two = 0; two < 2; two++) {
                    int src = h * hd + two * half + i, dst = h * hd + 2 * i + two;
                    System.arraycopy(w, src * cols, out, dst * cols, cols);
                }
            }
        }
        return out;
    }
}
