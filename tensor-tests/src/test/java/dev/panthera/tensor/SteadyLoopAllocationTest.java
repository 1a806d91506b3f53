package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A loop that opens a scope per step makes no native allocation once warm: every tensor a step makes takes a block
 * the previous step gave back. Counted with the host pool's counters (also GC-managed allocations, which bypass it).
 */
class SteadyLoopAllocationTest {
    private static final int WARM_UP = 3, STEPS = 40;

    private static MemoryPool.Stats run(int steps, Runnable step) {
        for (int i = 0; i < steps; i++) {
            try (var scope = MemoryScope.open()) {
                step.run();
            }
        }
        return MemoryPool.host().stats();
    }

    private static void assertNoAllocationOnceWarm(String what, Runnable step) {
        MemoryPool.Stats warm = run(WARM_UP, step);
        MemoryPool.Stats after = run(STEPS, step);
        assertEquals(warm.nativeAllocations(), after.nativeAllocations(), what + ": native allocations after warm-up");
        assertEquals(warm.gcManagedAllocations(), after.gcManagedAllocations(), what + ": GC-managed allocations");
        // no growth: the count also falls when leaf-gradient blocks that earlier tests dropped are returned by their
        // cleaner meanwhile, so only growth is a block that did not go back
        assertTrue(
                after.bytesInUse() <= warm.bytesInUse(),
                what + ": every block went back (" + warm.bytesInUse() + " -> " + after.bytesInUse() + " bytes)");
        assertTrue(after.cacheHits() > warm.cacheHits(), what + ": blocks were reused");
    }

    @Test
    void aDecodeLikeLoopAllocatesNothingOnceWarm() {
        Tensor w1 = Tensor.randn(Shape.of(32, 64), 1), w2 = Tensor.randn(Shape.of(64, 16), 2);
        Tensor norm = Tensor.ones(32);
        Tensor[] x = {Tensor.randn(Shape.of(1, 32), 3)};
        assertNoAllocationOnceWarm("decode", () -> {
            Tensor h = x[0].rmsNorm(norm, 1e-6).matmul(w1).silu().matmul(w2);
            Tensor p = h.softmax(-1);
            long next = p.argmax().toLongArray()[0];
            assertTrue(next >= 0 && next < 16);
        });
    }

    @Test
    void aTrainingLoopWithInPlaceUpdatesAllocatesNothingOnceWarm() {
        Tensor w = Tensor.randn(Shape.of(8, 4), 4).requiresGrad(true);
        Tensor x = Tensor.randn(Shape.of(16, 8), 5), y = Tensor.randn(Shape.of(16, 4), 6);
        double[] losses = new double[2];
        assertNoAllocationOnceWarm("train", () -> {
            Tensor d = x.matmul(w).tanh().sub(y);
            Tensor loss = d.mul(d).mean();
            loss.backward();
            try (Handle ng = Autograd.noGrad()) {
                w.sub_(w.grad().mul(0.05));
                w.grad().zero_();
            }
            losses[0] = losses[1] == 0 ? loss.item() : losses[0];
            losses[1] = loss.item();
        });
        assertTrue(losses[1] < losses[0], "the loss went down: " + losses[0] + " -> " + losses[1]);
    }
}
