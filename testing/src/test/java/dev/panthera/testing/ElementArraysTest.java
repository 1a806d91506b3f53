package dev.panthera.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * {@link ElementArrays} shrinks a failing array to the minimal one: each property below fails on purpose (a planted
 * condition on the drawn array); a lifecycle hook reads jqwik's shrunk sample and turns the expected failure into a
 * pass only when that sample is minimal for the condition. No failure, or a larger shrunk sample, fails the test.
 */
class ElementArraysTest {

    /** Runs the property, expects it to fail, and checks the shrunk sample's first parameter. */
    abstract static class ExpectMinimal implements AroundPropertyHook {
        abstract void check(Object shrunk);

        @Override
        public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
            PropertyExecutionResult r = property.execute();
            if (r.status() != PropertyExecutionResult.Status.FAILED
                    || r.shrunkSample().isEmpty())
                return r.mapToFailed("the planted failure was not found: " + r.status());
            try {
                List<Object> params = r.shrunkSample().get().parameters();
                check(params.getFirst());
            } catch (AssertionError e) {
                return r.mapToFailed(e);
            }
            return r.mapToSuccessful();
        }
    }

    @Provide
    Arbitrary<float[]> normals() {
        return ElementArrays.floatArrays(r -> (float) r.nextGaussian(), 300);
    }

    /** Planted: an element at index 200 or above with |v| ≥ 1 (about 95 of the 100 there are, in a draw). */
    @Property(seed = "7", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectOneWholeFloat.class)
    void aLargeLateElementFails(@ForAll("normals") float[] x) {
        for (int i = 200; i < x.length; i++) assertTrue(Math.abs(x[i]) < 1, "element " + i + " is " + x[i]);
    }

    /** Minimal: one non-zero element, at index 200 or above, a whole number (its fraction shrunk away). */
    static class ExpectOneWholeFloat extends ExpectMinimal {
        @Override
        void check(Object shrunk) {
            float[] x = (float[]) shrunk;
            int at = -1, nonZero = 0;
            for (int i = 0; i < x.length; i++)
                if (Float.floatToRawIntBits(x[i]) != 0) {
                    nonZero++;
                    at = i;
                }
            assertEquals(
                    1,
                    nonZero,
                    "non-zero elements, sample of " + x.length + " starting "
                            + java.util.Arrays.toString(java.util.Arrays.copyOf(x, Math.min(x.length, 16))));
            assertTrue(at >= 200, "index of the non-zero element " + at);
            assertEquals((long) x[at], x[at], 0.0, "a whole number, sample " + x[at]);
        }
    }

    @Provide
    Arbitrary<long[]> indices() {
        return ElementArrays.of(ElementArrays.whole(r -> r.nextInt(1000)), 64);
    }

    /** Planted: any element above 10. */
    @Property(seed = "3", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectOneSmallWhole.class)
    void aLargeIndexFails(@ForAll("indices") long[] x) {
        for (long v : x) assertTrue(v <= 10, "element " + v);
    }

    /** Minimal: one non-zero element, in [11, 21] (halving it once more would make it pass). */
    static class ExpectOneSmallWhole extends ExpectMinimal {
        @Override
        void check(Object shrunk) {
            long[] x = (long[]) shrunk;
            long nonZero = java.util.Arrays.stream(x).filter(v -> v != 0).count();
            long max = java.util.Arrays.stream(x).max().orElse(0);
            assertEquals(1, nonZero, "non-zero elements, sample " + java.util.Arrays.toString(x));
            assertTrue(max >= 11 && max <= 21, "the element " + max);
        }
    }
}
