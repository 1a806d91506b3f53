package dev.panthera.nn.layers;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.random.RandomGenerator;

/** Two-layer feed-forward block fc2(GELU(fc1(x))), as in BERT and GPT-2 (exact erf GELU). */
public final class Mlp extends Module {
    public Mlp(long dim, long hidden, boolean bias, RandomGenerator rng) {
        registerModule("fc1", new Linear(dim, hidden, bias, rng));
        registerModule("fc2", new Linear(hidden, dim, bias, rng));
    }

    @Override
    public Tensor forward(Tensor x) {
        return call("fc2", call("fc1", x).gelu());
    }
}
