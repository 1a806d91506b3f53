package dev.panthera.tensor.conformance;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.Random;

/**
 * Random views for the properties that still draw from a {@link Random} of their own: normal values of a shape as a
 * contiguous tensor, a transposed view, a stepped slice or an offset narrow. The conformance cases and suites moved
 * to panthera-testing ({@code dev.panthera.testing.conformance}); new properties draw their tensors with
 * panthera-testing's {@code Tensors}, so jqwik can shrink them.
 */
public final class BackendConformance {
    private BackendConformance() {}

    /** Normal values of {@code shape} as a contiguous tensor, a permuted view, a stepped slice, or an offset narrow. */
    public static Tensor randomView(Random r, long[] shape, DType dtype) {
        java.util.SplittableRandom g = new java.util.SplittableRandom(r.nextLong());
        if (shape.length == 0) return Tensor.randn(g, shape).to(dtype);
        int d = r.nextInt(shape.length);
        int kind = r.nextInt(4);
        switch (kind) {
            case 1 -> {
                long[] t = shape.clone();
                t[0] = shape[shape.length - 1];
                t[shape.length - 1] = shape[0];
                return Tensor.randn(g, t).to(dtype).transpose(0, shape.length - 1);
            }
            case 2 -> {
                long[] big = shape.clone();
                big[d] *= 2;
                return Tensor.randn(g, big).to(dtype).slice(d, 1, big[d], 2);
            }
            case 3 -> {
                long[] big = shape.clone();
                big[d] += 3;
                return Tensor.randn(g, big).to(dtype).narrow(d, 2, shape[d]);
            }
            default -> {
                return Tensor.randn(g, shape).to(dtype);
            }
        }
    }
}
