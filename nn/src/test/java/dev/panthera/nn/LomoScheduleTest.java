package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.bench.GradientSchedule;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.Lomo;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** LOMO's claim: during backward, no full set of parameter gradients exists at once. */
class LomoScheduleTest {
    @Test
    void leafGradientsAreConsumedAlmostAsSoonAsTheyAppear() {
        CausalLm m = ModuleTest.tiny(9);
        Tensor ids = Tensor.of(new long[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor loss = Losses.crossEntropy(m.forward(ids), Tensor.of(new long[] {2, 3, 4, 5, 6, 7}, 2, 3));
        long peak = GradientSchedule.peakLeafGradientBytes(loss);
        List<Long> sizes = new ArrayList<>();
        for (Tensor p : m.namedParameters().values()) sizes.add(p.numel() * 4);
        sizes.sort(java.util.Comparator.reverseOrder());
        long total = sizes.stream().mapToLong(Long::longValue).sum();
        assertTrue(
                peak <= sizes.get(0) + sizes.get(1),
                "peak pending leaf gradients " + peak + " B exceeds the two largest parameters " + sizes.subList(0, 2));
        assertTrue(peak < total / 4, "peak " + peak + " of " + total);
        // the hook updates every parameter and leaves no grad behind
        Lomo lomo = new Lomo(m.trainableParameters(), 0.01);
        lomo.backward(loss);
        for (Tensor p : m.namedParameters().values()) assertNull(p.grad());
        assertTrue(lomo.maxGradientBytes() <= peak);
    }
}
