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

    /** HF get_cosine_schedule_with_warmup with its defaults: {@code cosine(warmup, total, 0, 0.5)}. */
    static LrSchedule cosine(long warmup, long total) {
        return cosine(warmup, total, 0, 0.5);
    }

    /**
     * Linear warm-up then half a cosine from 1 down to {@code minRatio} at {@code total} steps: {@code cosine(warmup,
     * total, minRatio, 0.5)}.
     */
    static LrSchedule cosine(long warmup, long total, double minRatio) {
        return cosine(warmup, total, minRatio, 0.5);
    }

    /**
     * HF's cosine schedules (get_cosine_schedule_with_warmup for minRatio = 0, get_cosine_with_min_lr_schedule_with_warmup
     * with min_lr_rate = minRatio): step/warmup during warm-up, then with progress p = (step − warmup)/(total − warmup)
     * the factor max(0, minRatio + (1 − minRatio)·½(1 + cos(π·numCycles·2·p))). As in transformers p is not capped at
     * 1, so past {@code total} the cosine carries on (with the default 0.5 cycles it rises again from minRatio).
     */
    static LrSchedule cosine(long warmup, long total, double minRatio, double numCycles) {
        if (warmup < 0 || total <= warmup)
            throw new IllegalArgumentException(
                    "cosine schedule: total " + total + " must exceed warm-up " + warmup + " >= 0");
        if (!(minRatio >= 0 && minRatio <= 1))
            throw new IllegalArgumentException("cosine schedule: minRatio " + minRatio + " outside [0, 1]");
        if (!(numCycles > 0 && Double.isFinite(numCycles)))
            throw new IllegalArgumentException("cosine schedule: numCycles " + numCycles + " must be positive");
        return s -> {
            if (s < warmup) return (double) s / Math.max(1, warmup);
            double progress = (double) (s - warmup) / (total - warmup);
            double f = 0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * progress));
            return Math.max(0.0, f * (1 - minRatio) + minRatio);
        };
    }

    /**
     * Linear warm-up then a linear decay from 1 to 0 at {@code total} steps (HF get_linear_schedule_with_warmup);
     * stays at 0 after.
     */
    static LrSchedule linear(long warmup, long total) {
        if (warmup < 0 || total <= warmup)
            throw new IllegalArgumentException(
                    "linear schedule: total " + total + " must exceed warm-up " + warmup + " >= 0");
        return s -> {
            if (s < warmup) return (double) s / Math.max(1, warmup);
            return Math.max(0.0, (double) (total - s) / (total - warmup));
        };
    }
}
