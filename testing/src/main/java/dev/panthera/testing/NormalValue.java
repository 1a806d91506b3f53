package dev.panthera.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Shrinkable;
import net.jqwik.api.ShrinkingDistance;

/**
 * One drawn N(0, 1) value, truncated to [−6, 6] and rounded to six decimals, that shrinks toward 0: first to 0 itself,
 * then to its integer part, then to half of itself, each rounded the same way (so a shrunk value stays readable).
 * Drawn with {@link Random#nextGaussian} directly: jqwik's decimal generators go through BigDecimal at several
 * microseconds a value, which dominated the time of properties over tensors of thousands of elements.
 */
final class NormalValue implements Shrinkable<Double> {
    static final double BOUND = 6;
    private static final double SCALE = 1e6;

    private final double value;

    private NormalValue(double value) {
        this.value = value;
    }

    static NormalValue draw(Random random) {
        double v;
        do v = random.nextGaussian();
        while (Math.abs(v) > BOUND);
        return new NormalValue(round(v));
    }

    static double round(double v) {
        double r = Math.round(v * SCALE) / SCALE;
        return r == 0 ? 0.0 : r; // no −0.0 of its own: a shrunk −0.0 would read as a signed-zero edge case
    }

    @Override
    public Double value() {
        return value;
    }

    @Override
    public Stream<Shrinkable<Double>> shrink() {
        if (value == 0) return Stream.empty();
        List<Shrinkable<Double>> candidates = new ArrayList<>(3);
        candidates.add(new NormalValue(0.0));
        double whole = round((double) (long) value);
        if (whole != 0 && whole != value) candidates.add(new NormalValue(whole));
        double half = round(value / 2);
        if (half != 0 && half != value) candidates.add(new NormalValue(half));
        return candidates.stream();
    }

    @Override
    public ShrinkingDistance distance() {
        return ShrinkingDistance.of(Math.round(Math.abs(value) * SCALE));
    }
}
