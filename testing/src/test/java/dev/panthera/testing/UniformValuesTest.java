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
 * {@link Values#uniform}: any finite bounds (an initialiser's ±1/√fan-in included), values inside them, and a failure
 * over hundreds of values shrinks to one non-zero value within jqwik's shrinking time, where jqwik's decimal
 * arbitraries stalled on a few values.
 */
class UniformValuesTest {
    private static final double B = 1 / Math.sqrt(3);

    /** A range and 200 values drawn from it, all by jqwik (so a failure replays from its seed). */
    record Drawn(double lo, double hi, List<Double> values) {}

    @Provide
    Arbitrary<Drawn> ranges() {
        return net.jqwik.api.Arbitraries.of(
                        new double[] {-B, B}, new double[] {0.25, 5}, new double[] {-5, -0.25}, new double[] {2, 2})
                .flatMap(r -> Values.uniform(r[0], r[1]).list().ofSize(200).map(vs -> new Drawn(r[0], r[1], vs)));
    }

    @Property(tries = 50)
    void valuesStayInsideTheirBounds(@ForAll("ranges") Drawn d) {
        for (double v : d.values()) assertTrue(v >= d.lo() && v <= d.hi(), v + " outside " + d.lo() + ", " + d.hi());
    }

    @Provide
    Arbitrary<List<Double>> manyValues() {
        return Values.uniform(-B, B).list().ofSize(400);
    }

    /** Planted failure: some value above 0.5 in magnitude. The minimal sample has exactly one non-zero value. */
    @Property(seed = "11", afterFailure = AfterFailureMode.RANDOM_SEED)
    @AddLifecycleHook(ExpectOneNonZero.class)
    void hundredsOfValuesShrinkToOne(@ForAll("manyValues") List<Double> vs) {
        for (double v : vs) assertTrue(Math.abs(v) <= 0.5, "value " + v);
    }

    /** Passes the property only if it failed and jqwik shrank it to one non-zero value above 0.5. */
    static class ExpectOneNonZero implements AroundPropertyHook {
        @Override
        public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
            PropertyExecutionResult r = property.execute();
            if (r.status() != PropertyExecutionResult.Status.FAILED
                    || r.shrunkSample().isEmpty()) return r.mapToFailed("the planted failure was not found");
            @SuppressWarnings("unchecked")
            List<Double> vs = (List<Double>) r.shrunkSample().get().parameters().getFirst();
            try {
                long nonZero = vs.stream().filter(v -> v != 0).count();
                assertEquals(1, nonZero, "non-zero values in the shrunk sample " + vs);
                assertTrue(vs.stream().anyMatch(v -> Math.abs(v) > 0.5), "shrunk sample " + vs);
            } catch (AssertionError e) {
                return r.mapToFailed(e);
            }
            return r.mapToSuccessful();
        }
    }
}
