package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.PoolingType;
import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.Llama2cToGguf;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Per-position comparison with llama.cpp (de.kherud:llama 4.2.0) on the GGUF files of {@link LlamaCppPromptTest}
 * (random GQA, rope_theta 500000, llama3 scaling; stories260K; F32 and F16): over the 74-token prompt followed by
 * llama.cpp's own 64-token greedy completion (as text), the final hidden state, the vector the output head
 * multiplies, agrees with ours at every position compared (below). Greedy token ids themselves are compared in
 * {@link LlamaCppPromptTest}.
 *
 * <p>What the binding exposes: text completion, tokenize/detokenize, and embeddings; no logits. Its
 * {@code setNProbs} aborts the JVM in 4.2.0 (the binding reads a {@code probs} field the bundled server no longer
 * writes: GGML_ASSERT in json.hpp), so no token probabilities are available either. Embeddings with pooling LAST are
 * llama.cpp's output-normed hidden state at the last position, L2-normalised. So for every character prefix of the
 * text (each one call, tokenized by llama.cpp with BOS; prefixes that fall inside a multi-byte character are skipped)
 * we compare that unit vector with ours. Ours is read through the head: the comparison file is the same GGUF with
 * {@code output.weight} replaced by rows of the identity, so our logits' first {@code dim} entries are our final
 * hidden state exactly. The positions compared are every character boundary of the prompt, then 64 more in the
 * completion text (llama.cpp's detokenized "▁tN" pieces re-tokenize as bytes, so these 64 span its first few greedy
 * tokens' text, not 64 generated token ids: the binding cannot be fed ids); the cap keeps the test's cost down.
 *
 * <p>Tolerance on the unit vectors' components (|component| ≤ 1): the KV cache is F32 on both sides. With F32
 * weights only F32 rounding in a different summation order differs: a dot product of length K (the longer of dim and
 * the feed-forward width) is off by at most K·2⁻²⁴ relative; through 4 dependent matmul stages per layer (q|k|v, o,
 * gate|up, down) plus the final norm that is (4L + 1)·K·2⁻²⁴, doubled for exp/rsqrt: 1.0e-4 for the random models
 * (L = 2, K = 96), 4.3e-4 for stories260K (L = 5, K = 172). With F16 weights llama.cpp also rounds each matmul's
 * activations to F16 (2⁻¹¹ relative) where we keep them F32: (4L + 1)·2⁻¹¹, 4.4e-3 (L = 2) and 1.03e-2 (L = 5).
 */
class LlamaCppPerPositionTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"gqa,F32", "gqa,F16", "theta500k,F32", "llama3,F32", "llama3,F16", "stories,F32", "stories,F16"})
    void finalHiddenStateMatchesLlamaCppAtEveryPosition(String kind, GgmlType type) throws Exception {
        Path gguf = dir.resolve(kind + "-" + type + ".gguf"), probe = dir.resolve(kind + "-" + type + "-eye.gguf");
        if (kind.equals("stories")) {
            Path bin = LlamaCppGreedyTest.data("stories260K.bin");
            Assumptions.assumeTrue(Files.exists(bin), "skipped: " + bin + " is absent");
            try (Llama2cCheckpoint c = Llama2cCheckpoint.open(bin)) {
                Llama2cToGguf.convert(c, type, gguf);
            }
        } else {
            LlamaCppPromptTest.writeRandom(gguf, kind, type);
        }
        int layers, ctx, k;
        try (GgufFile g = GgufFile.open(gguf)) {
            layers = Math.toIntExact(g.metadata().get("llama.block_count").asLong());
            k = Math.toIntExact(Math.max(
                    g.metadata().get("llama.embedding_length").asLong(),
                    g.metadata().get("llama.feed_forward_length").asLong()));
            ctx = Math.toIntExact(g.metadata().get("llama.context_length").asLong());
            identityHead(g, probe);
        }
        List<Integer> banned = IntStream.concat(IntStream.range(0, 3), IntStream.rangeClosed(3 + 0x80, 3 + 0xFF))
                .boxed()
                .toList();
        String completion;
        try (var ll = new de.kherud.llama.LlamaModel(new ModelParameters()
                .setModel(gguf.toString())
                .setCtxSize(ctx)
                .setThreads(1)
                .skipWarmup())) {
            completion = ll.complete(new InferenceParameters(LlamaCppPromptTest.PROMPT)
                    .setTemperature(0)
                    .setNPredict(64)
                    .setIgnoreEos(true)
                    .disableTokenIds(banned)
                    .setSeed(1));
        }
        String text = LlamaCppPromptTest.PROMPT + completion;
        double tol = type == GgmlType.F16
                ? (4 * layers + 1) * Math.scalb(1.0, -11)
                : 2.0 * (4 * layers + 1) * k * Math.scalb(1.0, -24);
        int positions = 0, promptTokens = -1, after = 0; // positions compared, and those after the prompt
        double worst = 0;
        try (var ll = new de.kherud.llama.LlamaModel(new ModelParameters()
                        .setModel(probe.toString())
                        .setCtxSize(ctx)
                        .setThreads(1)
                        .setCacheTypeK(CacheType.F32)
                        .setCacheTypeV(CacheType.F32)
                        .enableEmbedding()
                        .setPoolingType(PoolingType.LAST)
                        .skipWarmup());
                LlamaModel m = LlamaModel.load(probe);
                var ng = Autograd.noGrad()) {
            int dim = m.config().dim(), vocab = m.config().vocab(), last = 0;
            // our rows for the whole text in one pass; a prefix whose tokens are a prefix of these reads its row
            int[] all = LlamaCppPromptTest.prepend(1, ll.encode(text));
            all = java.util.Arrays.copyOf(all, Math.min(all.length, ctx - 1));
            float[] rows = m.forward(Tensor.of(all, 1, all.length)).toFloatArray();
            for (int c = 1; c <= text.length(); c++) {
                if (c < text.length() && Character.isLowSurrogate(text.charAt(c))) continue;
                String prefix = text.substring(0, c);
                int[] ids = LlamaCppPromptTest.prepend(1, ll.encode(prefix));
                if (ids.length >= ctx || after == 64) break;
                if (ids.length == last) continue; // the same tokens as the previous prefix
                last = ids.length;
                if (c == LlamaCppPromptTest.PROMPT.length()) promptTokens = ids.length;
                float[] theirs = ll.embed(prefix);
                assertEquals(dim, theirs.length);
                float[] z = ids.length <= all.length && java.util.Arrays.equals(ids, 0, ids.length, all, 0, ids.length)
                        ? java.util.Arrays.copyOfRange(rows, (ids.length - 1) * vocab, ids.length * vocab)
                        : m.forward(Tensor.of(ids, 1, ids.length), 0, null, null, true)
                                .toFloatArray();
                double norm = 0;
                for (int i = 0; i < dim; i++) norm += (double) z[i] * z[i];
                norm = Math.sqrt(norm);
                for (int i = 0; i < dim; i++) {
                    double d = Math.abs(z[i] / norm - theirs[i]);
                    worst = Math.max(worst, d);
                    assertTrue(
                            d <= tol,
                            kind + " " + type + " at position " + (ids.length - 1) + " ('" + prefix + "'), component "
                                    + i + ": ours " + z[i] / norm + ", llama.cpp " + theirs[i]);
                }
                positions++;
                if (promptTokens > 0 && ids.length > promptTokens) after++;
            }
        }
        System.out.println(kind + " " + type + ": " + positions + " positions (" + after + " after the prompt), prompt "
                + promptTokens
                + " tokens, max |unit hidden diff| " + worst + " (tolerance " + tol + ")");
        assertTrue(promptTokens >= 32, "prompt of " + promptTokens + " tokens");
        assertEquals(64, after, "positions compared after the prompt");
    }

    /** Copies {@code g} with output.weight replaced by identity rows (row i < dim is e_i, the rest zero). */
    static void identityHead(GgufFile g, Path out) throws Exception {
        GgufWriter w = new GgufWriter();
        g.metadata().forEach(w::put);
        for (var t : g.tensorInfos()) {
            if (t.name().equals("output.weight")) continue;
            w.tensor(t.name(), t.type(), g.shape(t.name()), g.tensor(t.name()).toFloatArray());
        }
        long[] emb = g.shape("token_embd.weight");
        int vocab = Math.toIntExact(emb[0]), dim = Math.toIntExact(emb[1]);
        float[] eye = new float[vocab * dim];
        for (int i = 0; i < dim; i++) eye[i * dim + i] = 1;
        w.tensor("output.weight", GgmlType.F32, new long[] {vocab, dim}, eye);
        w.write(out);
    }
}
