package dev.panthera.quant.ggml;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * ggml's {@code make_qkx2_quants} ({@link GgmlKQuantizers#scaleMin}) for the eight 32-weight sub-blocks of a Q4_K or
 * Q5_K super-block at once (and {@code make_qx_quants} for eight of a Q6_K super-block's sixteen, {@link
 * #symmetric8}), one sub-block per float lane. Each lane runs the scalar search's float operations in the scalar
 * order (a lanewise IEEE operation gives each lane the scalar operation's bits; Java never fuses a multiply and an
 * add), and its branches become masks, so every lane ends with the scalar search's scale, min and levels. The search
 * is chains of dependent float sums, one pass per candidate scale; eight sub-blocks side by side keep the core busy
 * where one sub-block waits on each add.
 */
final class KQuantLanes {
    private KQuantLanes() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

    /** Sub-blocks per call: one per lane. */
    static final int LANES = 8;

    /** Whether eight float lanes are one hardware vector here (else the scalar search runs). */
    static final boolean ENABLED = FloatVector.SPECIES_PREFERRED.length() >= LANES;

    /** The search's state between its passes, eight lanes each, at these offsets of a {@link #STATE}-float array. */
    private static final int MIN = 0,
            MAX = 8,
            SUM_W = 16,
            SUM_X = 24,
            BEST = 32,
            SCALE = 40,
            T_SCALE = 48,
            T_MIN = 56,
            ERR = 64,
            D = 72,
            STATE = 80;

    /**
     * The search over sub-blocks given transposed: weight i of sub-block j at {@code xt[8i + j]}, its importance at
     * {@code wt[8i + j]}, its level out at {@code lt[8i + j]} ({@code aux} scratch of the same size); sub-block j's
     * scale to {@code scale[j]} and its negated min to {@code negMin[j]}, as {@link GgmlKQuantizers#scaleMin} returns
     * them. Each pass over the 32 weights is a method of its own, its lanes handed on through a small array: as one
     * method the search passed C2's inlining node limit and its vector helpers were left out of line (and ran their
     * Java fallbacks).
     */
    static void scaleMin8(
            float[] xt,
            float[] wt,
            int nmax,
            float rmin,
            float rdelta,
            int nstep,
            int[] lt,
            int[] aux,
            float[] scale,
            float[] negMin) {
        float[] st = new float[STATE];
        stats(xt, wt, st);
        // Where max == min the scalar search returns scale 0, min and levels 0 at once. Here such a lane's iscale is
        // infinite and every iscale·(x - min) is NaN, so its levels are 0, its scale 1/∞ = 0, and with all its level
        // sums 0 its d is 0 and no candidate replaces them: the same result without a branch.
        first(xt, wt, nmax, lt, st);
        for (int is = 0; is <= nstep; is++) {
            candidate(xt, wt, nmax, rmin + rdelta * is + nmax, aux, st);
            keepBetter(lt, aux, st);
        }
        System.arraycopy(st, SCALE, scale, 0, LANES);
        FloatVector.fromArray(F, st, MIN).neg().intoArray(negMin, 0);
    }

    /** Each lane's min (raised to 0 where positive), max, Σw and Σw·x, summed in the scalar order. */
    private static void stats(float[] xt, float[] wt, float[] st) {
        FloatVector x0 = FloatVector.fromArray(F, xt, 0);
        FloatVector min = x0, max = x0, sumW = FloatVector.fromArray(F, wt, 0), sumX = sumW.mul(x0);
        for (int i = 1; i < 32; i++) {
            FloatVector x = FloatVector.fromArray(F, xt, LANES * i), w = FloatVector.fromArray(F, wt, LANES * i);
            min = min.blend(x, x.compare(VectorOperators.LT, min));
            max = max.blend(x, x.compare(VectorOperators.GT, max));
            sumW = sumW.add(w);
            sumX = sumX.add(w.mul(x));
        }
        min.blend(0f, min.compare(VectorOperators.GT, 0f)).intoArray(st, MIN);
        max.intoArray(st, MAX);
        sumW.intoArray(st, SUM_W);
        sumX.intoArray(st, SUM_X);
    }

    /** The first levels (iscale nmax / (max - min)) into lt, with their scale and weighted error. */
    private static void first(float[] xt, float[] wt, int nmax, int[] lt, float[] st) {
        FloatVector min = FloatVector.fromArray(F, st, MIN);
        FloatVector iscale = FloatVector.broadcast(F, (float) nmax)
                .div(FloatVector.fromArray(F, st, MAX).sub(min));
        FloatVector best = FloatVector.zero(F), s = FloatVector.broadcast(F, 1f).div(iscale);
        for (int i = 0; i < 32; i++) {
            FloatVector x = FloatVector.fromArray(F, xt, LANES * i), w = FloatVector.fromArray(F, wt, LANES * i);
            IntVector q = levels(iscale.mul(x.sub(min)), nmax);
            q.intoArray(lt, LANES * i);
            FloatVector diff = s.mul((FloatVector) q.convert(VectorOperators.I2F, 0))
                    .add(min)
                    .sub(x);
            best = best.add(w.mul(diff.mul(diff)));
        }
        best.intoArray(st, BEST);
        s.intoArray(st, SCALE);
    }

    /**
     * One candidate, iscale = num / (max - min): its levels into aux, its least-squares scale and min (min raised to
     * 0 with the scale refitted, as the scalar search does), d and the weighted error.
     */
    private static void candidate(float[] xt, float[] wt, int nmax, float num, int[] aux, float[] st) {
        FloatVector min = FloatVector.fromArray(F, st, MIN), zero = FloatVector.zero(F);
        FloatVector isc = FloatVector.broadcast(F, num)
                .div(FloatVector.fromArray(F, st, MAX).sub(min));
        FloatVector sumL = zero, sumL2 = zero, sumXL = zero;
        for (int i = 0; i < 32; i++) {
            FloatVector x = FloatVector.fromArray(F, xt, LANES * i), w = FloatVector.fromArray(F, wt, LANES * i);
            IntVector q = levels(isc.mul(x.sub(min)), nmax);
            q.intoArray(aux, LANES * i);
            FloatVector qf = (FloatVector) q.convert(VectorOperators.I2F, 0), wq = w.mul(qf);
            sumL = sumL.add(wq);
            sumL2 = sumL2.add(wq.mul(qf));
            sumXL = sumXL.add(wq.mul(x));
        }
        FloatVector sumW = FloatVector.fromArray(F, st, SUM_W), sumX = FloatVector.fromArray(F, st, SUM_X);
        FloatVector d = sumW.mul(sumL2).sub(sumL.mul(sumL));
        FloatVector thisScale = sumW.mul(sumXL).sub(sumX.mul(sumL)).div(d);
        FloatVector thisMin = sumL2.mul(sumX).sub(sumL.mul(sumXL)).div(d);
        VectorMask<Float> positive = thisMin.compare(VectorOperators.GT, 0f);
        thisMin = thisMin.blend(zero, positive);
        thisScale = thisScale.blend(sumXL.div(sumL2), positive);
        FloatVector err = zero;
        for (int i = 0; i < 32; i++) {
            FloatVector x = FloatVector.fromArray(F, xt, LANES * i), w = FloatVector.fromArray(F, wt, LANES * i);
            FloatVector q = (FloatVector) IntVector.fromArray(I, aux, LANES * i).convert(VectorOperators.I2F, 0);
            FloatVector diff = thisScale.mul(q).add(thisMin).sub(x);
            err = err.add(w.mul(diff.mul(diff)));
        }
        d.intoArray(st, D);
        thisScale.intoArray(st, T_SCALE);
        thisMin.intoArray(st, T_MIN);
        err.intoArray(st, ERR);
    }

    /** Where d > 0 and the candidate's error is below the best: its levels, scale, min and error kept. */
    private static void keepBetter(int[] lt, int[] aux, float[] st) {
        FloatVector err = FloatVector.fromArray(F, st, ERR), best = FloatVector.fromArray(F, st, BEST);
        VectorMask<Float> better = FloatVector.fromArray(F, st, D)
                .compare(VectorOperators.GT, 0f)
                .and(err.compare(VectorOperators.LT, best));
        if (!better.anyTrue()) return;
        VectorMask<Integer> take = better.cast(I);
        for (int i = 0; i < 32; i++) {
            IntVector.fromArray(I, lt, LANES * i)
                    .blend(IntVector.fromArray(I, aux, LANES * i), take)
                    .intoArray(lt, LANES * i);
        }
        best.blend(err, better).intoArray(st, BEST);
        FloatVector.fromArray(F, st, SCALE)
                .blend(FloatVector.fromArray(F, st, T_SCALE), better)
                .intoArray(st, SCALE);
        FloatVector.fromArray(F, st, MIN)
                .blend(FloatVector.fromArray(F, st, T_MIN), better)
                .intoArray(st, MIN);
    }

    /** The symmetric search's state: eight lanes each, at these offsets of a {@link #SYM_STATE}-float array. */
    private static final int S_MAX = 0, S_SCALE = 8, S_BEST = 16, S_LX = 24, S_L2 = 32, SYM_STATE = 40;

    /**
     * ggml's {@code make_qx_quants} with rmse_type 1 ({@link GgmlKQuantizers#symmetricScale}, Q6_K's search) for eight
     * 16-weight sub-blocks at once, one per lane, as {@link #scaleMin8} runs {@code make_qkx2_quants}: weight i of
     * sub-block j at {@code xt[8i + j]}, its level (stored + nmax) out at {@code lt[8i + j]} ({@code aux} scratch of
     * the same size), its scale to {@code scale[j]}.
     */
    static void symmetric8(float[] xt, int nmax, int[] lt, int[] aux, float[] scale) {
        float[] st = new float[SYM_STATE];
        VectorMask<Float> tiny = symmetricFirst(xt, nmax, lt, st);
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            symmetricCandidate(xt, nmax, -(nmax + 0.1f * is), aux, st);
            symmetricKeep(lt, aux, st);
        }
        // where the largest magnitude is below GROUP_MAX_EPS the scalar search returns scale 0 and stored levels 0 at
        // once
        FloatVector.fromArray(F, st, S_SCALE).blend(0f, tiny).intoArray(scale, 0);
        if (tiny.anyTrue()) {
            VectorMask<Integer> t = tiny.cast(I);
            for (int i = 0; i < 16; i++)
                IntVector.fromArray(I, lt, LANES * i).blend(0, t).intoArray(lt, LANES * i);
        }
    }

    /** Each lane's signed max (the first of largest magnitude), first levels into lt, scale and best; the tiny lanes. */
    private static VectorMask<Float> symmetricFirst(float[] xt, int nmax, int[] lt, float[] st) {
        FloatVector max = FloatVector.zero(F), amax = max;
        for (int i = 0; i < 16; i++) {
            FloatVector x = FloatVector.fromArray(F, xt, LANES * i), ax = x.abs();
            VectorMask<Float> larger = ax.compare(VectorOperators.GT, amax);
            amax = amax.blend(ax, larger);
            max = max.blend(x, larger);
        }
        max.intoArray(st, S_MAX);
        symmetricCandidate(xt, nmax, -nmax, lt, st); // the first levels, iscale -nmax / max, straight into lt
        FloatVector sumLX = FloatVector.fromArray(F, st, S_LX), sumL2 = FloatVector.fromArray(F, st, S_L2);
        FloatVector s = sumLX.div(sumL2).blend(0f, sumL2.compare(VectorOperators.EQ, 0f));
        s.intoArray(st, S_SCALE);
        s.mul(sumLX).intoArray(st, S_BEST);
        return amax.compare(VectorOperators.LT, 1e-15f);
    }

    /** One candidate, iscale = num / max: its levels (stored + nmax) into aux, Σw·x·q and Σw·q² with w = x². */
    private static void symmetricCandidate(float[] xt, int nmax, float num, int[] aux, float[] st) {
        FloatVector iscale = FloatVector.broadcast(F, num).div(FloatVector.fromArray(F, st, S_MAX));
        FloatVector sumLX = FloatVector.zero(F), sumL2 = sumLX;
        for (int i = 0; i < 16; i++) {
            FloatVector x = FloatVector.fromArray(F, xt, LANES * i);
            IntVector q = symmetricLevels(iscale.mul(x), nmax);
            q.add(nmax).intoArray(aux, LANES * i);
            FloatVector qf = (FloatVector) q.convert(VectorOperators.I2F, 0), w = x.mul(x);
            sumLX = sumLX.add(w.mul(x).mul(qf));
            sumL2 = sumL2.add(w.mul(qf).mul(qf));
        }
        sumLX.intoArray(st, S_LX);
        sumL2.intoArray(st, S_L2);
    }

    /** Where Σw·q² > 0 and (Σw·x·q)² > best·Σw·q²: the candidate's levels, scale Σw·x·q / Σw·q² and best kept. */
    private static void symmetricKeep(int[] lt, int[] aux, float[] st) {
        FloatVector sumLX = FloatVector.fromArray(F, st, S_LX), sumL2 = FloatVector.fromArray(F, st, S_L2);
        FloatVector best = FloatVector.fromArray(F, st, S_BEST);
        VectorMask<Float> better = sumL2.compare(VectorOperators.GT, 0f)
                .and(sumLX.mul(sumLX).compare(VectorOperators.GT, best.mul(sumL2)));
        if (!better.anyTrue()) return;
        VectorMask<Integer> take = better.cast(I);
        for (int i = 0; i < 16; i++) {
            IntVector.fromArray(I, lt, LANES * i)
                    .blend(IntVector.fromArray(I, aux, LANES * i), take)
                    .intoArray(lt, LANES * i);
        }
        FloatVector s = sumLX.div(sumL2);
        FloatVector.fromArray(F, st, S_SCALE).blend(s, better).intoArray(st, S_SCALE);
        best.blend(s.mul(sumLX), better).intoArray(st, S_BEST);
    }

    /**
     * max(-nmax, min(nmax - 1, nearest(t))) as the scalar search rounds. Here |t| ≤ nmax + 0.9 (every |x| is at most
     * |max|) wherever the lane is kept, so ggml's 1.5·2²³ rounding add is exact without holding t first.
     */
    private static IntVector symmetricLevels(FloatVector t, int nmax) {
        IntVector q = t.add(12582912f).reinterpretAsInts().and(0x007fffff).sub(0x00400000);
        return q.max(-nmax).min(nmax - 1);
    }

    /**
     * max(0, min(nmax, nearest(t))) as the scalar search rounds ({@link GgmlKQuants#nearestInt}: to nearest, ties to
     * even; NaN to 0). t is first held to [-1, nmax + 1], which changes no clamped result, and there ggml's 1.5·2²³
     * rounding add gives the nearest integer exactly.
     */
    private static IntVector levels(FloatVector t, int nmax) {
        FloatVector held = t.max(-1f).min(nmax + 1f);
        IntVector q = held.add(12582912f).reinterpretAsInts().and(0x007fffff).sub(0x00400000);
        return q.max(0).min(nmax);
    }
}
