package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.UnaryOp;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * F32 row kernels on the preferred species: a row is {@code n} elements from an element offset with stride 1 (or
 * stride 0 for a broadcast operand). Tails use masked loads and stores, so every length is handled by one path.
 */
final class FloatKernels {
    private FloatKernels() {}

    static final VectorSpecies<Float> F = Lanes.F;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    // erfc by the Chebyshev fit of Numerical Recipes' erfcc (fractional error < 1.2e-7 for z ≥ 0):
    // erfc(z) = t·exp(−z² − 1.26551223 + t·(1.00002368 + t·(0.37409196 + ...))), t = 1/(1 + z/2); erfc(−z) = 2 −
    // erfc(z).
    // Relative accuracy in both tails is what GELU needs: x·Φ(x) = x·erfc(−x/√2)/2 is tiny for x ≪ 0.
    private static final float[] ERFC = {
        -1.26551223f,
        1.00002368f,
        0.37409196f,
        0.09678418f,
        -0.18628806f,
        0.27886807f,
        -1.13520398f,
        1.48851587f,
        -0.82215223f,
        0.17087277f
    };
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2)), SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    /** e^x per lane, the same bits interpreted and compiled ({@link VectorMath}); VectorMathTest pins its accuracy. */
    static FloatVector exp(FloatVector x) {
        return VectorMath.exp(x);
    }

    /** tanh per lane ({@link VectorMath}). */
    static FloatVector tanh(FloatVector x) {
        return VectorMath.tanh(x);
    }

    static FloatVector load(MemorySegment s, long elem, int i, int n) {
        if (i + F.length() <= n) return FloatVector.fromMemorySegment(F, s, (elem + i) * 4, NO);
        return FloatVector.fromMemorySegment(F, s, (elem + i) * 4, NO, F.indexInRange(i, n));
    }

    static void store(FloatVector v, MemorySegment s, long elem, int i, int n) {
        if (i + F.length() <= n) v.intoMemorySegment(s, (elem + i) * 4, NO);
        else v.intoMemorySegment(s, (elem + i) * 4, NO, F.indexInRange(i, n));
    }

    static FloatVector operand(MemorySegment s, long elem, int stride, int i, int n) {
        return stride == 0
                ? FloatVector.broadcast(F, s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, elem))
                : load(s, elem, i, n);
    }

    static FloatVector unary(UnaryOp op, FloatVector x) {
        return switch (op) {
            case NEG -> x.neg();
            case EXP -> exp(x);
            case LOG -> x.lanewise(VectorOperators.LOG);
            case SQRT -> x.sqrt();
            case RSQRT -> FloatVector.broadcast(F, 1f).div(x.sqrt());
            case ABS -> x.abs();
            case TANH -> tanh(x);
            case SIGMOID -> sigmoid(x);
            case RELU -> x.blend(FloatVector.zero(F), x.compare(VectorOperators.LT, 0f)); // NaN stays NaN
            case GELU_ERF -> geluErf(x);
            case GELU_TANH -> geluTanh(x);
            case SILU -> x.mul(sigmoid(x));
            case SIGN -> {
                FloatVector one = FloatVector.broadcast(F, 1f);
                FloatVector s = FloatVector.zero(F)
                        .blend(one, x.compare(VectorOperators.GT, 0f))
                        .blend(one.neg(), x.compare(VectorOperators.LT, 0f));
                yield s.blend(x, x.test(VectorOperators.IS_NAN));
            }
        };
    }

    /**
     * 1 / (1 + e^−x) with the float exp ({@link VectorMath#expFloat}, within 2⁻²³ relative): its error reaches the
     * result scaled by e^−x / (1 + e^−x) ≤ 1, so within 2⁻²³ relative plus the add's and the divide's roundings. Large
     * |x| saturate to 0 and 1; NaN stays NaN.
     */
    private static FloatVector sigmoid(FloatVector x) {
        return FloatVector.broadcast(F, 1f).div(VectorMath.expFloat(x.neg()).add(1f));
    }

    /**
     * erfc per lane with fractional error below about 1.2e-7 (plus float rounding); NaN stays NaN. erfc(−z) =
     * 2 − erfc(z). {@link #geluErf} runs the same fit around the float exp.
     */
    static FloatVector erfc(FloatVector z) {
        FloatVector az = z.abs(), t = az.broadcast(1f).div(az.mul(0.5f).add(1f));
        FloatVector poly = t.broadcast(ERFC[9]);
        for (int i = 8; i >= 0; i--) poly = poly.mul(t).add(ERFC[i]);
        FloatVector r = t.mul(exp(az.mul(az).neg().add(poly)));
        return r.blend(r.broadcast(2f).sub(r), z.compare(VectorOperators.LT, 0f));
    }

    /** erf = 1 − erfc. */
    static FloatVector erf(FloatVector x) {
        return FloatVector.broadcast(F, 1f).sub(erfc(x));
    }

    static FloatVector binary(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case POW -> pow(a, b);
            case MAXIMUM -> nanIfEither(a, b, a.max(b));
            case MINIMUM -> nanIfEither(a, b, a.min(b));
            case EQ, NE, LT, LE, GT, GE ->
                throw new IllegalArgumentException("comparison " + op + " is not a float result");
        };
    }

    /**
     * Java's {@link Math#pow} rules, which the reference follows, where the Vector API's POW once compiled by C2
     * gives C's: NaN when the exponent is NaN (C: pow(1, NaN) = 1), when the base is NaN and the exponent is not ±0,
     * and when |base| = 1 and the exponent is infinite (C: 1).
     */
    private static FloatVector pow(FloatVector a, FloatVector b) {
        VectorMask<Float> nan = b.test(VectorOperators.IS_NAN)
                .or(a.test(VectorOperators.IS_NAN).and(b.compare(VectorOperators.NE, 0f)))
                .or(a.abs().compare(VectorOperators.EQ, 1f).and(b.test(VectorOperators.IS_INFINITE)));
        return a.lanewise(VectorOperators.POW, b).blend(FloatVector.broadcast(F, Float.NaN), nan);
    }

    private static FloatVector nanIfEither(FloatVector a, FloatVector b, FloatVector r) {
        VectorMask<Float> nan = a.test(VectorOperators.IS_NAN).or(b.test(VectorOperators.IS_NAN));
        return r.blend(FloatVector.broadcast(F, Float.NaN), nan);
    }

    /**
     * dst[i] = op(src[i]) for a row of n. The ops training runs most have a loop of their own with the vector op
     * written in it: through {@link #unary}, which C2 compiles apart once it is large, the vector reaches the store
     * as an object of unknown class, and the store then takes the Vector API's scalar fallback.
     */
    /**
     * dst[i] = op(src[i]) over a contiguous row. The ops built on exp each have a loop method of their own: C2
     * compiles each with its own inlining budget, where one method holding every loop ran out of it
     * (NodeCountInliningCutoff) and left exp as a call that boxes its vectors; no vector crosses these calls. The
     * loops here and in the binary rows load through the Vector API directly: C2 inlines its force-inline methods
     * past that budget, but not a helper of ours (a one-line loader left as a call returned every vector boxed).
     */
    static void unaryRow(UnaryOp op, MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int w = F.length();
        switch (op) {
            case NEG -> {
                int i = 0, end = F.loopBound(n);
                for (; i < end; i += w)
                    FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO)
                            .neg()
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
                if (i < n) store(load(src, so, i, n).neg(), dst, dO, i, n);
            }
            case SQRT -> {
                int i = 0, end = F.loopBound(n);
                for (; i < end; i += w)
                    FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO)
                            .sqrt()
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
                if (i < n) store(load(src, so, i, n).sqrt(), dst, dO, i, n);
            }
            case EXP -> expRow(src, so, dst, dO, n);
            case SIGMOID -> sigmoidRow(src, so, dst, dO, n);
            case SILU -> siluRow(src, so, dst, dO, n);
            case GELU_ERF -> geluErfRow(src, so, dst, dO, n);
            case TANH -> tanhRow(src, so, dst, dO, n);
            case GELU_TANH -> geluTanhRow(src, so, dst, dO, n);
            default -> {
                for (int i = 0; i < n; i += w) store(unary(op, load(src, so, i, n)), dst, dO, i, n);
            }
        }
    }

    // The loops below call nothing of ours after exp: C2 stops inlining our methods once exp's two inlined
    // double-lane halves have used up its node budget, so a store helper there stayed a call with a boxed vector.
    // Each loop's masked tail holds a second exp, which may stay a call: once per row.

    private static void expRow(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w)
            exp(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO)).intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            exp(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO, m)).intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    private static void sigmoidRow(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w)
            sigmoid(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO)).intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            sigmoid(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO, m))
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    static void siluRow(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w) {
            FloatVector x = FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO);
            x.mul(sigmoid(x)).intoMemorySegment(dst, (dO + i) * 4, NO);
        }
        if (i < n) siluTail(src, so, dst, dO, i, n);
    }

    /**
     * {@link #siluRow}'s last, partial vector, a method of its own: as a second inlined copy of the exp beside the
     * loop's, it passed C2's node budget in a standalone compile of the row and was left as a call whose vectors went
     * through the heap (a few hundred bytes of garbage per row whose length is not a multiple of the lanes).
     */
    private static void siluTail(MemorySegment src, long so, MemorySegment dst, long dO, int i, int n) {
        VectorMask<Float> m = F.indexInRange(i, n);
        FloatVector x = FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO, m);
        x.mul(sigmoid(x)).intoMemorySegment(dst, (dO + i) * 4, NO, m);
    }

    /**
     * GELU (erf) rows at full width through {@link #geluErf}, which C2 inlines here together with its exp (a warm
     * BERT forward's JFR samples show no frames of their own). The double exp it replaced did not fit: an erfc call
     * here once stayed out of line after C2 had compiled it standalone, and every vector then went through the heap.
     */
    private static void geluErfRow(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w)
            geluErf(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO)).intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            geluErf(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO, m))
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    /**
     * GELU(x) = x/2 · erfc(−x/√2) in float arithmetic: erfc's fit (fractional error below 1.2e-7; its polynomial in
     * FMA steps) around {@link VectorMath#expFloat}, so the negative tail keeps its relative accuracy down to the
     * subnormals. About half the time of the fit around the double exp at half width (ActivationBench).
     */
    static FloatVector geluErf(FloatVector x) {
        FloatVector z = x.mul(-INV_SQRT2), az = z.abs();
        FloatVector t = az.broadcast(1f).div(az.mul(0.5f).add(1f));
        FloatVector poly = t.broadcast(ERFC[9]);
        for (int k = 8; k >= 0; k--) poly = poly.fma(t, t.broadcast(ERFC[k]));
        FloatVector r = t.mul(VectorMath.expFloat(az.mul(az).neg().add(poly)));
        r = r.blend(r.broadcast(2f).sub(r), z.compare(VectorOperators.LT, 0f));
        return x.mul(0.5f).mul(r);
    }

    private static void tanhRow(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w)
            tanh(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO)).intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            tanh(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO, m))
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    private static void geluTanhRow(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w) {
            FloatVector x = FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO);
            geluTanh(x).intoMemorySegment(dst, (dO + i) * 4, NO);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            geluTanh(FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO, m))
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    private static FloatVector geluTanh(FloatVector x) {
        FloatVector inner = x.mul(x).mul(x).mul(0.044715f).add(x).mul(SQRT_2_OVER_PI);
        return x.mul(0.5f).mul(tanh(inner).add(1f));
    }

    /** dst[i] = a[i·sa] op b[i·sb] with sa, sb ∈ {0, 1}. */
    static void binaryRow(
            BinaryOp op,
            MemorySegment a,
            long ao,
            int sa,
            MemorySegment b,
            long bo,
            int sb,
            MemorySegment dst,
            long dO,
            int n) {
        if (n <= 0) return;
        // A broadcast operand is read once per row, not once per vector (a scalar read of a segment checks that its
        // scope is alive on every call). Each case is a loop of its own: a vector that is either a loaded one or a
        // possibly-null broadcast (one loop for all cases) is a phi C2 cannot unbox, so it allocated every loaded
        // vector on the heap.
        if (sa != 0 && sb != 0) {
            denseRow(op, a, ao, b, bo, dst, dO, n);
        } else if (sb != 0) {
            constantFirstRow(op, operand(a, ao, 0, 0, n), b, bo, dst, dO, n);
        } else if (sa != 0) {
            constantSecondRow(op, a, ao, operand(b, bo, 0, 0, n), dst, dO, n);
        } else {
            FloatVector r = binary(op, operand(a, ao, 0, 0, n), operand(b, bo, 0, 0, n));
            for (int i = 0; i < n; i += F.length()) store(r, dst, dO, i, n);
        }
    }

    /**
     * Both operands contiguous; the four arithmetic ops have methods of their own, for the reason unaryRow gives and
     * so that each compiles alone and small: one method holding every op's loop was compiled, and recompiled, whole
     * in a model's first steps, on the compiler thread the other kernels wait for (BENCHMARKS.md, a short generation
     * from a cold process).
     */
    private static void denseRow(
            BinaryOp op, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        switch (op) {
            case ADD -> addRow(a, ao, b, bo, dst, dO, n);
            case SUB -> subRow(a, ao, b, bo, dst, dO, n);
            case MUL -> mulRow(a, ao, b, bo, dst, dO, n);
            case DIV -> divRow(a, ao, b, bo, dst, dO, n);
            default -> otherRow(op, a, ao, b, bo, dst, dO, n);
        }
    }

    static void addRow(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        int w = F.length(), end = F.loopBound(n), i = 0;
        for (; i < end; i += w)
            FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                    .add(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) store(load(a, ao, i, n).add(load(b, bo, i, n)), dst, dO, i, n);
    }

    private static void subRow(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        int w = F.length(), end = F.loopBound(n), i = 0;
        for (; i < end; i += w)
            FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                    .sub(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) store(load(a, ao, i, n).sub(load(b, bo, i, n)), dst, dO, i, n);
    }

    static void mulRow(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        int w = F.length(), end = F.loopBound(n), i = 0;
        for (; i < end; i += w)
            FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                    .mul(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) store(load(a, ao, i, n).mul(load(b, bo, i, n)), dst, dO, i, n);
    }

    private static void divRow(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        int w = F.length(), end = F.loopBound(n), i = 0;
        for (; i < end; i += w)
            FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                    .div(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) store(load(a, ao, i, n).div(load(b, bo, i, n)), dst, dO, i, n);
    }

    private static void otherRow(
            BinaryOp op, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        int w = F.length(), end = F.loopBound(n), i = 0;
        for (; i < end; i += w)
            binary(
                            op,
                            FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO),
                            FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) store(binary(op, load(a, ao, i, n), load(b, bo, i, n)), dst, dO, i, n);
    }

    /**
     * dst[i] = c op b[i], c one value in every lane. Full vectors and the masked tail in separate loops, the four
     * arithmetic ops each in its own, as in {@link #denseRow}: in one loop through {@code load}'s two paths and
     * {@code binary}'s switch C2 left both out of line, and every vector they returned was boxed on the heap.
     */
    private static void constantFirstRow(
            BinaryOp op, FloatVector c, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        int w = F.length(), end = F.loopBound(n), i = 0;
        switch (op) {
            case ADD -> {
                for (; i < end; i += w)
                    c.add(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            case SUB -> {
                for (; i < end; i += w)
                    c.sub(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            case MUL -> {
                for (; i < end; i += w)
                    c.mul(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            case DIV -> {
                for (; i < end; i += w)
                    c.div(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            default -> {
                for (; i < end; i += w)
                    binary(op, c, FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
        }
        if (i < n) store(binary(op, c, load(b, bo, i, n)), dst, dO, i, n);
    }

    /** dst[i] = a[i] op c, c one value in every lane; loops as in {@link #constantFirstRow}. */
    private static void constantSecondRow(
            BinaryOp op, MemorySegment a, long ao, FloatVector c, MemorySegment dst, long dO, int n) {
        int w = F.length(), end = F.loopBound(n), i = 0;
        switch (op) {
            case ADD -> {
                for (; i < end; i += w)
                    FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                            .add(c)
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            case SUB -> {
                for (; i < end; i += w)
                    FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                            .sub(c)
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            case MUL -> {
                for (; i < end; i += w)
                    FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                            .mul(c)
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            case DIV -> {
                for (; i < end; i += w)
                    FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                            .div(c)
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
            default -> {
                for (; i < end; i += w)
                    binary(op, FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO), c)
                            .intoMemorySegment(dst, (dO + i) * 4, NO);
            }
        }
        if (i < n) store(binary(op, load(a, ao, i, n), c), dst, dO, i, n);
    }

    static float sumRow(MemorySegment s, long o, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + F.length() <= n; i += F.length())
            acc = acc.add(FloatVector.fromMemorySegment(F, s, (o + i) * 4, NO));
        float r = LaneSum.sum(acc);
        for (; i < n; i++) r += s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, o + i);
        return r;
    }

    /** Max (or min) of a row, NaN if any element is NaN. */
    static float extremeRow(MemorySegment s, long o, int n, boolean max) {
        FloatVector acc = FloatVector.broadcast(F, max ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
        VectorMask<Float> nan = F.maskAll(false);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector v = FloatVector.fromMemorySegment(F, s, (o + i) * 4, NO);
            nan = nan.or(v.test(VectorOperators.IS_NAN));
            acc = max ? acc.max(v) : acc.min(v);
        }
        float r = acc.reduceLanes(max ? VectorOperators.MAX : VectorOperators.MIN);
        boolean anyNaN = nan.anyTrue();
        for (; i < n; i++) {
            float v = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, o + i);
            anyNaN |= Float.isNaN(v);
            r = max ? Math.max(r, v) : Math.min(r, v);
        }
        return anyNaN ? Float.NaN : r;
    }

    /** Σ (x − mean)² of a row. */
    static float sumSquaredDeviation(MemorySegment s, long o, int n, float mean) {
        FloatVector mv = FloatVector.broadcast(F, mean), acc = FloatVector.zero(F);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector d = FloatVector.fromMemorySegment(F, s, (o + i) * 4, NO).sub(mv);
            acc = d.fma(d, acc);
        }
        float r = LaneSum.sum(acc);
        for (; i < n; i++) {
            float d = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, o + i) - mean;
            r += d * d;
        }
        return r;
    }

    /** Layer norm (rms = false) or RMS norm of a contiguous row; weight/bias rows may be null. */
    static void normRow(
            MemorySegment x,
            long xo,
            MemorySegment w,
            long wo,
            MemorySegment b,
            long bo,
            float eps,
            MemorySegment dst,
            long dO,
            int n,
            boolean rms) {
        // the mean from a double-accumulated sum, so it is the float nearest the exact mean: a row of equal values
        // normalizes to exact zeros, and x − mean is off by at most half an ulp of the mean
        float mean = rms ? 0 : (float) (IndexKernels.sumRow(x, xo, n) / n);
        FloatVector mv = FloatVector.broadcast(F, mean);
        float inv = (float) (1.0 / Math.sqrt(sumSquaredDeviation(x, xo, n, mean) / n + eps));
        FloatVector iv = FloatVector.broadcast(F, inv);
        // full vectors in a loop that calls no helper of ours (a helper C2 leaves as a call takes its vector boxed),
        // the masked tail apart
        int i = 0, end = F.loopBound(n);
        for (; i < end; i += F.length()) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (xo + i) * 4, NO)
                    .sub(mv)
                    .mul(iv);
            if (w != null) v = v.mul(FloatVector.fromMemorySegment(F, w, (wo + i) * 4, NO));
            if (b != null) v = v.add(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO));
            v.intoMemorySegment(dst, (dO + i) * 4, NO);
        }
        if (i < n) {
            FloatVector v = load(x, xo, i, n).sub(mv).mul(iv);
            if (w != null) v = v.mul(load(w, wo, i, n));
            if (b != null) v = v.add(load(b, bo, i, n));
            store(v, dst, dO, i, n);
        }
    }
}
