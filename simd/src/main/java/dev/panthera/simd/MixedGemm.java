package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * GEMM with 16-bit weights and F32 activations: {@code C = alpha·op(A)·op(W) + beta·C}, A and C F32, W BF16 or F16,
 * all row-major with offsets and leading dimensions in elements; products are accumulated in F32. W is converted
 * to F32 in vector registers as it is read — streamed once on the skinny path (M &lt; 8, decode), converted while
 * packed on the blocked path — so no F32 copy of the weights is ever made. Threads as {@link GemmConfig#current()}.
 */
public final class MixedGemm {
    private MixedGemm() {}

    /**
     * {@code C = alpha·op(A)·op(W) + beta·C}: op(A) M×K (F32), op(W) K×N (16-bit), C M×N (F32). A PyTorch
     * {@code Linear} weight stored [out, in] is {@code transW = true}.
     *
     * @throws IllegalArgumentException for a negative size or a leading dimension below the row length
     * @throws IndexOutOfBoundsException when an operand reaches past its segment (checked before any access)
     */
    public static void gemm(
            DType type,
            boolean transA,
            boolean transW,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            MemorySegment w,
            long wOff,
            int ldw,
            float beta,
            MemorySegment c,
            long cOff,
            int ldc) {
        Objects.requireNonNull(type, "mixed gemm: weight type");
        if (type != DType.BF16 && type != DType.F16)
            throw new IllegalArgumentException("mixed gemm: weights must be BF16 or F16, got " + type);
        Sgemm.gemm(
                GemmConfig.current(),
                "mixed gemm (" + type + " weights)",
                type,
                transA,
                transW,
                m,
                n,
                k,
                alpha,
                a,
                aOff,
                lda,
                w,
                wOff,
                ldw,
                beta,
                c,
                cOff,
                ldc);
    }

    /**
     * Matrix–vector product {@code y = x·op(W)}: x holds K floats, y receives N floats, op(W) is K×N. With
     * {@code transW} W is stored [N, K] (one row per output, as a {@code Linear} layer keeps it).
     */
    public static void gemv(
            DType type,
            boolean transW,
            int n,
            int k,
            MemorySegment x,
            long xOff,
            MemorySegment w,
            long wOff,
            int ldw,
            MemorySegment y,
            long yOff) {
        gemm(type, false, transW, 1, n, k, 1f, x, xOff, Math.max(1, k), w, wOff, ldw, 0f, y, yOff, Math.max(1, n));
    }
}
