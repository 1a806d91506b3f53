package dev.panthera.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Shrinkable;
import net.jqwik.api.ShrinkingDistance;

/**
 * One value drawn uniformly from [lo, hi] on a grid of 10⁶ steps, held as the number of steps j from the value in
 * range nearest 0 (0 itself when the range holds it, else the nearer bound), so that it shrinks toward that value:
 * first to it, then to half as many steps. Two candidates a value keep shrinking quick over the hundreds of values of a
 * tensor, where jqwik's own decimal arbitraries, which offer many candidates a value, spent a property's whole
 * shrinking time on a few values. Any finite bounds are allowed (1/√3 included).
 */
final class UniformValue implements Shrinkable<Double> {
    static final long STEPS = 1_000_000;

    private final double lo, hi, target, step;
    private final long j;

    private UniformValue(double lo, double hi, double target, double step, long j) {
        this.lo = lo;
        this.hi = hi;
        this.target = target;
        this.step = step;
        this.j = j;
    }

    static UniformValue draw(double lo, double hi, Random random) {
        double target = lo > 0 ? lo : hi < 0 ? hi : 0.0, step = (hi - lo) / STEPS;
        if (step == 0) return new UniformValue(lo, hi, lo, 0, 0);
        long jmin = (long) Math.ceil((lo - target) / step), jmax = (long) Math.floor((hi - target) / step);
        long j = jmin + (long) (random.nextDouble() * (jmax - jmin + 1));
        return new UniformValue(lo, hi, target, step, Math.min(j, jmax));
    }

    @Override
    public Double value() {
        double v = Math.min(hi, Math.max(lo, target + j * step));
        return v == 0 ? 0.0 : v; // no −0.0 of its own: a shrunk −0.0 would read as a signed-zero edge case
    }

    @Override
    public Stream<Shrinkable<Double>> shrink() {
        if (j == 0) return Stream.empty();
        List<Shrinkable<Double>> candidates = new ArrayList<>(2);
        candidates.add(new UniformValue(lo, hi, target, step, 0));
        if (j / 2 != 0) candidates.add(new UniformValue(lo, hi, target, step, j / 2));
        return candidates.stream();
    }

    @Override
    public ShrinkingDistance distance() {
        return ShrinkingDistance.of(Math.abs(j));
    }
}
