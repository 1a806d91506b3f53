package dev.panthera.nn.bench;

import dev.panthera.nn.optim.Lomo;
import dev.panthera.nn.optim.Optimizer;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.Tensor;

/**
 * Peak native bytes of one backward-and-update, read from the host {@link MemoryPool}'s own counters: the most bytes
 * in use at once while it ran, minus the bytes in use when it began (parameters and the forward's activations are
 * already there and are not counted). Call inside the step's {@code MemoryScope}, after the forward.
 */
public final class BackwardPeak {
    private BackwardPeak() {}

    /** LOMO: every gradient is applied and released inside backward. */
    public static long lomo(Lomo lomo, Tensor loss) {
        MemoryPool pool = MemoryPool.host();
        long before = pool.stats().bytesInUse();
        pool.resetPeak();
        lomo.backward(loss);
        return pool.stats().peakBytesInUse() - before;
    }

    /**
     * An optimizer that needs every gradient before its step (AdamW, SGD, SWAN), over the same releasing backward as
     * LOMO: intermediate gradients and rule temporaries are released as they are consumed, and each parameter's
     * gradient is kept, pooled in the current scope, until the step has run. The only difference from
     * {@link #lomo} is that the gradients are held for the step instead of applied at once. Optimizer state is
     * GC-managed and not counted here (see {@link Optimizer#stateBytes()}). The gradients are the pass's own tensors, possibly
     * shared between leaves (an add passes one gradient to both inputs): right for optimizers that only read them.
     */
    public static long heldGradients(Optimizer opt, Tensor loss) {
        MemoryPool pool = MemoryPool.host();
        opt.zeroGrad();
        long before = pool.stats().bytesInUse();
        pool.resetPeak();
        Autograd.backwardReleasing(
                loss,
                Tensor.onesLike(loss),
                (leaf, g) -> leaf.setGrad(g), // each leaf's hook runs once, with its whole gradient
                false);
        opt.step();
        return pool.stats().peakBytesInUse() - before;
    }
}
