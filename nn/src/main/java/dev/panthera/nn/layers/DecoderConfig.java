package dev.panthera.nn.layers;

/** Sizes of a LLaMA-style decoder: model width, FFN width, heads, KV heads, vocabulary, depth, context, norm eps, RoPE. */
public record DecoderConfig(
        int dim,
        int hidden,
        int heads,
        int kvHeads,
        int vocab,
        int layers,
        int maxSeq,
        double normEps,
        double ropeBase,
        Rope.Layout ropeLayout) {
    public DecoderConfig {
        if (dim <= 0 || hidden <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || layers <= 0 || maxSeq <= 0) {
            throw new IllegalArgumentException("DecoderConfig: every size must be positive: " + this);
        }
    }

    /** A config with eps 1e-5, RoPE base 10000 and HF's half-split layout. */
    public static DecoderConfig of(int dim, int hidden, int heads, int kvHeads, int vocab, int layers, int maxSeq) {
        return new DecoderConfig(dim, hidden, heads, kvHeads, vocab, layers, maxSeq, 1e-5, 10000, Rope.Layout.HALF);
    }
}
