package dev.panthera.nn.layers;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.random.RandomGenerator;

/** LLaMA's feed-forward block: down_proj(silu(gate_proj(x)) · up_proj(x)), no biases, HF names. */
public final class SwiGlu extends Module {
    public SwiGlu(long dim, long hidden, RandomGenerator rng) {
        registerModule("gate_proj", new Linear(dim, hidden, false, rng));
        registerModule("up_proj", new Linear(dim, hidden, false, rng));
        registerModule("down_proj", new Linear(hidden, dim, false, rng));
    }

    @Override
    public Tensor forward(Tensor x) {
        return call("down_proj", call("gate_proj", x).silu().mul(call("up_proj", x)));
    }
}
