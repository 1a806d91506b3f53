package dev.panthera.testing.conformance;

import dev.panthera.tensor.Tensor;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * One op applied to {@code arity} inputs of the same shape. {@code conditionedAtol} is an extra absolute tolerance for
 * an op whose float32 result is ill-conditioned by definition (0 for the rest); the case that sets it says why.
 *
 * <p>{@code summed}, when not null, gives the number of terms each output element sums for an input shape (the
 * contraction length of a matmul, the count of a sum or mean). Such an output may cancel to near zero, where a
 * relative tolerance says nothing; the suite then also allows the classical forward-error bound of a float32 sum in
 * any order, γ_n · (the op applied to the absolute values of the inputs), γ_n = n·u / (1 − n·u), u = 2⁻²⁴ (Higham,
 * <i>Accuracy and Stability of Numerical Algorithms</i>, §3.1), computed by the reference backend in float64.
 */
public record ConformanceCase(
        String name, int arity, Function<Tensor[], Tensor> op, double conditionedAtol, ToLongFunction<long[]> summed) {
    public ConformanceCase(String name, int arity, Function<Tensor[], Tensor> op) {
        this(name, arity, op, 0, null);
    }

    public ConformanceCase(String name, int arity, Function<Tensor[], Tensor> op, double conditionedAtol) {
        this(name, arity, op, conditionedAtol, null);
    }

    /** A case whose every output element sums {@code summed.applyAsLong(inputShape)} products or values. */
    public static ConformanceCase summing(
            String name, int arity, Function<Tensor[], Tensor> op, ToLongFunction<long[]> summed) {
        return new ConformanceCase(name, arity, op, 0, summed);
    }

    @Override
    public String toString() {
        return name;
    }
}
