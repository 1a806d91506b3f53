package dev.panthera.simd;

import dev.panthera.tensor.spi.FusedKernels.AdamWStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fused AdamW update ({@link dev.panthera.tensor.spi.FusedKernels#adamw}) in lanes, straight from and to the four
 * segments: float lanes where the op sequence rounds in float, and double lanes of the same count (eight floats
 * widened to eight doubles at 512 bits, four to four at 256) where it computes in float64, with the same operations
 * in the same order and no fused multiply-add, so every element comes out with the sequence's bits. Chunks of
 * elements run on GEMM's threads; each writes only its own elements, so any split gives the same bits.
 *
 * <p>One pass reads four arrays and writes three. Beside a scalar loop over heap copies of each chunk (nn's fallback
 * for backends without this kernel), this form skips the copies and divides a vector of lanes at a time, where that
 * loop was bound by one float64 division per element.
 */
final class AdamWLanes {
    private AdamWLanes() {}

    private static final VectorSpecies<Double> D = Lanes.D;
    private static final VectorSpecies<Float> FD = Lanes.H;
    private static final int L = D.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Elements per chunk handed to a thread. */
    private static final int CHUNK = 4096;

    /** About the floating-point operations of one element's update, the work figure for the thread hand-off. */
    private static final long FLOPS_PER_ELEMENT = 16;

    static void step(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n, AdamWStep h) {
        int chunks = Math.toIntExact((n + CHUNK - 1) / CHUNK);
        Sgemm.parallelRanges(chunks, n * FLOPS_PER_ELEMENT, 1, (c0, c1) -> {
            long from = (long) c0 * CHUNK, to = Math.min(n, (long) c1 * CHUNK);
            run(p, g, m, v, from, to, h);
        });
    }

    /** Elements [from, to): whole vectors of L, then one at a time. */
    static void run(
            MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long from, long to, AdamWStep h) {
        boolean decays = h.decay() != 1, nearM = Math.abs(h.w1()) < 0.5;
        float decayF = (float) h.decay(), beta2F = (float) h.beta2(), rootBc2F = (float) h.rootBc2();
        float epsF = (float) h.eps();
        double w1 = h.w1(), w1c = 1 - h.w1(), w2 = h.w2(), stepSize = h.stepSize();
        long i = from;
        for (; i + L <= to; i += L) {
            long at = i * Float.BYTES;
            FloatVector pf = FloatVector.fromMemorySegment(FD, p, at, NO);
            FloatVector x = decays ? pf.mul(decayF) : pf;
            DoubleVector gd = wide(FloatVector.fromMemorySegment(FD, g, at, NO));
            DoubleVector md = wide(FloatVector.fromMemorySegment(FD, m, at, NO));
            FloatVector mNew = narrow(
                    nearM ? md.add(gd.sub(md).mul(w1)) : gd.sub(gd.sub(md).mul(w1c)));
            DoubleVector vb = wide(FloatVector.fromMemorySegment(FD, v, at, NO).mul(beta2F));
            FloatVector vNew = narrow(vb.add(gd.mul(w2).mul(gd)));
            FloatVector d = vNew.sqrt().div(rootBc2F).add(epsF);
            DoubleVector step = wide(mNew).mul(stepSize).div(wide(d));
            narrow(wide(x).add(step)).intoMemorySegment(p, at, NO);
            mNew.intoMemorySegment(m, at, NO);
            vNew.intoMemorySegment(v, at, NO);
        }
        for (; i < to; i++) {
            float x = decays ? p.getAtIndex(FL, i) * decayF : p.getAtIndex(FL, i);
            float gi = g.getAtIndex(FL, i);
            double mi = m.getAtIndex(FL, i);
            float mNew = (float) (nearM ? mi + w1 * (gi - mi) : gi - (gi - mi) * w1c);
            float vNew = (float) ((double) (v.getAtIndex(FL, i) * beta2F) + w2 * gi * gi);
            float d = (float) Math.sqrt(vNew) / rootBc2F + epsF;
            p.setAtIndex(FL, i, (float) (x + stepSize * mNew / d));
            m.setAtIndex(FL, i, mNew);
            v.setAtIndex(FL, i, vNew);
        }
    }

    private static DoubleVector wide(FloatVector f) {
        return (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
    }

    private static FloatVector narrow(DoubleVector d) {
        return (FloatVector) d.convertShape(VectorOperators.D2F, FD, 0);
    }
}
