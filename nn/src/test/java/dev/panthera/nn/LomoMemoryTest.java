package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.bench.BackwardPeak;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.nn.optim.Lomo;
import dev.panthera.nn.optim.Optimizer;
import dev.panthera.nn.optim.Sgd;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * LOMO's memory claim measured physically: the host pool's peak bytes in use during backward-and-update, for LOMO and
 * for SGD / AdamW (which hold every gradient until their step) on the same model, the same batch and the same releasing
 * backward. Only where the gradients go differs.
 */
class LomoMemoryTest {
    private static final DecoderConfig CFG = DecoderConfig.of(64, 168, 4, 4, 128, 2, 16);

    private static Tensor loss(CausalLm m) {
        SplittableRandom r = new SplittableRandom(5);
        long[] ids = new long[2 * 9];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(CFG.vocab());
        Tensor all = Tensor.of(ids, 2, 9);
        return Losses.crossEntropy(
                m.forward(all.narrow(1, 0, 8).contiguous()), all.narrow(1, 1, 8).contiguous());
    }

    private static long heldPeak(Function<List<Tensor>, Optimizer> make) {
        CausalLm m = new CausalLm(CFG, new SplittableRandom(7));
        Optimizer opt = make.apply(m.trainableParameters());
        try (var scope = MemoryScope.open()) {
            return BackwardPeak.heldGradients(opt, loss(m));
        }
    }

    @Test
    void lomoHoldsAboutOneGradientWhereSgdAndAdamWHoldThemAll() {
        CausalLm m = new CausalLm(CFG, new SplittableRandom(7));
        List<Long> sizes = new ArrayList<>();
        for (Tensor p : m.trainableParameters()) sizes.add(MemoryPool.sizeClassBytes(p.numel() * 4));
        long all = sizes.stream().mapToLong(Long::longValue).sum();
        long largest = sizes.stream().mapToLong(Long::longValue).max().orElseThrow();

        Lomo lomo = new Lomo(m.trainableParameters(), 0.01);
        long lomoPeak, lomoLeft;
        try (var scope = MemoryScope.open()) {
            Tensor l = loss(m);
            long before = MemoryPool.host().stats().bytesInUse();
            lomoPeak = BackwardPeak.lomo(lomo, l);
            lomoLeft = MemoryPool.host().stats().bytesInUse() - before;
        }
        long sgdPeak = heldPeak(ps -> new Sgd(ps, 0.1, 0.9, 0, 0, false));
        long adamPeak = heldPeak(ps -> new AdamW(ps, 1e-3));
        System.out.printf(
                "backward+update peak above the forward: LOMO %,d B, SGD %,d B, AdamW %,d B; all gradients %,d B,"
                        + " largest %,d B%n",
                lomoPeak, sgdPeak, adamPeak, all, largest);

        // at most 0: blocks that earlier tests dropped may be returned by their cleaner meanwhile
        assertTrue(lomoLeft <= 0, "LOMO leaves no gradient memory behind: " + lomoLeft + " bytes");
        for (Tensor p : m.trainableParameters()) assertNull(p.grad());
        // the baselines hold every gradient at the step, so their peak is at least the sum of the gradients' blocks
        assertTrue(sgdPeak >= all, "SGD peak " + sgdPeak + " < gradients " + all);
        assertTrue(adamPeak >= all, "AdamW peak " + adamPeak + " < gradients " + all);
        // each parameter's update runs in its own scope: on top of the gradients, one parameter's temporaries (and
        // what backward had in flight), not the whole step's
        assertTrue(sgdPeak <= all + 4 * largest, "SGD peak " + sgdPeak + " for gradients " + all);
        assertTrue(adamPeak <= all + 4 * largest, "AdamW peak " + adamPeak + " for gradients " + all);
        // LOMO holds one parameter's gradient at a time, plus what is in flight (activation gradients of 16 tokens
        // and one rule's temporaries, each at most a weight's size here): bounded by a few of the largest gradients,
        // far under the sum of all of them (38 parameters)
        assertTrue(lomoPeak <= 4 * largest, "LOMO peak " + lomoPeak + " > 4 × largest gradient " + largest);
        assertTrue(lomoPeak < all / 3, "LOMO peak " + lomoPeak + " vs all gradients " + all);
    }
}
