package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.CountingBackend;
import dev.panthera.testing.TensorSpec;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Which kernels a fused op reaches, counted by a backend decorator: on the reference backend each fused op runs its
 * forward kernel with and without gradients recorded, and its backward kernel (attention, the norms) or its forward
 * kernel again (RoPE rotates the gradient by −θ) in backward; on a backend without fused kernels none runs and the
 * ops compose from primitives.
 */
class FusedKernelRoutingTest {

    /** Each fused op on F64 inputs x [2, 3, 4, 6] (q, k, v are x viewed as heads), and its forward kernel's name. */
    static Map<String, Function<Tensor[], Tensor>> ops() {
        Tensor[] cs = RopeAttentionTest.tables(4, 6);
        return Map.of(
                "softmax", x -> x[0].softmax(1).add(x[0].logSoftmax(-1)),
                "layerNorm", x -> x[0].layerNorm(x[1], x[1], 1e-5),
                "rmsNorm", x -> x[0].rmsNorm(x[1], 1e-6),
                "rope", x -> x[0].rope(cs[0], cs[1], true).add(x[0].rope(cs[0], cs[1], false)),
                "attention",
                        x -> Tensor.scaledDotProductAttention(
                                x[0], x[0].narrow(1, 0, 1), x[0].narrow(1, 1, 1), true, 0.4));
    }

    private static final Map<String, String> BACKWARD = Map.of(
            "softmax",
            "",
            "layerNorm",
            "normBackward",
            "rmsNorm",
            "normBackward",
            "rope",
            "rope",
            "attention",
            "attentionBackward");

    /** x [2, 3, 4, 6] and w [6], N(0, 1) F64 contiguous: the values do not matter here, only which kernels run. */
    record Inputs(TensorSpec x, TensorSpec w) {}

    @Provide
    Arbitrary<Inputs> inputs() {
        return Combinators.combine(Cases.contiguous(DType.F64, 2, 3, 4, 6), Cases.contiguous(DType.F64, 6))
                .as(Inputs::new);
    }

    @Property(tries = 2)
    void theReferenceKernelsRunWithAndWithoutGradients(@ForAll("inputs") Inputs in) {
        for (boolean withGrad : new boolean[] {false, true}) referenceKernelsRun(in, withGrad);
    }

    private static void referenceKernelsRun(Inputs in, boolean withGrad) {
        for (var op : ops().entrySet()) {
            Tensor x = in.x().tensor().requiresGrad(withGrad);
            Tensor w = in.w().tensor().requiresGrad(withGrad);
            CountingBackend c = CountingBackend.of(ReferenceBackend.INSTANCE);
            Tensor y;
            try (Handle use = Backends.use(c.backend())) {
                y = op.getValue().apply(new Tensor[] {x, w});
            }
            assertTrue(c.count(op.getKey()) >= 1, op.getKey() + " forward kernel did not run: " + c);
            assertEquals(withGrad, y.requiresGrad(), op.getKey());
            if (!withGrad) continue;
            int forward = c.count(op.getKey());
            c.reset();
            try (Handle use = Backends.use(c.backend())) {
                y.sum().backward();
            }
            String back = BACKWARD.get(op.getKey());
            if (!back.isEmpty()) assertTrue(c.count(back) >= 1, op.getKey() + " backward kernel did not run: " + c);
            assertEquals(0, op.getKey().equals("rope") ? 0 : c.count(op.getKey()), "no forward rerun: " + c);
            assertTrue(forward > 0 && x.grad() != null, op.getKey());
        }
    }

    @Property(tries = 2)
    void withoutFusedKernelsTheOpsCompose(@ForAll("inputs") Inputs in) {
        for (boolean withGrad : new boolean[] {false, true}) opsCompose(in, withGrad);
    }

    private static void opsCompose(Inputs in, boolean withGrad) {
        for (var op : ops().entrySet()) {
            Tensor x = in.x().tensor().requiresGrad(withGrad);
            Tensor w = in.w().tensor().requiresGrad(withGrad);
            CountingBackend c = CountingBackend.primitivesOf(ReferenceBackend.INSTANCE);
            try (Handle use = Backends.use(c.backend())) {
                Tensor y = op.getValue().apply(new Tensor[] {x, w});
                if (withGrad) y.sum().backward();
            }
            assertTrue(c.count("binary") > 0, op.getKey() + " composed from primitives: " + c);
            if (withGrad) assertTrue(x.grad() != null, op.getKey());
        }
    }
}
