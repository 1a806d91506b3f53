package dev.panthera.models.llama;

import java.util.List;

/**
 * How {@link Generator} picks tokens. Temperature 0 is greedy (argmax, ties to the lowest id). Otherwise, in
 * HuggingFace's order: repetition penalty (a seen token's logit divided by it when positive, multiplied when
 * negative), presence penalty (subtracted once from each seen token's logit), temperature, top-k (0 = off),
 * top-p (1 = off), min-p (0 = off; drops tokens below minP times the top probability), then a draw seeded by
 * {@code seed}. "Seen" covers the prompt and the generated tokens. Generation stops at {@code maxNewTokens}, at any
 * of {@code stopTokens} (the model's EOS ids are added by the generator unless {@code ignoreEos}), or once the
 * generated text contains one of {@code stopStrings}.
 */
public record SamplingParams(
        int maxNewTokens,
        double temperature,
        int topK,
        double topP,
        double minP,
        double repetitionPenalty,
        double presencePenalty,
        long seed,
        int[] stopTokens,
        List<String> stopStrings,
        boolean ignoreEos) {
    public SamplingParams {
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        if (!(repetitionPenalty > 0))
            throw new IllegalArgumentException("repetition penalty must be > 0, got " + repetitionPenalty);
        stopTokens = stopTokens.clone();
        stopStrings = List.copyOf(stopStrings);
    }

    /** Greedy decoding of up to {@code n} tokens, stopping at EOS. */
    public static SamplingParams greedy(int n) {
        return new SamplingParams(n, 0, 0, 1, 0, 1, 0, 0, new int[0], List.of(), false);
    }

    /** Sampling at {@code temperature} with {@code seed}, no truncation or penalty. */
    public static SamplingParams sample(int n, double temperature, long seed) {
        return new SamplingParams(n, temperature, 0, 1, 0, 1, 0, seed, new int[0], List.of(), false);
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(
                maxNewTokens,
                temperature,
                k,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                seed,
                stopTokens,
                stopStrings,
                ignoreEos);
    }

    public SamplingParams withTopP(double p) {
        return new SamplingParams(
                maxNewTokens,
                temperature,
                topK,
                p,
                minP,
                repetitionPenalty,
                presencePenalty,
                seed,
                stopTokens,
                stopStrings,
                ignoreEos);
    }

    public SamplingParams withMinP(double p) {
        return new SamplingParams(
                maxNewTokens,
                temperature,
                topK,
                topP,
                p,
                repetitionPenalty,
                presencePenalty,
                seed,
                stopTokens,
                stopStrings,
                ignoreEos);
    }

    public SamplingParams withPenalties(double repetition, double presence) {
        return new SamplingParams(
                maxNewTokens,
                temperature,
                topK,
                topP,
                minP,
                repetition,
                presence,
                seed,
                stopTokens,
                stopStrings,
                ignoreEos);
    }

    public SamplingParams withStops(int[] tokens, List<String> strings) {
        return new SamplingParams(
                maxNewTokens,
                temperature,
                topK,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                seed,
                tokens,
                strings,
                ignoreEos);
    }

    public SamplingParams withIgnoreEos(boolean ignore) {
        return new SamplingParams(
                maxNewTokens,
                temperature,
                topK,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                seed,
                stopTokens,
                stopStrings,
                ignore);
    }

    @Override
    public int[] stopTokens() {
        return stopTokens.clone();
    }
}
