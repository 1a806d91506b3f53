package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufWriter;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.quant.QuantizedMatmul;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A quantized GGUF Llama loaded with its tensors kept as blocks ({@link QuantizedWeights#KEEP}) against the same file
 * dequantized to F32 at load: the same logits for prefill and cached decode, and memory beside the file image that
 * stays near zero instead of four bytes a weight (the reader's allocation counter, {@link GgufFile#convertedBytes}).
 */
class KeepQuantizedTest {
    static final int VOCAB = 300, DIM = 256, HIDDEN = 512, HEADS = 4, KV_HEADS = 2, LAYERS = 2, CTX = 64;

    @TempDir
    Path dir;

    /** A random Llama GGUF, every matrix as {@code type} (shapes are multiples of 256, so K-quants apply). */
    static long writeRandom(Path out, GgmlType type, boolean tied, long seed) throws Exception {
        return writeRandom(out, type, tied, false, seed);
    }

    /** As above; with {@code qkvBias}, F32 q/k/v biases as Qwen2 has (stacked with the quantized q/k/v rows). */
    static long writeRandom(Path out, GgmlType type, boolean tied, boolean qkvBias, long seed) throws Exception {
        Random r = new Random(seed);
        GgufWriter g = new GgufWriter()
                .put("general.architecture", "llama")
                .putU32("llama.context_length", CTX)
                .putU32("llama.embedding_length", DIM)
                .putU32("llama.block_count", LAYERS)
                .putU32("llama.feed_forward_length", HIDDEN)
                .putU32("llama.rope.dimension_count", DIM / HEADS)
                .putU32("llama.attention.head_count", HEADS)
                .putU32("llama.attention.head_count_kv", KV_HEADS)
                .put("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .put("llama.rope.freq_base", 10000f);
        long quantizedWeights = 0;
        int kv = DIM / HEADS * KV_HEADS;
        quantizedWeights += matrix(g, r, "token_embd.weight", VOCAB, DIM, type, 1.0);
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            g.tensor(p + "attn_norm.weight", GgmlType.F32, new long[] {DIM}, norm(r, DIM));
            quantizedWeights += matrix(g, r, p + "attn_q.weight", DIM, DIM, type, 1 / Math.sqrt(DIM));
            quantizedWeights += matrix(g, r, p + "attn_k.weight", kv, DIM, type, 1 / Math.sqrt(DIM));
            quantizedWeights += matrix(g, r, p + "attn_v.weight", kv, DIM, type, 1 / Math.sqrt(DIM));
            if (qkvBias) {
                for (String n : new String[] {"attn_q", "attn_k", "attn_v"}) {
                    float[] b = new float[n.equals("attn_q") ? DIM : kv];
                    for (int i = 0; i < b.length; i++) b[i] = (float) (0.1 * r.nextGaussian());
                    g.tensor(p + n + ".bias", GgmlType.F32, new long[] {b.length}, b);
                }
            }
            quantizedWeights += matrix(g, r, p + "attn_output.weight", DIM, DIM, type, 1 / Math.sqrt(DIM));
            g.tensor(p + "ffn_norm.weight", GgmlType.F32, new long[] {DIM}, norm(r, DIM));
            quantizedWeights += matrix(g, r, p + "ffn_gate.weight", HIDDEN, DIM, type, 1 / Math.sqrt(DIM));
            quantizedWeights += matrix(g, r, p + "ffn_down.weight", DIM, HIDDEN, type, 1 / Math.sqrt(HIDDEN));
            quantizedWeights += matrix(g, r, p + "ffn_up.weight", HIDDEN, DIM, type, 1 / Math.sqrt(DIM));
        }
        g.tensor("output_norm.weight", GgmlType.F32, new long[] {DIM}, norm(r, DIM));
        if (!tied) quantizedWeights += matrix(g, r, "output.weight", VOCAB, DIM, type, 1 / Math.sqrt(DIM));
        g.write(out);
        return quantizedWeights;
    }

    private static long matrix(GgufWriter g, Random r, String name, int rows, int cols, GgmlType t, double std) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
        g.tensor(name, t, new long[] {rows, cols}, v);
        return v.length;
    }

    private static float[] norm(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 1 + 0.1f * (float) r.nextGaussian();
        return v;
    }

    /**
     * Both paths multiply the same float weights (the blocks decode to exactly the values the F32 copy holds), so they
     * differ only in summation order. Per projection each sum is within (k + 2)·u·Σ|x·w| of the exact one (u =
     * 2^-24, k ≤ 512 here), so the two differ by at most 2·514·u ≈ 6.1e-5 of Σ|x·w|; with random signs Σ|x·w| is
     * about √k·(2/π) ≈ 15 times |y|, about 9e-4 relative per projection. A position's logits pass 15 projections in
     * series (7 per layer, 2 layers, the head), and the RMSNorms rescale each residual stream to unit size, so the
     * relative differences add at most: 15 × 9e-4 ≈ 1.4e-2 of the largest logit.
     */
    static final double RELATIVE = 15 * 2 * 514 * 0x1p-24 * Math.sqrt(512) * 2 / Math.PI;

    /**
     * Where the kept model's decode rounds each projection's input to 8 bits first (Q4_0 per 32-block with an fp16
     * step, Q4_K per 256-block with an fp32 one, {@link QuantizedMatmul#decodeQuantizesActivations}), that input moves
     * by at most half a step plus the step's own rounding, amax_b·(1/254 + ε) in block b of B values (ε = 2^-11 for
     * an fp16 step, 2^-24 for fp32); as amax_b² ≤ the block's Σ x², the move's rms is at most √B·(1/254 + ε) of the
     * input's, 0.025 for B = 32 and 0.063 for B = 256. Random-sign weights carry that relative size to the output,
     * and the 15 projections in series add, as above: 15 times it on top of RELATIVE. A loose bound (the usual move
     * is a uniform rounding of a step that is a few times the rms over 127, far below it; the test prints the
     * measured one); the execution with {@code panthera.quant.decodeActivations=f32} holds the same model to RELATIVE.
     */
    static double roundedActivations(GgmlType type) {
        boolean kForm = type == GgmlType.Q4_K || type == GgmlType.Q6_K;
        return RELATIVE + 15 * Math.sqrt(kForm ? 256 : 32) * (1.0 / 254 + (kForm ? 0x1p-24 : 0x1p-11));
    }

    static void assertClose(float[] want, float[] got, String what) {
        assertClose(want, got, RELATIVE, what);
    }

    static void assertClose(float[] want, float[] got, double relative, String what) {
        assertEquals(want.length, got.length);
        double max = 0, worst = 0;
        for (float v : want) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
        System.out.printf(
                "%s: largest logit difference %.3g of the largest logit (bound %.3g)%n", what, worst / max, relative);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], relative * max, what + " logit " + i);
    }

    @ParameterizedTest
    @CsvSource({
        "Q8_0, false, false",
        "Q4_0, true, false",
        "Q4_K, false, false",
        "Q6_K, true, false",
        "Q5_1, false, false",
        "Q4_0, false, true"
    })
    void keptBlocksGiveTheDequantizedLogitsInFileSizedMemory(GgmlType type, boolean tied, boolean qkvBias)
            throws Exception {
        Path file = dir.resolve("random-" + type + (qkvBias ? "-bias" : "") + ".gguf");
        long weights = writeRandom(file, type, tied, qkvBias, 42);
        long fileBytes = Files.size(file);
        int[] ids = new int[12];
        Random r = new Random(7);
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(VOCAB);
        try (var ng = Autograd.noGrad();
                LlamaModel kept = LlamaModel.load(file, null, QuantizedWeights.KEEP);
                LlamaModel f32 = LlamaModel.load(file, null, QuantizedWeights.DEQUANTIZE)) {
            // prefill (many rows through each projection)
            float[] a = f32.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            float[] b = kept.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            assertClose(a, b, type + " prefill");
            // cached decode: one row through each projection (the block dots)
            KvCache ca = f32.newCache(CTX), cb = kept.newCache(CTX);
            Tensor head = Tensor.of(java.util.Arrays.copyOf(ids, 11), 1, 11),
                    last = Tensor.of(new int[] {ids[11]}, 1, 1);
            f32.forward(head, 0, ca, null, true);
            kept.forward(head, 0, cb, null, true);
            assertClose(
                    f32.forward(last, 11, ca, null, false).toFloatArray(),
                    kept.forward(last, 11, cb, null, false).toFloatArray(),
                    QuantizedMatmul.decodeQuantizesActivations(type) ? roundedActivations(type) : RELATIVE,
                    type + " decode");

            long keptExtra = ((GgufFile) kept.weights()).convertedBytes();
            long f32Extra = ((GgufFile) f32.weights()).convertedBytes();
            System.out.printf(
                    "%s: file %d bytes; beside the mapping, kept %d bytes, dequantized %d bytes%n",
                    type, fileBytes, keptExtra, f32Extra);
            // kept: no quantized weight converted; the F32 norms (and biases) are read in place from a mapping, or
            // copied onto the heap when load chose LoadMode.HEAP for this small file
            GgufFile g = (GgufFile) kept.weights();
            long f32Bytes = 0;
            for (String n : g.names())
                if (g.info(n).type() == GgmlType.F32) f32Bytes += 4 * g.info(n).numel();
            boolean heap = LlamaLoader.chosenMode(file, true) == dev.panthera.models.io.LoadMode.HEAP;
            assertEquals(heap ? f32Bytes : 0, keptExtra, type + ": kept model converted " + keptExtra + " bytes");
            // dequantized: four bytes for every quantized weight the model uses
            assertTrue(f32Extra >= 4 * weights, type + ": " + f32Extra + " < 4 × " + weights);
        }
    }
}
