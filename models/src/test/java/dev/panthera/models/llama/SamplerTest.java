package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * Sampling rules on hand-made logits. Frequencies over N = 30000 draws are checked within 5σ, σ = √(p(1−p)/N) ≤
 * 0.0029, so 0.015: a wrong rule (an off-by-one in top-p, min-p against the wrong reference) moves a frequency by
 * 0.1 or more.
 */
class SamplerTest {
    static final int N = 30000;
    static final double TOL = 0.015;
    // probabilities 1/6, 2/6, 3/6 at temperature 1
    static final float[] LOGITS = {(float) Math.log(1), (float) Math.log(2), (float) Math.log(3)};

    static double[] freq(SamplingParams p) {
        Sampler s = new Sampler(p);
        double[] f = new double[LOGITS.length];
        for (int i = 0; i < N; i++) f[s.next(LOGITS.clone(), new boolean[LOGITS.length])] += 1.0 / N;
        return f;
    }

    @Test
    void temperatureOneDrawsTheSoftmax() {
        assertArrayEquals(new double[] {1 / 6.0, 2 / 6.0, 3 / 6.0}, freq(SamplingParams.sample(1, 1, 3)), TOL);
    }

    @Test
    void temperatureTwoFlattens() {
        // p ∝ exp(log(i)/2) = √1, √2, √3
        double z = 1 + Math.sqrt(2) + Math.sqrt(3);
        assertArrayEquals(
                new double[] {1 / z, Math.sqrt(2) / z, Math.sqrt(3) / z}, freq(SamplingParams.sample(1, 2, 4)), TOL);
    }

    @Test
    void topKKeepsTheKLargest() {
        assertArrayEquals(
                new double[] {0, 2 / 5.0, 3 / 5.0},
                freq(SamplingParams.sample(1, 1, 5).withTopK(2)),
                TOL);
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // sorted mass: 0.5 (id 2) already reaches 0.5; 0.6 needs id 1 too
        assertArrayEquals(
                new double[] {0, 0, 1}, freq(SamplingParams.sample(1, 1, 6).withTopP(0.5)), TOL);
        assertArrayEquals(
                new double[] {0, 2 / 5.0, 3 / 5.0},
                freq(SamplingParams.sample(1, 1, 6).withTopP(0.6)),
                TOL);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheTop() {
        // threshold 0.5 · 0.5 = 0.25: id 0 (1/6) goes, id 1 (1/3) stays
        assertArrayEquals(
                new double[] {0, 2 / 5.0, 3 / 5.0},
                freq(SamplingParams.sample(1, 1, 7).withMinP(0.5)),
                TOL);
    }

    @Test
    void sameSeedSameDraws() {
        Sampler a = new Sampler(SamplingParams.sample(1, 1, 42)), b = new Sampler(SamplingParams.sample(1, 1, 42));
        Sampler c = new Sampler(SamplingParams.sample(1, 1, 43));
        StringBuilder sa = new StringBuilder(), sb = new StringBuilder(), sc = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            sa.append(a.next(LOGITS.clone(), new boolean[3]));
            sb.append(b.next(LOGITS.clone(), new boolean[3]));
            sc.append(c.next(LOGITS.clone(), new boolean[3]));
        }
        assertEquals(sa.toString(), sb.toString());
        assertNotEquals(sa.toString(), sc.toString());
    }

    @Test
    void penaltiesFollowTheirDefinitions() {
        boolean[] seen0 = {true, false};
        SamplingParams greedy = SamplingParams.greedy(1);
        // repetition 1.1: 2 → 2/1.1 = 1.82 < 1.9; −1 → −1.1 < −1.05
        assertEquals(1, new Sampler(greedy.withPenalties(1.1, 0)).next(new float[] {2f, 1.9f}, seen0));
        assertEquals(1, new Sampler(greedy.withPenalties(1.1, 0)).next(new float[] {-1f, -1.05f}, seen0));
        assertEquals(0, new Sampler(greedy).next(new float[] {2f, 1.9f}, seen0));
        // presence 0.2: 1 → 0.8 < 0.9
        assertEquals(1, new Sampler(greedy.withPenalties(1, 0.2)).next(new float[] {1f, 0.9f}, seen0));
        assertEquals(0, new Sampler(greedy.withPenalties(1, 0.05)).next(new float[] {1f, 0.9f}, seen0));
    }

    @Test
    void badParametersNameTheProblem() {
        var e = assertThrows(IllegalArgumentException.class, () -> SamplingParams.sample(1, -1, 0));
        assertTrue(e.getMessage().contains("temperature"));
        e = assertThrows(
                IllegalArgumentException.class,
                () -> SamplingParams.sample(1, 1, 0).withTopP(0));
        assertTrue(e.getMessage().contains("top-p"));
    }
}
