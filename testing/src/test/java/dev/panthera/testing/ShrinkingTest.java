package dev.panthera.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import java.util.List;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * The kit's arbitraries shrink a failure to a minimal case. A row-sum kernel with a planted tail bug (it sums the
 * 8-lane blocks and drops the remainder whenever at least one full block ran) is checked against a float64 loop
 * through jqwik; a lifecycle hook reads jqwik's shrunk sample and turns the expected failure into a pass only when the
 * sample is the minimal one: by the bug's definition that is a row of 9 (the shortest with a full block and a tail),
 * of rank 1, contiguous, all values 0 except the dropped element 8. Any other outcome (no failure found, or a larger
 * shrunk sample) fails the test. Matrices of up to 16384 values with a bug in their last row shrink to [2, 1]
 * (without a time bound, so the outcome does not depend on the machine's speed); that takes a fraction of a second
 * because the shape shrinks before the values ({@link SizesFirst}), where shrinking the drawn values first, one at a
 * time, would take minutes on a large draw.
 */
class ShrinkingTest {

    /** The planted bug: the remainder after the 8-lane blocks is added only when no full block ran. */
    static double[] buggyRowSums(double[] x, long rowLength) {
        int n = (int) rowLength, rows = n == 0 ? 0 : x.length / n;
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            int i = 0;
            for (; i + 8 <= n; i += 8) for (int l = 0; l < 8; l++) s += x[r * n + i + l];
            if (i == 0) for (; i < n; i++) s += x[r * n + i];
            out[r] = s;
        }
        return out;
    }

    /** The reference: a float64 loop over each row. */
    static double[] rowSums(double[] x, long rowLength) {
        int n = (int) rowLength, rows = n == 0 ? 0 : x.length / n;
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) for (int i = 0; i < n; i++) out[r] += x[r * n + i];
        return out;
    }

    @Provide
    Arbitrary<TensorSpec> rows() {
        return Tensors.of(DType.F64).withShapes(Shapes.shapes(1, 2)).specs();
    }

    @Property(seed = "42", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectMinimalRow.class)
    void blockedRowSumMatchesAFloat64Loop(@ForAll("rows") TensorSpec x) {
        double[] v = x.tensor().contiguous().toDoubleArray();
        long n = x.shape().rank() == 0 ? 1 : x.shape().dim(x.shape().rank() - 1);
        double[] want = rowSums(v, n), got = buggyRowSums(v, n);
        TensorAssert.assertClose(got, want, Shape.of(got.length), Tolerance.defaultFor(DType.F64), "row sums");
    }

    @Property(seed = "7", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectMinimalRow.class)
    void blockedRowSumMatchesAFloat64LoopAnotherSeed(@ForAll("rows") TensorSpec x) {
        blockedRowSumMatchesAFloat64Loop(x);
    }

    /** Matrices with sizes 1 to 128 (up to 16384 values). */
    @Provide
    Arbitrary<TensorSpec> largeMatrices() {
        return Tensors.of(DType.F64)
                .withShapes(Shapes.shapes(2, 2, 1, 128, 128 * 128))
                .specs();
    }

    /** The planted bug: row sums that leave out the last row whenever there are two rows or more. */
    @Property(seed = "13", afterFailure = AfterFailureMode.RANDOM_SEED, shrinking = ShrinkingMode.FULL)
    @AddLifecycleHook(ExpectTwoByOne.class)
    void rowSumsOfLargeMatricesShrinkTheShapeFirst(@ForAll("largeMatrices") TensorSpec x) {
        double[] v = x.tensor().contiguous().toDoubleArray();
        int rows = (int) x.shape().dim(0), n = (int) x.shape().dim(1);
        double[] want = rowSums(v, n), got = new double[rows];
        for (int r = 0; r < (rows >= 2 ? rows - 1 : rows); r++) for (int i = 0; i < n; i++) got[r] += v[r * n + i];
        TensorAssert.assertClose(got, want, Shape.of(rows), Tolerance.defaultFor(DType.F64), "row sums");
    }

    /** Passes only if jqwik shrank to a contiguous [2, 1] whose first row is 0. */
    static class ExpectTwoByOne implements AroundPropertyHook {
        @Override
        public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
            PropertyExecutionResult r = property.execute();
            if (r.status() != PropertyExecutionResult.Status.FAILED
                    || r.shrunkSample().isEmpty()) return r.mapToFailed("the planted bug was not found: " + r.status());
            TensorSpec x = (TensorSpec) r.shrunkSample().get().parameters().getFirst();
            try {
                assertEquals(Shape.of(2, 1), x.shape(), "shrunk shape, sample " + x);
                assertEquals(LayoutKind.CONTIGUOUS, x.layout(), "shrunk layout, sample " + x);
                assertEquals(0.0, x.storage()[0], "first row, sample " + x);
            } catch (AssertionError e) {
                return r.mapToFailed(e);
            }
            return r.mapToSuccessful();
        }
    }

    /** Passes the property only if it failed and jqwik shrank the sample to the minimal failing row. */
    static class ExpectMinimalRow implements AroundPropertyHook {
        @Override
        public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
            PropertyExecutionResult r = property.execute();
            if (r.status() != PropertyExecutionResult.Status.FAILED
                    || r.shrunkSample().isEmpty())
                return r.mapToFailed("the planted tail bug was not found: " + r.status());
            List<Object> params = r.shrunkSample().get().parameters();
            TensorSpec x = (TensorSpec) params.getFirst();
            try {
                assertEquals(Shape.of(9), x.shape(), "shrunk shape, sample " + x);
                assertEquals(LayoutKind.CONTIGUOUS, x.layout(), "shrunk layout, sample " + x);
                for (int i = 0; i < 8; i++) assertEquals(0.0, x.storage()[i], "element " + i + ", sample " + x);
            } catch (AssertionError e) {
                return r.mapToFailed(e);
            }
            return r.mapToSuccessful();
        }
    }
}
