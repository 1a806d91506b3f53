package dev.panthera.testing.conformance;

/**
 * What the conformance inputs hold besides normal values of rank 2..4 in contiguous, transposed, stepped and offset
 * layouts.
 *
 * @param specials   NaN, ±Inf, ±0.0 and tiny (subnormal) values of the dtype mixed into the data, one in eight
 * @param broadcasts views with stride-0 (expanded) dimensions among the layouts
 * @param edgeShapes rank 0 and shapes with a size-0 dimension, one draw in four; where the reference throws for such
 *                   a shape, the backend must throw the same exception class
 */
public record ConformanceInputs(boolean specials, boolean broadcasts, boolean edgeShapes) {
    /** Normal values, no broadcast views, no edge shapes. */
    public static final ConformanceInputs NORMAL = new ConformanceInputs(false, false, false);
    /** Everything. */
    public static final ConformanceInputs ALL = new ConformanceInputs(true, true, true);
}
