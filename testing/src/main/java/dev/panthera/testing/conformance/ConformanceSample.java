package dev.panthera.testing.conformance;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.testing.TensorSpec;
import java.util.List;

/** One drawn input set of the conformance suite: a shape, a dtype and two tensors of them (a case uses one or both). */
public record ConformanceSample(Shape shape, DType dtype, List<TensorSpec> inputs) {
    public ConformanceSample {
        inputs = List.copyOf(inputs);
    }
}
