package dev.panthera.nn.optim;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.FusedKernels.AdamWStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@link AdamW}'s update of one parameter in a single pass over p, g, m and v when all four are dense F32 tensors in
 * host memory, instead of the eight passes (and one temporary) of the tensor-op sequence. Every element goes through
 * the same roundings as that sequence, in the same order, so the two give the same bits:
 *
 * <ol>
 *   <li>p ← p ·f (1 − lr·wd) (F32 product with the factor rounded to F32, as {@code p.mul_(factor)});
 *   <li>m ← lerp(m, g, 1 − β1) in float64, rounded once ({@code m.lerp_});
 *   <li>v ← v ·f β2 (F32), then v ← v + (1 − β2)·g·g in float64, rounded once ({@code v.mul_.addcmul_});
 *   <li>d ← √v (F32), d ← d /f √bc2, d ← d +f ε (F32 with the scalars rounded to F32: {@code sqrt().div_().add_()});
 *   <li>p ← p + (−lr/bc1)·m/d in float64, rounded once ({@code p.addcdiv_}).
 * </ol>
 *
 * A backend that offers this update as a fused kernel ({@link FusedKernels#adamw}, as the Vector API backend does)
 * runs it. Otherwise ({@link #onHeap}) elements are copied to the heap a chunk at a time, so the loop reads arrays
 * instead of checking a segment's scope (is it still alive, is this thread allowed) on each access; the chunks run on
 * the threads of the tensors' backend ({@link dev.panthera.tensor.spi.Backend#parallelRanges}): the update streams
 * four arrays and writes three, and a second thread brings its own share of the memory bandwidth. Any other case
 * (another dtype or device, a strided view, a gradient in the parameter's own storage) is left to the tensor ops.
 */
final class AdamWKernel {
    private AdamWKernel() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int CHUNK = 2048;
    /** About the floating-point operations of one element's update, the work figure for the thread hand-off. */
    private static final long FLOPS_PER_ELEMENT = 16;

    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[4][CHUNK]);

    /** Whether {@link #step} applies to these tensors. */
    static boolean applies(Tensor p, Tensor g, Tensor m, Tensor v) {
        for (Tensor t : new Tensor[] {p, g, m, v}) {
            if (t.dtype() != DType.F32 || t.device().kind() != Device.Kind.CPU || !t.isContiguous()) return false;
            if (!t.shape().equals(p.shape())) return false;
        }
        return g.storage() != p.storage() && g.storage() != m.storage() && g.storage() != v.storage();
    }

    /** One update, in place, of p, m and v from g (see the class comment), with the scalars of {@code s}. */
    static void step(Tensor p, Tensor g, Tensor m, Tensor v, AdamWStep s) {
        FusedKernels fused = Backends.forDevice(p.device()).fused();
        if (fused != null && fused.supports(FusedKernels.Kernel.ADAMW, DType.F32)) {
            fused.adamw(
                    p.storage(),
                    p.layout().offset(),
                    g.storage(),
                    g.layout().offset(),
                    m.storage(),
                    m.layout().offset(),
                    v.storage(),
                    v.layout().offset(),
                    p.numel(),
                    s);
            return;
        }
        onHeap(p, g, m, v, s);
    }

    /** {@link #step} without the backend's kernel: a scalar loop over heap copies of each chunk. */
    static void onHeap(Tensor p, Tensor g, Tensor m, Tensor v, AdamWStep s) {
        long n = p.numel();
        MemorySegment sp = p.storage().segment(), sg = g.storage().segment();
        MemorySegment sm = m.storage().segment(), sv = v.storage().segment();
        long op = p.layout().offset(),
                og = g.layout().offset(),
                om = m.layout().offset(),
                ov = v.layout().offset();
        float decayF = (float) s.decay(), beta2F = (float) s.beta2(), rootBc2F = (float) s.rootBc2();
        float epsF = (float) s.eps();
        boolean decays = s.decay() != 1, nearM = Math.abs(s.w1()) < 0.5;
        double w1 = s.w1(), w1c = 1 - w1, w2 = s.w2(), stepSize = s.stepSize();
        int chunks = Math.toIntExact((n + CHUNK - 1) / CHUNK);
        // chunks on the backend's threads: each writes its own elements, so any split gives the same bits
        Backends.forDevice(p.device()).parallelRanges(chunks, n * FLOPS_PER_ELEMENT, (c0, c1) -> {
            float[][] buf = BUFFERS.get();
            float[] bp = buf[0], bg = buf[1], bm = buf[2], bv = buf[3];
            for (long from = (long) c0 * CHUNK, end = Math.min(n, (long) c1 * CHUNK); from < end; from += CHUNK) {
                int len = (int) Math.min(CHUNK, end - from);
                MemorySegment.copy(sp, F32, (op + from) * Float.BYTES, bp, 0, len);
                MemorySegment.copy(sg, F32, (og + from) * Float.BYTES, bg, 0, len);
                MemorySegment.copy(sm, F32, (om + from) * Float.BYTES, bm, 0, len);
                MemorySegment.copy(sv, F32, (ov + from) * Float.BYTES, bv, 0, len);
                for (int i = 0; i < len; i++) {
                    float x = decays ? bp[i] * decayF : bp[i];
                    float gi = bg[i];
                    double mi = bm[i];
                    float mNew = (float) (nearM ? mi + w1 * (gi - mi) : gi - (gi - mi) * w1c);
                    float vNew = (float) ((double) (bv[i] * beta2F) + w2 * gi * gi);
                    float d = (float) Math.sqrt(vNew) / rootBc2F + epsF;
                    bp[i] = (float) (x + stepSize * mNew / d);
                    bm[i] = mNew;
                    bv[i] = vNew;
                }
                MemorySegment.copy(bp, 0, sp, F32, (op + from) * Float.BYTES, len);
                MemorySegment.copy(bm, 0, sm, F32, (om + from) * Float.BYTES, len);
                MemorySegment.copy(bv, 0, sv, F32, (ov + from) * Float.BYTES, len);
            }
        });
    }
}
