package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Autograd#custom}: an op computed outside the graph takes part in backward through its own rule. */
class CustomOpTest {

    /** y = a·b elementwise computed from raw arrays; the rule gives g·b to a and g·a to b. */
    private static Tensor product(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray(), z = new float[x.length];
        for (int i = 0; i < x.length; i++) z[i] = x[i] * y[i];
        return Autograd.custom("product", Tensor.of(z, a.dims()), List.of(a, b), (g, out) ->
                new Tensor[] {a.requiresGrad() ? g.mul(b) : null, b.requiresGrad() ? g.mul(a) : null});
    }

    @Test
    void gradientsFlowThroughTheCustomRuleAndOnIntoTheGraph() {
        Tensor a = Tensor.of(new float[] {1, -2, 3}, 3).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {4, 5, -6}, 3);
        // loss = Σ (a·b)·a = Σ a²·b, so d/da = 2·a·b: {8, -20, -36}, exact in float
        product(a, b).mul(a).sum().backward();
        assertArrayEquals(new float[] {8, -20, -36}, a.grad().toFloatArray());
        assertNull(b.grad());
    }

    @Test
    void withoutAnInputThatRequiresGradNothingIsRecorded() {
        Tensor y = product(Tensor.of(1f, 2f), Tensor.of(3f, 4f));
        assertFalse(y.requiresGrad());
        assertNull(y.gradFn());
        try (var ng = Autograd.noGrad()) {
            assertNull(product(Tensor.of(1f).requiresGrad(true), Tensor.of(2f)).gradFn());
        }
    }

    @Test
    void aRuleReturningTheWrongShapeOrCountIsNamed() {
        Tensor a = Tensor.of(1f, 2f).requiresGrad(true);
        Tensor y =
                Autograd.custom("bad", Tensor.of(3f, 4f), List.of(a), (g, out) -> new Tensor[] {Tensor.of(1f, 2f, 3f)});
        var e = assertThrows(IllegalStateException.class, () -> y.sum().backward());
        assertTrue(e.getMessage().contains("custom op bad"), e.getMessage());
        Tensor z = Autograd.custom("none", Tensor.of(3f, 4f), List.of(a), (g, out) -> new Tensor[0]);
        assertThrows(IllegalStateException.class, () -> z.sum().backward());
        Tensor recorded = a.mul(2);
        assertThrows(IllegalArgumentException.class, () -> Autograd.custom("again", recorded, List.of(a), null));
    }
}
