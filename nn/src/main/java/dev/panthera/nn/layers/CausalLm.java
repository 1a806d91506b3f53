package dev.panthera.nn.layers;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A LLaMA-style decoder-only language model with HF state-dict names: {@code model.embed_tokens}, {@code
 * model.layers.N.*}, {@code model.norm}, {@code lm_head}. Used for tests, adapters and the training-memory measurement.
 */
public final class CausalLm extends Module {
    private final DecoderConfig config;
    private final Body body;

    /** The {@code model.*} part: embeddings, blocks and the final norm. */
    public static final class Body extends Module {
        final ModuleList<TransformerBlock> layers;

        Body(DecoderConfig c, RandomGenerator rng) {
            registerModule("embed_tokens", new Embedding(c.vocab(), c.dim(), rng));
            Rope rope = new Rope(c.dim() / c.heads(), c.maxSeq(), c.ropeBase(), c.ropeLayout());
            List<TransformerBlock> blocks = new ArrayList<>();
            for (int i = 0; i < c.layers(); i++) blocks.add(new TransformerBlock(c, rope, rng));
            layers = registerModule("layers", new ModuleList<>(blocks));
            registerModule("norm", new RMSNorm(c.dim(), c.normEps()));
        }
    }

    public CausalLm(DecoderConfig config, RandomGenerator rng) {
        this.config = config;
        this.body = registerModule("model", new Body(config, rng));
        registerModule("lm_head", new Linear(config.dim(), config.vocab(), false, rng));
    }

    public DecoderConfig config() {
        return config;
    }
    /** The decoder blocks. */
    public ModuleList<TransformerBlock> layers() {
        return body.layers;
    }

    /** Logits [B, T, vocab] for integer ids [B, T] at positions 0..T-1. */
    @Override
    public Tensor forward(Tensor ids) {
        return forward(ids, 0, null);
    }

    /** Logits for ids [B, T] at positions start..; with a cache, earlier positions come from it. */
    public Tensor forward(Tensor ids, long start, KvCache cache) {
        return forward(ids, start, cache, null);
    }

    /**
     * As above with an attention mask over the cached and new positions, e.g. a BOOL key padding mask [B, 1, 1, S]
     * (see {@link Attention#forward(Tensor, long, KvCache, int, Tensor)}).
     */
    public Tensor forward(Tensor ids, long start, KvCache cache, Tensor mask) {
        if (ids.rank() != 2)
            throw new IllegalArgumentException("CausalLm: ids must be [batch, seq], got " + ids.shape());
        Tensor h = body.child("embed_tokens").forward(ids);
        for (int i = 0; i < body.layers.size(); i++) h = body.layers.get(i).forward(h, start, cache, i, mask);
        return call("lm_head", body.child("norm").forward(h));
    }

    /**
     * Logits [B, T, vocab] for input embeddings [B, T, dim] given in place of token ids, at positions 0..T-1
     * (HuggingFace's inputs_embeds; prompt tuning prepends learned embeddings this way).
     */
    public Tensor forwardEmbeddings(Tensor embeds) {
        return forwardEmbeddings(embeds, 0, null, null);
    }

    /**
     * As {@link #forwardEmbeddings(Tensor)} at positions start.., with a cache and an attention mask as {@link
     * #forward(Tensor, long, KvCache, Tensor)} takes them.
     */
    public Tensor forwardEmbeddings(Tensor embeds, long start, KvCache cache, Tensor mask) {
        if (embeds.rank() != 3 || embeds.size(2) != config.dim())
            throw new IllegalArgumentException("CausalLm.forwardEmbeddings: embeddings must be [batch, seq, "
                    + config.dim() + "], got " + embeds.shape());
        Tensor h = embeds;
        for (int i = 0; i < body.layers.size(); i++) h = body.layers.get(i).forward(h, start, cache, i, mask);
        return call("lm_head", body.child("norm").forward(h));
    }

    /** A fresh cache sized for this model. */
    public KvCache newCache(long maxLen) {
        return new KvCache(config.layers(), maxLen);
    }

    /** A fresh cache sized for this model keeping keys and values in {@code dtype} (see {@link KvCache}). */
    public KvCache newCache(long maxLen, dev.panthera.tensor.DType dtype) {
        return new KvCache(config.layers(), maxLen, dtype);
    }
}
