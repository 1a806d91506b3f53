package dev.panthera.nn.optim;

/**
 * A learning-rate multiplier as a function of the number of optimizer steps already taken (the first step sees 0),
 * like PyTorch's LambdaLR used by HuggingFace's schedules.
 */
@FunctionalInterface
public interface LrSchedule {
    /** The factor applied to the base learning rate at {@code step}. */
    double factor(long step);

    /** Always 1. */
    static LrSchedule constant() {
        return s -> 1.0;
    }

    /** step/warmup during warm-up, then 1 (HF get_constant_schedule_with_warmup). */
    static LrSchedule linearWarmup(long warmup) {
        return s -> s < warmup ? (double) s / Math.max(1, warmup) : 1.0;
    }

    /**
     * Linear warm-up then half a cosine from 1 down to {@code minRatio} at {@code total} steps (HF
     * get_cosine_schedule_with_warmup when minRatio = 0); stays at minRatio after.
     */
    static LrSchedule cosine(long warmup, long total, double minRatio) {
        if (total <= warmup)
            throw new IllegalArgumentException("cosine schedule: total " + total + " must exceed warm-up " + warmup);
        return s -> {
            if (s < warmup) return (double) s / Math.max(1, warmup);
            double progress = Math.min(1.0, (double) (s - warmup) / (total - warmup));
            return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
        };
    }

    /**
     * Linear warm-up then a linear decay from 1 to 0 at {@code total} steps (HF get_linear_schedule_with_warmup);
     * stays at 0 after.
     */
    static LrSchedule linear(long warmup, long total) {
        if (total <= warmup)
            throw new IllegalArgumentException("linear schedule: total " + total + " must exceed warm-up " + warmup);
        return s -> {
            if (s < warmup) return (double) s / Math.max(1, warmup);
            return Math.max(0.0, (double) (total - s) / (total - warmup));
        };
    }
}
