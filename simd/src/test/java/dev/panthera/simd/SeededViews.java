package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.Random;

/** The simd properties' inputs drawn from a seed through the testing kit's generators. */
final class SeededViews {
    private SeededViews() {}

    /**
     * N(0, 1) values of {@code shape} as panthera-testing draws them (contiguous, transposed, stepped or offset),
     * sampled from the property's seed.
     */
    static Tensor randomView(Random r, long[] shape, DType dtype) {
        return Tensors.of(dtype)
                .withLayouts(LayoutKind.CONTIGUOUS, LayoutKind.TRANSPOSED, LayoutKind.STEPPED, LayoutKind.OFFSET)
                .withValues(Values.normal())
                .specs(Shape.of(shape), dtype)
                .generator(1000)
                .next(r)
                .value()
                .tensor();
    }
}
