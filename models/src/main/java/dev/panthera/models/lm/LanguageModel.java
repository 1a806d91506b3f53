package dev.panthera.models.lm;

import dev.panthera.models.tokenizer.Tokenizer;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;

/**
 * A causal language model as generation, batched generation, perplexity and the CLI use it: logits for a batch of
 * ids at consecutive positions, optionally against a KV cache. Implemented by the Llama family and GPT-2.
 */
public interface LanguageModel extends AutoCloseable {
    LmConfig config();

    /** The tokenizer that came with the checkpoint, or null. */
    Tokenizer tokenizer();

    /** A cache for sequences of up to {@code maxLen} positions (at most {@code config().maxSeq()}). */
    default KvCache newCache(long maxLen) {
        return newCache(maxLen, null);
    }

    /**
     * A cache for sequences of up to {@code maxLen} positions keeping keys and values in {@code dtype}: F16 or BF16
     * halve the bytes a decode reads per cached position (llama.cpp's default cache type is F16), F32 or null keep
     * the model's own.
     */
    KvCache newCache(long maxLen, DType dtype);

    /**
     * Logits [B, T, vocab] (F32) for integer ids [B, T] at positions start..start+T-1; with a cache, earlier
     * positions come from it and these are appended. {@code mask} (BOOL, broadcast to [B, heads, T, S]) restricts
     * keys further, e.g. padding. With {@code lastOnly} only the last position's logits [B, 1, vocab] are computed.
     */
    Tensor forward(Tensor ids, long start, KvCache cache, Tensor mask, boolean lastOnly);

    /** Logits [B, T, vocab] for ids [B, T] at positions 0..T-1 without a cache. */
    default Tensor forward(Tensor ids) {
        return forward(ids, 0, null, null, false);
    }

    /**
     * As {@link #forward(Tensor, long, KvCache, Tensor, boolean)} for rows left-padded by {@code leftPad[r]}
     * positions: row r's first real token sits at position {@code leftPad[r]} of the batch but is position 0 of its
     * own sequence. A model whose attention depends only on the distance between positions (RoPE) gives the same
     * scores either way and ignores the padding, which is this default; a model with absolute positions (GPT-2's
     * learned table) shifts each row's positions back by its padding.
     */
    default Tensor forwardLeftPadded(
            Tensor ids, long start, KvCache cache, Tensor mask, boolean lastOnly, int[] leftPad) {
        return forward(ids, start, cache, mask, lastOnly);
    }

    /** Releases the mapped weights; the model cannot be used afterwards. */
    @Override
    void close();
}
