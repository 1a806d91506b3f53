package dev.panthera.testing.conformance;

import dev.panthera.tensor.Tensor;
import java.util.function.Function;

/**
 * One op applied to {@code arity} inputs of the same shape. {@code conditionedAtol} is an extra absolute tolerance for
 * an op whose float32 result is ill-conditioned by definition (0 for the rest); the case that sets it says why.
 */
public record ConformanceCase(String name, int arity, Function<Tensor[], Tensor> op, double conditionedAtol) {
    public ConformanceCase(String name, int arity, Function<Tensor[], Tensor> op) {
        this(name, arity, op, 0);
    }

    @Override
    public String toString() {
        return name;
    }
}
