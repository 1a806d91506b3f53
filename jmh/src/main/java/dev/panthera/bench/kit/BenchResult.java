package dev.panthera.bench.kit;

import java.util.Map;

/**
 * One JMH result: the benchmark as "Class.method", its parameters, and the primary score with JMH's unit.
 *
 * @param benchmark the simple class name and method, e.g. {@code "StreamingReadAnchor.streamSum"}
 * @param params    the JMH parameters of this run ({@code threads}, {@code shape}, ...)
 * @param score     the primary metric's score
 * @param unit      its unit as JMH writes it: time per op ({@code "ms/op"}) or ops per time ({@code "ops/s"})
 */
public record BenchResult(String benchmark, Map<String, String> params, double score, String unit) {
    public BenchResult {
        params = Map.copyOf(params);
    }

    /** Seconds per operation, from either kind of unit; IllegalArgumentException naming the unit otherwise. */
    public double secondsPerOp() {
        String[] p = unit.split("/");
        if (p.length != 2) throw new IllegalArgumentException("BenchResult: unit " + unit + " of " + benchmark);
        if (p[1].equals("op")) return score * seconds(p[0]);
        if (p[0].equals("ops")) return seconds(p[1]) / score;
        throw new IllegalArgumentException("BenchResult: unit " + unit + " of " + benchmark + " is not time per op");
    }

    private double seconds(String u) {
        return switch (u) {
            case "ns" -> 1e-9;
            case "us" -> 1e-6;
            case "ms" -> 1e-3;
            case "s" -> 1;
            case "min" -> 60;
            default -> throw new IllegalArgumentException("BenchResult: time unit " + u + " of " + benchmark);
        };
    }

    /** The {@code threads} parameter, "1" when the benchmark has none. */
    public String threads() {
        return params.getOrDefault("threads", "1");
    }
}
