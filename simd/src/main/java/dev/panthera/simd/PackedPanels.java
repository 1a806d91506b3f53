package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.spi.PackedOperand;
import java.lang.foreign.MemorySegment;

/**
 * A constant GEMM operand B (K×N; F32, BF16 or F16, stored as is or transposed) cut once into the F32 panels
 * {@link PackedGemm}'s micro-kernel reads: for every column block jc (multiples of NC) and depth block pc (multiples of
 * KC), the KC×NR slivers {@link PackedGemm#packB} would make on each call, at this machine's block sizes. Costs
 * 4 bytes per weight (K·N·4 plus the last sliver of each column block padded to NR columns): as much again as an F32
 * weight, twice a 16-bit one. Immutable once made; the arrays are read by any number of threads.
 */
final class PackedPanels implements PackedOperand {
    private final int k, n, colBlocks, depthBlocks;
    private final float[][] panels;
    private final long bytes;

    private PackedPanels(int k, int n, float[][] panels, int colBlocks, int depthBlocks) {
        this.k = k;
        this.n = n;
        this.panels = panels;
        this.colBlocks = colBlocks;
        this.depthBlocks = depthBlocks;
        long b = 0;
        for (float[] p : panels) b += 4L * p.length;
        this.bytes = b;
    }

    /**
     * Packs op(B), K×N: B at {@code bOff} (elements) with leading dimension {@code ldb}, stored [K, N] or, with
     * {@code tb}, [N, K]; null when its panels do not fit in the {@link PackBudget} (the weight then stays unpacked).
     */
    static PackedPanels pack(DType kind, boolean tb, int k, int n, MemorySegment b, long bOff, int ldb) {
        if (kind != DType.F32 && kind != DType.BF16 && kind != DType.F16)
            throw new IllegalArgumentException("packed gemm: B must be F32, BF16 or F16, got " + kind);
        if (k < 1 || n < 1) throw new IllegalArgumentException("packed gemm: empty B " + k + " x " + n);
        long last = bOff + (long) ((tb ? n : k) - 1) * ldb + (tb ? k : n);
        if (bOff < 0 || ldb < (tb ? k : n) || last * kind.byteSize() > b.byteSize())
            throw new IndexOutOfBoundsException("packed gemm: B [" + k + " x " + n + (tb ? ", transposed" : "")
                    + ", ld " + ldb + ", offset " + bOff + "] reaches past its segment of " + b.byteSize() + " bytes");
        int nr = PackedGemm.NR, nc = PackedGemm.NC, kc = PackedGemm.KC;
        int cols = (n + nc - 1) / nc, depths = (k + kc - 1) / kc;
        long bytes = 0;
        for (int jb = 0; jb < cols; jb++) bytes += 4L * k * ((Math.min(nc, n - jb * nc) + nr - 1) / nr * nr);
        if (!PackBudget.reserve(bytes, k, n)) return null;
        float[][] panels;
        try {
            panels = new float[cols * depths][];
            for (int jb = 0; jb < cols; jb++) {
                int jc = jb * nc, w = Math.min(nc, n - jc), padded = (w + nr - 1) / nr * nr;
                for (int pb = 0; pb < depths; pb++) {
                    int pc = pb * kc, d = Math.min(kc, k - pc);
                    float[] p = new float[d * padded];
                    GemmPacking.packB(kind, tb, b, bOff, ldb, pc, d, jc, w, p);
                    panels[jb * depths + pb] = p;
                }
            }
        } catch (RuntimeException | Error e) {
            PackBudget.release(bytes);
            throw e;
        }
        PackedPanels packed = new PackedPanels(k, n, panels, cols, depths);
        long held = packed.bytes;
        PackBudget.releaseWhenCollected(packed, held);
        return packed;
    }

    /** The slivers of column block {@code jb} (columns jb·NC onwards) and depth block {@code pb}. */
    float[] panel(int jb, int pb) {
        return panels[jb * depthBlocks + pb];
    }

    int k() {
        return k;
    }

    int n() {
        return n;
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    @Override
    public String toString() {
        return "PackedPanels[" + k + " x " + n + ", " + colBlocks + " x " + depthBlocks + " panels]";
    }
}
