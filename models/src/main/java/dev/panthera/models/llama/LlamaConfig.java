package dev.panthera.models.llama;

import dev.panthera.models.lm.LmConfig;
import java.util.Arrays;

/**
 * The sizes and options of a Llama-family decoder (Llama 2/3, Mistral, Qwen2). {@code interleavedRope} is true for
 * checkpoints whose q/k rows rotate adjacent pairs (llama2.c, GGUF) and false for HuggingFace's half split.
 * {@code slidingWindow} 0 means full attention; {@code qkvBias} is Qwen2's bias on q/k/v; {@code tiedEmbeddings}
 * reads the output head from the token embedding. {@code eos} may name several stop ids (Llama 3 has two).
 */
public record LlamaConfig(
        String architecture,
        int dim,
        int hidden,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int vocab,
        int maxSeq,
        double normEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean interleavedRope,
        int slidingWindow,
        boolean qkvBias,
        boolean tiedEmbeddings,
        int bos,
        int[] eos)
        implements LmConfig {
    public LlamaConfig {
        if (dim <= 0
                || hidden <= 0
                || layers <= 0
                || heads <= 0
                || kvHeads <= 0
                || headDim <= 0
                || vocab <= 0
                || maxSeq <= 0)
            throw new IllegalArgumentException("config: every size must be positive, got dim=" + dim + " hidden="
                    + hidden + " layers=" + layers + " heads=" + heads + " kv_heads=" + kvHeads + " head_dim="
                    + headDim + " vocab=" + vocab + " max_seq=" + maxSeq);
        if (heads % kvHeads != 0)
            throw new IllegalArgumentException(
                    "config: num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        if (headDim % 2 != 0) throw new IllegalArgumentException("config: head dimension must be even, got " + headDim);
        if (slidingWindow < 0) throw new IllegalArgumentException("config: negative sliding_window " + slidingWindow);
        eos = eos.clone();
    }

    @Override
    public int[] eos() {
        return eos.clone();
    }

    /** Whether {@code id} is one of the end-of-sequence ids. */
    @Override
    public boolean isEos(int id) {
        for (int e : eos) if (e == id) return true;
        return false;
    }

    /** This config with another RoPE pair layout (a converted checkpoint). */
    public LlamaConfig withInterleavedRope(boolean interleaved) {
        return new LlamaConfig(
                architecture,
                dim,
                hidden,
                layers,
                heads,
                kvHeads,
                headDim,
                vocab,
                maxSeq,
                normEps,
                ropeTheta,
                ropeScaling,
                interleaved,
                slidingWindow,
                qkvBias,
                tiedEmbeddings,
                bos,
                eos);
    }

    @Override
    public String toString() {
        return "LlamaConfig[" + architecture + " dim=" + dim + " hidden=" + hidden + " layers=" + layers + " heads="
                + heads + "/" + kvHeads + " head_dim=" + headDim + " vocab=" + vocab + " max_seq=" + maxSeq
                + " eps=" + normEps + " theta=" + ropeTheta + " " + ropeScaling + " interleaved=" + interleavedRope
                + " window=" + slidingWindow + " bias=" + qkvBias + " tied=" + tiedEmbeddings + " bos=" + bos
                + " eos=" + Arrays.toString(eos) + "]";
    }
}
