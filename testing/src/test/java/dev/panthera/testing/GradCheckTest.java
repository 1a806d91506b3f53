package dev.panthera.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The gradient checker accepts correct analytic gradients on drawn inputs in drawn layouts, and rejects a gradient
 * that is wrong by construction: x · detach(x) has derivative 2x but autograd sees x.
 */
class GradCheckTest {

    @Provide
    Arbitrary<TensorSpec> matrices() {
        return Tensors.of(DType.F64).withShapes(Shapes.shapes(2, 2, 1, 9, 81)).specs();
    }

    @Property(tries = 15)
    void acceptsCorrectGradients(@ForAll("matrices") TensorSpec a) {
        Tensor x = a.tensor();
        GradCheck.check("tanh·softmax", in -> in[0].tanh().mul(in[0].softmax(-1)), x);
        GradCheck.check(
                "x xᵀ then sum of rows",
                in -> in[0].matmul(in[0].transpose(0, 1)).sum(new int[] {1}, true),
                x);
    }

    @Property(tries = 10)
    void rejectsAGradientThatMissesATerm(@ForAll("matrices") TensorSpec a) {
        Tensor x = a.tensor();
        // d(x·x)/dx = 2x, but detach hides one factor from autograd, which then reports x; it differs where x ≠ 0
        boolean anyNonZero = false;
        for (double v : x.toDoubleArray()) anyNonZero |= Math.abs(v) > 1e-3;
        net.jqwik.api.Assume.that(anyNonZero);
        AssertionError e =
                assertThrows(AssertionError.class, () -> GradCheck.check("square", in -> in[0].mul(in[0].detach()), x));
        assertTrue(e.getMessage().startsWith("square: d/dx0("), e.getMessage());
    }
}
