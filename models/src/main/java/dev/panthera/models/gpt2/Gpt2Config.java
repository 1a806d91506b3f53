package dev.panthera.models.gpt2;

import dev.panthera.models.lm.LmConfig;
import java.util.Arrays;

/**
 * The sizes of a GPT-2 decoder: {@code dim} (n_embd), {@code hidden} (n_inner, 4·n_embd by default), {@code layers},
 * {@code heads}, {@code vocab}, {@code maxSeq} (n_positions, the length of the learned position table) and the
 * LayerNorm epsilon. {@code tanhGelu} is HF's "gelu_new" (the tanh approximation GPT-2 was trained with); false means
 * the exact erf GELU. GPT-2's tokenizer adds no BOS to a text prompt; {@code bos} starts an empty one.
 */
public record Gpt2Config(
        int dim,
        int hidden,
        int layers,
        int heads,
        int vocab,
        int maxSeq,
        double normEps,
        boolean tanhGelu,
        int bos,
        int[] eos)
        implements LmConfig {
    public Gpt2Config {
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || vocab <= 0 || maxSeq <= 0)
            throw new IllegalArgumentException("gpt2 config: every size must be positive, got n_embd=" + dim
                    + " n_inner=" + hidden + " n_layer=" + layers + " n_head=" + heads + " vocab_size=" + vocab
                    + " n_positions=" + maxSeq);
        if (dim % heads != 0)
            throw new IllegalArgumentException("gpt2 config: n_embd " + dim + " is not a multiple of n_head " + heads);
        if (bos >= vocab) throw new IllegalArgumentException("gpt2 config: bos_token_id " + bos + " >= vocab " + vocab);
        eos = eos.clone();
    }

    public int headDim() {
        return dim / heads;
    }

    @Override
    public int[] eos() {
        return eos.clone();
    }

    @Override
    public boolean isEos(int id) {
        for (int e : eos) if (e == id) return true;
        return false;
    }

    @Override
    public boolean promptStartsWithBos() {
        return false;
    }

    @Override
    public String toString() {
        return "Gpt2Config[dim=" + dim + " hidden=" + hidden + " layers=" + layers + " heads=" + heads + " vocab="
                + vocab + " max_seq=" + maxSeq + " eps=" + normEps + " gelu=" + (tanhGelu ? "tanh" : "erf") + " bos="
                + bos + " eos=" + Arrays.toString(eos) + "]";
    }
}
