package dev.panthera.models.gpt2;

import dev.panthera.models.io.Weights;
import dev.panthera.models.lm.LanguageModel;
import dev.panthera.models.lm.TokenIds;
import dev.panthera.models.tokenizer.Tokenizer;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2 over a mapped checkpoint it owns: token embedding plus a learned absolute position table, pre-norm blocks
 * (LayerNorm with bias, fused q|k|v projection, tanh GELU), a final LayerNorm and the head tied to the token
 * embedding (a separate {@code lm_head.weight} / GGUF {@code output.weight} is used when the file has one). Loads a
 * HuggingFace folder or a GGUF file with {@code general.architecture = gpt2}.
 */
public final class Gpt2Model implements LanguageModel {
    private final Gpt2Config config;
    private final Weights weights;
    private final Tokenizer tokenizer;
    private final Tensor wte, wpe, lnfW, lnfB, head;
    private final Gpt2Block[] blocks;

    Gpt2Model(Gpt2Config config, Weights weights, boolean gguf, Tokenizer tokenizer) {
        this.config = config;
        this.weights = weights;
        this.tokenizer = tokenizer;
        Gpt2Weights w = new Gpt2Weights(weights, gguf);
        try {
            wte = w.matrix("wte.weight", config.vocab(), config.dim());
            wpe = w.matrix("wpe.weight", config.maxSeq(), config.dim());
            lnfW = w.vector("ln_f.weight", config.dim());
            lnfB = w.vector("ln_f.bias", config.dim());
            head = w.contains("lm_head.weight") ? w.matrix("lm_head.weight", config.vocab(), config.dim()) : wte;
            blocks = new Gpt2Block[config.layers()];
            for (int i = 0; i < blocks.length; i++) blocks[i] = new Gpt2Block(config, w, i);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** Loads a HuggingFace folder (config.json + safetensors [+ tokenizer.json]) or a GGUF file (arch gpt2). */
    public static Gpt2Model load(Path path) throws IOException {
        return Gpt2Loader.load(path);
    }

    @Override
    public Gpt2Config config() {
        return config;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public KvCache newCache(long maxLen, DType dtype) {
        if (maxLen > config.maxSeq())
            throw new IllegalArgumentException(
                    "cache of " + maxLen + " positions exceeds the context length " + config.maxSeq());
        return new KvCache(config.layers(), maxLen, dtype);
    }

    @Override
    public Tensor forward(Tensor ids, long start, KvCache cache, Tensor mask, boolean lastOnly) {
        return forwardLeftPadded(ids, start, cache, mask, lastOnly, null);
    }

    /** Row r of a left-padded batch takes positions start + j − leftPad[r]; padding slots take position 0. */
    @Override
    public Tensor forwardLeftPadded(
            Tensor ids, long start, KvCache cache, Tensor mask, boolean lastOnly, int[] leftPad) {
        Tensor h = blocks(embed(ids, start, leftPad), start, cache, mask, null, null);
        if (lastOnly) h = h.narrow(1, ids.size(1) - 1, 1);
        return h.layerNorm(lnfW, lnfB, config.normEps()).matmul(head.t());
    }

    /**
     * Logits with every layer's hidden states and attention probabilities, as transformers' GPT-2 returns them with
     * {@code output_hidden_states} / {@code output_attentions}: the embeddings (token + position), each block's
     * output, the last one after ln_f (layers + 1 tensors), and [B, heads, T, T] per layer. Positions 0..T−1, no cache.
     */
    public Output forwardWithStates(Tensor ids, Tensor mask, boolean hiddenStates, boolean attentions) {
        List<Tensor> states = hiddenStates ? new ArrayList<>() : null;
        List<Tensor> probs = attentions ? new ArrayList<>() : null;
        Tensor normed =
                blocks(embed(ids, 0, null), 0, null, mask, states, probs).layerNorm(lnfW, lnfB, config.normEps());
        if (states != null) states.add(normed);
        return new Output(
                normed.matmul(head.t()),
                states == null ? List.of() : List.copyOf(states),
                probs == null ? List.of() : List.copyOf(probs));
    }

    /**
     * Token + position embeddings of ids [B, T] after checking them. Row r's position j is start + j − leftPad[r]: the
     * learned table is indexed by each row's own positions. Padding slots (negative positions) take position 0; the
     * caller's mask keeps them out of every real query.
     */
    private Tensor embed(Tensor ids, long start, int[] leftPad) {
        TokenIds.check("Gpt2Model", ids, config.vocab());
        long b = ids.size(0), t = ids.size(1);
        if (leftPad != null && leftPad.length != b)
            throw new IllegalArgumentException(
                    "Gpt2Model: " + leftPad.length + " padding counts for a batch of " + b + " rows");
        if (start < 0 || start + t > config.maxSeq())
            throw new IllegalArgumentException("Gpt2Model: positions " + start + ".." + (start + t - 1)
                    + " outside the learned table of " + config.maxSeq());
        long rows = leftPad == null ? 1 : b;
        int[] pos = new int[Math.toIntExact(rows * t)];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < t; j++)
                pos[(int) (r * t + j)] = (int) Math.max(0, start + j - (leftPad == null ? 0 : leftPad[r]));
        Tensor h = Tensor.embedding(wte, ids);
        if (h.dtype() != DType.F32) h = h.to(DType.F32);
        Tensor p = Tensor.embedding(wpe, Tensor.of(pos, rows, t));
        return h.add(p.dtype() == DType.F32 ? p : p.to(DType.F32));
    }

    /** Every block over h; each block's input goes to {@code states} and its attention to {@code probs} if not null. */
    private Tensor blocks(Tensor h, long start, KvCache cache, Tensor mask, List<Tensor> states, List<Tensor> probs) {
        for (int i = 0; i < blocks.length; i++) {
            if (states != null) states.add(h);
            h = blocks[i].forward(h, start, cache, i, mask, probs);
        }
        return h;
    }

    /** Logits [B, T, vocab]; hidden states and attention probabilities per layer (empty lists unless asked for). */
    public record Output(Tensor logits, List<Tensor> hiddenStates, List<Tensor> attentions) {}

    @Override
    public void close() {
        weights.close();
    }
}
