package dev.panthera.simd;

import dev.panthera.tensor.UnaryOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * What a product adds to C as it writes its result: a bias row ({@code bias[j]} for every row, unit stride from
 * element {@code biasOff}) and/or a residual matrix ({@code res[i][j]} at element {@code resOff + i·ldr + j}), either
 * segment null when absent, then an elementwise {@code activation} (null: none). Each element becomes
 * act((product + bias) + residual), every sum rounded to float and the activation the backend's own unary kernel, which
 * is what a product followed by two separate adds and the unary op gives; the packed GEMM applies it to each tile after
 * its last depth block ({@link #finish}, while the tile is in cache; the activation over each row block after its
 * tiles, {@link #activate}), every other product path to the whole result afterwards ({@link #apply}).
 */
record GemmEpilogue(MemorySegment bias, long biasOff, MemorySegment res, long resOff, int ldr, UnaryOp activation) {
    private static final VectorSpecies<Float> F = PackedGemm.F;
    private static final int V = F.length(), NR = PackedGemm.NR;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /**
     * C tile = tile + bias + residual ({@code add}: C tile + tile first) for the first mr rows and nr columns of a
     * scratch tile of NR-float rows; C's tile at element cTile is row i0, column j0 of C. The activation is left to
     * {@link #activate}.
     */
    void finish(float[] tile, MemorySegment c, long cTile, int ldc, int mr, int nr, boolean add, int i0, int j0) {
        if (nr == NR) {
            FloatVector b0 = null, b1 = null;
            if (bias != null) {
                b0 = FloatVector.fromMemorySegment(F, bias, (biasOff + j0) * 4, NO);
                b1 = FloatVector.fromMemorySegment(F, bias, (biasOff + j0 + V) * 4, NO);
            }
            for (int i = 0; i < mr; i++) {
                long row = (cTile + (long) i * ldc) * 4;
                FloatVector v0 = FloatVector.fromArray(F, tile, i * NR),
                        v1 = FloatVector.fromArray(F, tile, i * NR + V);
                if (add) {
                    v0 = FloatVector.fromMemorySegment(F, c, row, NO).add(v0);
                    v1 = FloatVector.fromMemorySegment(F, c, row + V * 4L, NO).add(v1);
                }
                if (b0 != null) {
                    v0 = v0.add(b0);
                    v1 = v1.add(b1);
                }
                if (res != null) {
                    long r = (resOff + (long) (i0 + i) * ldr + j0) * 4;
                    v0 = v0.add(FloatVector.fromMemorySegment(F, res, r, NO));
                    v1 = v1.add(FloatVector.fromMemorySegment(F, res, r + V * 4L, NO));
                }
                v0.intoMemorySegment(c, row, NO);
                v1.intoMemorySegment(c, row + V * 4L, NO);
            }
        } else {
            for (int i = 0; i < mr; i++) {
                long row = cTile + (long) i * ldc;
                for (int j = 0; j < nr; j++) {
                    float v = tile[i * NR + j];
                    if (add) v = c.getAtIndex(FL, row + j) + v;
                    c.setAtIndex(FL, row + j, element(v, i0 + i, j0 + j));
                }
            }
        }
    }

    /**
     * The activation over C's mr×nr block at element off, in place, row by row through the unary kernel: a call of
     * its own per row, so none of the activation's vector code is inlined here (GELU's and SiLU's exp would take this
     * method past C2's inlining budget, as FloatKernels' row loops note). The packed GEMM calls it once per row block
     * after {@link #finish} has written all of the block's tiles (still in L2), so each call covers a long row.
     */
    void activate(MemorySegment c, long off, int ldc, int mr, int nr) {
        if (activation == null) return;
        for (int i = 0; i < mr; i++) {
            long row = off + (long) i * ldc;
            FloatKernels.unaryRow(activation, c, row, c, row, nr);
        }
    }

    /** C[i][j] = act(C[i][j] + bias + residual) for the m×n result at element cOff (leading dimension ldc). */
    void apply(MemorySegment c, long cOff, int ldc, int m, int n) {
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            int j = 0;
            for (; j + V <= n; j += V) {
                FloatVector v = FloatVector.fromMemorySegment(F, c, (row + j) * 4, NO);
                if (bias != null) v = v.add(FloatVector.fromMemorySegment(F, bias, (biasOff + j) * 4, NO));
                if (res != null)
                    v = v.add(FloatVector.fromMemorySegment(F, res, (resOff + (long) i * ldr + j) * 4, NO));
                v.intoMemorySegment(c, (row + j) * 4, NO);
            }
            for (; j < n; j++) c.setAtIndex(FL, row + j, element(c.getAtIndex(FL, row + j), i, j));
        }
        activate(c, cOff, ldc, m, n);
    }

    /** One element: v + bias[j] + res[i][j], in that order. */
    private float element(float v, int i, int j) {
        if (bias != null) v = v + bias.getAtIndex(FL, biasOff + j);
        if (res != null) v = v + res.getAtIndex(FL, resOff + (long) i * ldr + j);
        return v;
    }
}
