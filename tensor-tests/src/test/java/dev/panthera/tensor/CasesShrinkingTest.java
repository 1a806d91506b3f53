package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.TensorSpec;
import java.util.List;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * The case arbitraries this module's properties use shrink a failure to a minimal case: sizes drawn first with
 * tensors drawn in a flatMap on them ({@link Cases}), gradient checks with drawn leaves ({@link GradChecks}), and a
 * random op chain drawn as a list of steps ({@link RandomGraphGradTest#drawGraphs}). Each property below fails on purpose
 * (a planted bug); a lifecycle hook reads jqwik's shrunk sample and turns the expected failure into a pass only when
 * the sample is the minimal one the bug allows. No failure, or a larger shrunk sample, fails the test.
 */
class CasesShrinkingTest {

    /** Runs the property, expects it to fail, and checks the shrunk sample's parameters with {@code check}. */
    abstract static class ExpectMinimal implements AroundPropertyHook {
        abstract void check(List<Object> shrunk);

        @Override
        public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
            PropertyExecutionResult r = property.execute();
            if (r.status() != PropertyExecutionResult.Status.FAILED
                    || r.shrunkSample().isEmpty()) return r.mapToFailed("the planted bug was not found: " + r.status());
            try {
                check(r.shrunkSample().get().parameters());
            } catch (AssertionError e) {
                return r.mapToFailed(e);
            }
            return r.mapToSuccessful();
        }
    }

    // ---------------------------------------------------------------- sizes, then a tensor of them

    /** rows and n up to 17 (the kit's edge sizes), then an F64 tensor [rows, n] in any layout. */
    @Provide
    Arbitrary<TensorSpec> matrices() {
        return Combinators.combine(Cases.size(17), Cases.size(17))
                .flatAs((rows, n) -> Cases.anyLayout(DType.F64, rows, n));
    }

    /** The planted bug: row sums that leave out the last row whenever there are two rows or more. */
    static double[] buggyRowSums(Tensor x) {
        int rows = (int) x.size(0), n = (int) x.size(1);
        double[] out = new double[rows];
        for (int r = 0; r < (rows >= 2 ? rows - 1 : rows); r++) for (int i = 0; i < n; i++) out[r] += x.get(r, i);
        return out;
    }

    @Property(seed = "11", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectTwoByOne.class)
    void rowSumsMatchAFloat64Loop(@ForAll("matrices") TensorSpec spec) {
        Tensor x = spec.tensor();
        double[] got = buggyRowSums(x);
        for (int r = 0; r < got.length; r++) {
            double want = 0;
            for (int i = 0; i < x.size(1); i++) want += x.get(r, i);
            assertEquals(want, got[r], 0.0, "row " + r);
        }
    }

    /** Minimal: a contiguous [2, 1] whose first row is 0 and whose last (dropped) row is not. */
    static class ExpectTwoByOne extends ExpectMinimal {
        @Override
        void check(List<Object> shrunk) {
            TensorSpec x = (TensorSpec) shrunk.getFirst();
            assertEquals(Shape.of(2, 1), x.shape(), "shrunk shape, sample " + x);
            assertEquals(LayoutKind.CONTIGUOUS, x.layout(), "shrunk layout, sample " + x);
            assertEquals(0.0, x.storage()[0], "first row, sample " + x);
            assertNotEquals(0.0, x.storage()[1], "dropped row, sample " + x);
        }
    }

    // ---------------------------------------------------------------- gradient checks with drawn leaves

    /** A wrong gradient on leaves [a, b], a and b in [1, 4]: x·detach(x) has gradient x where d(x²)/dx is 2x. */
    @Provide
    Arbitrary<GradChecks> wrongGradients() {
        return GradChecks.of(
                Combinators.combine(Cases.between(1, 4), Cases.between(1, 4)).as(List::of),
                p -> List.of(new GradChecks.Check(
                        "x·detach(x)", x -> x[0].mul(x[0].detach()), new long[] {p.get(0), p.get(1)})));
    }

    @Property(seed = "5", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectOneByOne.class)
    void aWrongGradientShrinksToOneElement(@ForAll("wrongGradients") GradChecks checks) {
        checks.run();
    }

    /** Minimal: sizes [1, 1], one leaf [1, 1] with a non-zero value (at 0 the wrong gradient is right). */
    static class ExpectOneByOne extends ExpectMinimal {
        @Override
        void check(List<Object> shrunk) {
            GradChecks c = (GradChecks) shrunk.getFirst();
            assertEquals(List.of(1L, 1L), c.params(), "shrunk sizes, sample " + c);
            TensorSpec leaf = c.leaves().getFirst().getFirst();
            assertEquals(Shape.of(1, 1), leaf.shape(), "shrunk leaf, sample " + c);
            assertNotEquals(0.0, leaf.storage()[0], "shrunk leaf value, sample " + c);
        }
    }

    // ---------------------------------------------------------------- an op chain drawn as a list

    @Provide
    Arbitrary<RandomGraphGradTest.Graph> graphs() {
        return RandomGraphGradTest.drawGraphs();
    }

    /** The planted bug: any chain that multiplies by leaf b "fails". */
    @Property(seed = "3", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectOneMulAmongTanh.class)
    void aChainWithAMulFails(@ForAll("graphs") RandomGraphGradTest.Graph g) {
        for (var step : g.chain()) assertTrue(!step.name().equals("mul leaf b"), "chain " + g);
    }

    /** Minimal: x [1], b [1], the shortest chain (4 steps): one mul among three of the simplest step, tanh. */
    static class ExpectOneMulAmongTanh extends ExpectMinimal {
        @Override
        void check(List<Object> shrunk) {
            RandomGraphGradTest.Graph g = (RandomGraphGradTest.Graph) shrunk.getFirst();
            assertEquals(List.of(1L), java.util.Arrays.stream(g.shape()).boxed().toList(), "x, sample " + g);
            assertEquals(
                    List.of(1L), java.util.Arrays.stream(g.bShape()).boxed().toList(), "b, sample " + g);
            assertEquals(4, g.chain().size(), "chain length, sample " + g);
            long muls = g.chain().stream()
                    .filter(s -> s.name().equals("mul leaf b"))
                    .count();
            long tanhs = g.chain().stream().filter(s -> s.name().equals("tanh")).count();
            assertEquals(1, muls, "one mul, sample " + g);
            assertEquals(3, tanhs, "the rest tanh, sample " + g);
        }
    }
}
