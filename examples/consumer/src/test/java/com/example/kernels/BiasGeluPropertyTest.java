package com.example.kernels;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Handle;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorAssert;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Tolerance;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;

/**
 * The fused kernel against Panthera's scalar reference backend computing x.add(bias).gelu() (in double, rounded to
 * F32), on drawn shapes (0, 1, primes, vector tails), layouts (transposed, stepped, offset, broadcast) and N(0, 1)
 * values. Tolerance: the erf approximation errs by at most 1.5e-7, so gelu = x·(1 + erf)/2 by at most
 * |x|/2 · 1.5e-7 ≤ 9e-7 for |x + bias| ≤ 12 (values are drawn within ±6): atol 1e-6; both sides round the
 * double result to F32 once, 2⁻²⁴ relative each: rtol 2.4e-7.
 */
class BiasGeluPropertyTest {

    @Provide
    Arbitrary<Tuple2<TensorSpec, TensorSpec>> inputs() {
        return Shapes.shapes(2, 2).flatMap(s -> {
            Tensors f32 = Tensors.of(DType.F32);
            Arbitrary<TensorSpec> x = f32.specs(s, DType.F32);
            Arbitrary<TensorSpec> bias = f32.withLayouts(LayoutKind.CONTIGUOUS).specs(Shape.of(s.dim(1)), DType.F32);
            return Combinators.combine(x, bias).as(Tuple::of);
        });
    }

    @Property(tries = 200)
    void fusedBiasGeluMatchesTheReference(@ForAll("inputs") Tuple2<TensorSpec, TensorSpec> in) {
        Tensor x = in.get1().tensor(), bias = in.get2().tensor();
        Tensor expected;
        try (Handle h = Backends.use(ReferenceBackend.INSTANCE)) {
            expected = x.add(bias).gelu();
        }
        TensorAssert.assertClose(BiasGelu.apply(x, bias), expected, Tolerance.of(2.4e-7, 1e-6), "biasGelu");
    }
}
