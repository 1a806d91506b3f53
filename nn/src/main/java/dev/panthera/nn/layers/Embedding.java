package dev.panthera.nn.layers;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.random.RandomGenerator;

/** A lookup table [num, dim] indexed by integer ids; initialised N(0, 1) like torch.nn.Embedding. */
public final class Embedding extends Module {
    private final long num;

    public Embedding(long num, long dim, RandomGenerator rng) {
        this.num = num;
        registerParameter("weight", Init.normal(rng, 1.0, num, dim));
    }

    public Tensor weight() {
        return namedParameters().get("weight");
    }

    /** Rows for {@code ids} (any integer shape): ids.shape + [dim]. Ids out of range fail naming the id. */
    @Override
    public Tensor forward(Tensor ids) {
        if (ids.dtype().isFloatingPoint())
            throw new IllegalArgumentException("Embedding: ids must be integers, got " + ids.describe());
        for (long id : ids.toLongArray()) {
            if (id < 0 || id >= num)
                throw new IndexOutOfBoundsException("Embedding: id " + id + " outside [0, " + num + ")");
        }
        return Tensor.embedding(weight(), ids);
    }
}
