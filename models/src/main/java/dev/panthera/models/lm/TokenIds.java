package dev.panthera.models.lm;

import dev.panthera.tensor.Tensor;

/** The check every language model makes of its input ids before embedding them. */
public final class TokenIds {
    private TokenIds() {}

    /** Fails naming {@code model} unless ids is an integer [batch, seq] tensor of ids in [0, vocab). */
    public static void check(String model, Tensor ids, int vocab) {
        if (ids.rank() != 2 || ids.dtype().isFloatingPoint())
            throw new IllegalArgumentException(model + ": ids must be integer [batch, seq], got " + ids.describe());
        for (long id : ids.toLongArray()) {
            if (id < 0 || id >= vocab)
                throw new IllegalArgumentException(model + ": token id " + id + " outside [0, " + vocab + ")");
        }
    }
}
