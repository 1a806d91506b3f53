package dev.panthera.models.llama;

import dev.panthera.models.io.LoadMode;
import dev.panthera.models.io.Progress;
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
import java.util.function.UnaryOperator;

/**
 * A Llama-family causal LM (Llama 2/3, Mistral, Qwen2) over a mapped checkpoint it owns: the weights stay in the file
 * (zero-copy where the format allows) until {@link #close()}. {@link #load(Path)} reads a HuggingFace folder, a GGUF
 * file or a llama2.c checkpoint; {@link #forward} runs a batch of positions against an optional KV cache.
 */
public final class LlamaModel implements LanguageModel {
    private final LlamaConfig config;
    private final Weights weights;
    private final UnaryOperator<String> rename;
    private final Tokenizer tokenizer;
    private final TokenEmbedding embed;
    private final Tensor norm;
    private final Projection head;
    private final LlamaBlock[] blocks;

    LlamaModel(LlamaConfig config, Weights weights, UnaryOperator<String> rename, Tokenizer tokenizer) {
        this(config, weights, rename, tokenizer, false, null);
    }

    /**
     * With {@code keepQuantized}, a GGUF's quantized matrices stay in their blocks (see {@link QuantizedWeights});
     * {@code maker} (or null) builds every layer from float weights instead.
     */
    LlamaModel(
            LlamaConfig config,
            Weights weights,
            UnaryOperator<String> rename,
            Tokenizer tokenizer,
            boolean keepQuantized,
            LinearMaker maker) {
        this.config = config;
        this.weights = weights;
        this.rename = rename;
        this.tokenizer = tokenizer;
        LlamaWeights w = new LlamaWeights(weights, rename, keepQuantized, maker);
        try {
            long v = config.vocab(), d = config.dim();
            embed = w.embedding("model.embed_tokens.weight", v, d);
            norm = w.vector("model.norm.weight", config.dim());
            head = w.projection(config.tiedEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight", v, d, null);
            RopeTables rope = new RopeTables(config);
            blocks = new LlamaBlock[config.layers()];
            // a GGUF dequantized at load or a BF16 checkpoint converted here takes a while per layer on a large model
            try (Progress bar = Progress.start("loading", blocks.length, "layers")) {
                for (int i = 0; i < blocks.length; i++) {
                    blocks[i] = new LlamaBlock(config, rope, w, i);
                    bar.advance(1);
                }
            }
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * Loads a HuggingFace folder (config.json + safetensors [+ tokenizer.json]), a GGUF file or a llama2.c file. The
     * F32 weights go onto the Java heap ({@link LoadMode#HEAP}, for the faster F32 decode) when the files take at
     * most half of the heap still free, else they stay mapped ({@link LoadMode#MAP}); {@link #load(Path, LoadMode)}
     * chooses.
     */
    public static LlamaModel load(Path path) throws IOException {
        return LlamaLoader.load(path, null, QuantizedWeights.KEEP, null);
    }

    /** As {@link #load(Path)}, the weight files read as {@code mode} says. */
    public static LlamaModel load(Path path, LoadMode mode) throws IOException {
        return LlamaLoader.load(path, null, QuantizedWeights.KEEP, null, java.util.Objects.requireNonNull(mode));
    }

    /** As {@link #load(Path)}; for a llama2.c checkpoint {@code tokenizer} names its tokenizer.bin (or null). */
    public static LlamaModel load(Path path, Path tokenizer) throws IOException {
        return LlamaLoader.load(path, tokenizer, QuantizedWeights.KEEP, null);
    }

    /**
     * As {@link #load(Path, Path)}, choosing whether a GGUF's quantized tensors stay quantized in memory
     * ({@link QuantizedWeights#KEEP}, the default, as llama.cpp runs them) or are dequantized to F32 at load.
     */
    public static LlamaModel load(Path path, Path tokenizer, QuantizedWeights quantized) throws IOException {
        return LlamaLoader.load(path, tokenizer, quantized, null);
    }

    /**
     * As {@link #load(Path, Path)}, every linear map and norm weight built by {@code maker} from the float weights
     * (quantized GGUF tensors dequantized first): how a model runs in int8, int4, NF4 or SmoothQuant's W8A8.
     */
    public static LlamaModel load(Path path, Path tokenizer, LinearMaker maker) throws IOException {
        return LlamaLoader.load(path, tokenizer, QuantizedWeights.DEQUANTIZE, java.util.Objects.requireNonNull(maker));
    }

    public LlamaConfig config() {
        return config;
    }

    /** The tokenizer that came with the checkpoint, or null (a llama2.c file alone). */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** A cache for sequences of up to {@code maxLen} positions, keys and values in {@code dtype} (null: F32). */
    @Override
    public KvCache newCache(long maxLen, DType dtype) {
        if (maxLen > config.maxSeq())
            throw new IllegalArgumentException(
                    "cache of " + maxLen + " positions exceeds the context length " + config.maxSeq());
        return new KvCache(config.layers(), maxLen, dtype);
    }

    /** Logits [B, T, vocab] (F32) for integer ids [B, T] at positions 0..T-1 without a cache. */
    public Tensor forward(Tensor ids) {
        return forward(ids, 0, null, null, false);
    }

    /**
     * Logits for ids [B, T] at positions start..start+T-1; with a cache, earlier positions come from it and these are
     * appended. {@code mask} (BOOL, broadcast to [B, heads, T, S]) restricts keys further, e.g. padding.
     * With {@code lastOnly} only the last position's logits [B, 1, vocab] are computed.
     */
    public Tensor forward(Tensor ids, long start, KvCache cache, Tensor mask, boolean lastOnly) {
        TokenIds.check("LlamaModel", ids, config.vocab());
        Tensor h = blocks(embed.lookup(ids), start, cache, mask, null, null);
        if (lastOnly) h = h.narrow(1, ids.size(1) - 1, 1);
        return head.apply(h.rmsNorm(norm, config.normEps()));
    }

    /**
     * Logits with every layer's hidden states and attention probabilities, as transformers returns them with
     * {@code output_hidden_states} / {@code output_attentions}: hidden states are the embeddings, then each layer's
     * output, the last one after the final norm (layers + 1 tensors [B, T, dim]); attentions are [B, heads, T, T] per
     * layer. Positions 0..T−1, no cache; {@code mask} as in {@link #forward(Tensor, long, KvCache, Tensor, boolean)}.
     */
    public Output forwardWithStates(Tensor ids, Tensor mask, boolean hiddenStates, boolean attentions) {
        TokenIds.check("LlamaModel", ids, config.vocab());
        List<Tensor> states = hiddenStates ? new ArrayList<>() : null;
        List<Tensor> probs = attentions ? new ArrayList<>() : null;
        Tensor normed = blocks(embed.lookup(ids), 0, null, mask, states, probs).rmsNorm(norm, config.normEps());
        if (states != null) states.add(normed);
        return new Output(
                head.apply(normed),
                states == null ? List.of() : List.copyOf(states),
                probs == null ? List.of() : List.copyOf(probs));
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

    /**
     * The checkpoint this model reads (for memory accounting in tests, and for copies with some tensors replaced, see
     * {@link LlamaQuantizer}).
     */
    Weights weights() {
        return weights;
    }

    /** HF tensor name → the checkpoint's own name. */
    UnaryOperator<String> rename() {
        return rename;
    }

    @Override
    public void close() {
        weights.close();
    }
}
