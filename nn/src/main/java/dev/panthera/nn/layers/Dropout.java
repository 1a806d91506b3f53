package dev.panthera.nn.layers;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Inverted dropout: in training, zeroes each element with probability p and scales survivors by 1/(1-p); identity in
 * eval mode or when p = 0. Masks come from a seeded generator, so a run is reproducible.
 */
public final class Dropout extends Module {
    private final double p;
    private final SplittableRandom rng;

    public Dropout(double p, long seed) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        this.p = p;
        this.rng = new SplittableRandom(seed);
    }

    public double p() {
        return p;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (!isTraining() || p == 0) return x;
        Tensor keep = Tensor.rand(rng, x.dims()).ge(p);
        return x.mul(keep.to(x.dtype())).mul(1 / (1 - p));
    }
}
