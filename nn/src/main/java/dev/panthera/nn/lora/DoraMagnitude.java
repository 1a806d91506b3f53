package dev.panthera.nn.lora;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;

/**
 * DoRA's learned magnitude for one adapter of one layer (peft's {@code lora_magnitude_vector.<adapter>}): parameter
 * {@code weight} [out], one scale per output feature, initialised to the row norms ‖W + scaling·B·A‖ so that the
 * adapted layer starts equal to the base.
 */
public final class DoraMagnitude extends Module {
    DoraMagnitude(Tensor initial) {
        registerParameter("weight", initial);
    }

    public Tensor weight() {
        return namedParameters().get("weight");
    }

    /** The L2 norm of each row of {@code w} [out, in] (peft's get_weight_norm for a Linear): [out]. */
    static Tensor rowNorms(Tensor w) {
        return w.pow(2).sum(new int[] {1}, false).sqrt();
    }
}
