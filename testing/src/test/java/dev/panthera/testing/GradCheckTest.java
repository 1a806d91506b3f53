package dev.panthera.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
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

    /**
     * relu and abs exactly at their kinks (where shrinking toward 0 lands): the slope is undefined there and the
     * element is skipped, while the smooth elements are still checked; a wrong gradient of a smooth function at 0 is
     * still rejected (exp(x)·detach(exp(x)) has derivative 2 at 0, autograd reports 1).
     */
    @Example
    void skipsKinksButNotWrongSmoothGradientsAtZero() {
        Tensor x = Tensor.of(new double[] {0, 1.5, -2, 0}, 4);
        GradCheck.check("relu", in -> in[0].relu(), x);
        GradCheck.check("abs", in -> in[0].abs(), x);
        Tensor zeros = Tensor.of(new double[] {0, 0, 0}, 3);
        AssertionError e = assertThrows(
                AssertionError.class,
                () -> GradCheck.check(
                        "exp·exp", in -> in[0].exp().mul(in[0].exp().detach()), zeros));
        assertTrue(e.getMessage().startsWith("exp·exp: d/dx0("), e.getMessage());
    }
}
