package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PackedGemm}'s register-tiled micro-kernels and their C-tile updates: {@link #kernel} over one MR-row A
 * sliver, {@link #kernel2} over two adjacent ones (16 lanes only, {@link PackedGemm#ROWS}), {@link #kernelRows2} and
 * {@link #kernelRows4} over the first rows of a last sliver that holds only that many (a 128-row block is 21 slivers
 * and 2 rows), all against one NR-wide B sliver, leaving the product in a scratch tile that {@link #storeTile} or
 * {@link #addTile} writes to C.
 */
final class GemmKernels {
    private GemmKernels() {}

    private static final VectorSpecies<Float> F = PackedGemm.F;
    private static final int V = F.length(), MR = PackedGemm.MR, NR = PackedGemm.NR;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /**
     * {@link #kernel2} for a call of two slivers (rows above MR); for one sliver whose rows in use ({@code mr}, the
     * last sliver of a block may hold fewer than MR) are at most two or four, {@link #kernelRows2} or {@link
     * #kernelRows4}, which leave the padding rows' FMAs out; else {@link #kernel}. The other arguments as theirs.
     */
    static void kernel(
            int rows,
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            MemorySegment c,
            long cTile,
            int ldc,
            int mr,
            int nr,
            boolean store,
            float[] tile) {
        if (rows > MR) kernel2(kc, ap, ao, bp, bo, c, cTile, ldc, mr, nr, store, tile);
        else if (mr <= 2) kernelRows2(kc, ap, ao, bp, bo, c, cTile, ldc, mr, nr, store, tile);
        else if (mr <= 4) kernelRows4(kc, ap, ao, bp, bo, c, cTile, ldc, mr, nr, store, tile);
        else kernel(kc, ap, ao, bp, bo, c, cTile, ldc, mr, nr, store, tile);
    }

    /**
     * The 12×NR micro-kernel for 16 lanes: two adjacent MR-row slivers (the second kc·MR floats after the first) times
     * one B sliver, 24 accumulators and the two B vectors and a broadcast in 27 of the 32 vector registers; otherwise
     * as {@link #kernel}, each tile row summing the same products in the same order.
     */
    static void kernel2(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            MemorySegment c,
            long cTile,
            int ldc,
            int mr,
            int nr,
            boolean store,
            float[] tile) {
        FloatVector t0a = FloatVector.zero(F),
                t0b = FloatVector.zero(F),
                t1a = FloatVector.zero(F),
                t1b = FloatVector.zero(F);
        FloatVector t2a = FloatVector.zero(F),
                t2b = FloatVector.zero(F),
                t3a = FloatVector.zero(F),
                t3b = FloatVector.zero(F);
        FloatVector t4a = FloatVector.zero(F),
                t4b = FloatVector.zero(F),
                t5a = FloatVector.zero(F),
                t5b = FloatVector.zero(F);
        FloatVector t6a = FloatVector.zero(F),
                t6b = FloatVector.zero(F),
                t7a = FloatVector.zero(F),
                t7b = FloatVector.zero(F);
        FloatVector t8a = FloatVector.zero(F),
                t8b = FloatVector.zero(F),
                t9a = FloatVector.zero(F),
                t9b = FloatVector.zero(F);
        FloatVector t10a = FloatVector.zero(F),
                t10b = FloatVector.zero(F),
                t11a = FloatVector.zero(F),
                t11b = FloatVector.zero(F);
        int ao2 = ao + MR * kc;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bo + p * NR),
                    b1 = FloatVector.fromArray(F, bp, bo + p * NR + V);
            int a = ao + p * MR, a2 = ao2 + p * MR;
            FloatVector x = FloatVector.broadcast(F, ap[a]);
            t0a = x.fma(b0, t0a);
            t0b = x.fma(b1, t0b);
            x = FloatVector.broadcast(F, ap[a + 1]);
            t1a = x.fma(b0, t1a);
            t1b = x.fma(b1, t1b);
            x = FloatVector.broadcast(F, ap[a + 2]);
            t2a = x.fma(b0, t2a);
            t2b = x.fma(b1, t2b);
            x = FloatVector.broadcast(F, ap[a + 3]);
            t3a = x.fma(b0, t3a);
            t3b = x.fma(b1, t3b);
            x = FloatVector.broadcast(F, ap[a + 4]);
            t4a = x.fma(b0, t4a);
            t4b = x.fma(b1, t4b);
            x = FloatVector.broadcast(F, ap[a + 5]);
            t5a = x.fma(b0, t5a);
            t5b = x.fma(b1, t5b);
            x = FloatVector.broadcast(F, ap[a2]);
            t6a = x.fma(b0, t6a);
            t6b = x.fma(b1, t6b);
            x = FloatVector.broadcast(F, ap[a2 + 1]);
            t7a = x.fma(b0, t7a);
            t7b = x.fma(b1, t7b);
            x = FloatVector.broadcast(F, ap[a2 + 2]);
            t8a = x.fma(b0, t8a);
            t8b = x.fma(b1, t8b);
            x = FloatVector.broadcast(F, ap[a2 + 3]);
            t9a = x.fma(b0, t9a);
            t9b = x.fma(b1, t9b);
            x = FloatVector.broadcast(F, ap[a2 + 4]);
            t10a = x.fma(b0, t10a);
            t10b = x.fma(b1, t10b);
            x = FloatVector.broadcast(F, ap[a2 + 5]);
            t11a = x.fma(b0, t11a);
            t11b = x.fma(b1, t11b);
        }
        t0a.intoArray(tile, 0);
        t0b.intoArray(tile, V);
        t1a.intoArray(tile, 1 * NR);
        t1b.intoArray(tile, 1 * NR + V);
        t2a.intoArray(tile, 2 * NR);
        t2b.intoArray(tile, 2 * NR + V);
        t3a.intoArray(tile, 3 * NR);
        t3b.intoArray(tile, 3 * NR + V);
        t4a.intoArray(tile, 4 * NR);
        t4b.intoArray(tile, 4 * NR + V);
        t5a.intoArray(tile, 5 * NR);
        t5b.intoArray(tile, 5 * NR + V);
        t6a.intoArray(tile, 6 * NR);
        t6b.intoArray(tile, 6 * NR + V);
        t7a.intoArray(tile, 7 * NR);
        t7b.intoArray(tile, 7 * NR + V);
        t8a.intoArray(tile, 8 * NR);
        t8b.intoArray(tile, 8 * NR + V);
        t9a.intoArray(tile, 9 * NR);
        t9b.intoArray(tile, 9 * NR + V);
        t10a.intoArray(tile, 10 * NR);
        t10b.intoArray(tile, 10 * NR + V);
        t11a.intoArray(tile, 11 * NR);
        t11b.intoArray(tile, 11 * NR + V);
        if (c != null) toC(tile, c, cTile, ldc, mr, nr, store);
    }

    /**
     * The 6×NR micro-kernel: C tile += Ap(6×kc) · Bp(kc×NR) through a scratch tile; with a null C the product is left
     * in the tile for the caller to add (a heap C, {@link PackedGemm#gemmFilled}).
     */
    static void kernel(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            MemorySegment c,
            long cTile,
            int ldc,
            int mr,
            int nr,
            boolean store,
            float[] tile) {
        FloatVector c00 = FloatVector.zero(F),
                c01 = FloatVector.zero(F),
                c10 = FloatVector.zero(F),
                c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F),
                c21 = FloatVector.zero(F),
                c30 = FloatVector.zero(F),
                c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F),
                c41 = FloatVector.zero(F),
                c50 = FloatVector.zero(F),
                c51 = FloatVector.zero(F);
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bo + p * NR),
                    b1 = FloatVector.fromArray(F, bp, bo + p * NR + V);
            int a = ao + p * MR;
            FloatVector x = FloatVector.broadcast(F, ap[a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, ap[a + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, ap[a + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, ap[a + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, ap[a + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, ap[a + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        // The accumulators leave through the scratch tile: calls taking vectors would box them once the kernel is
        // past C2's inlining budget, so the C update is a separate method over plain arrays.
        c00.intoArray(tile, 0);
        c01.intoArray(tile, V);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + V);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + V);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + V);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + V);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + V);
        if (c != null) toC(tile, c, cTile, ldc, mr, nr, store);
    }

    /**
     * {@link #kernel} for a last sliver of one or two rows (the rest of the packed sliver is padding): only the first
     * two rows' FMAs, each tile row summing the same products in the same order as the 6-row kernel's.
     */
    static void kernelRows2(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            MemorySegment c,
            long cTile,
            int ldc,
            int mr,
            int nr,
            boolean store,
            float[] tile) {
        FloatVector c00 = FloatVector.zero(F),
                c01 = FloatVector.zero(F),
                c10 = FloatVector.zero(F),
                c11 = FloatVector.zero(F);
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bo + p * NR),
                    b1 = FloatVector.fromArray(F, bp, bo + p * NR + V);
            int a = ao + p * MR;
            FloatVector x = FloatVector.broadcast(F, ap[a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, ap[a + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, V);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + V);
        if (c != null) toC(tile, c, cTile, ldc, mr, nr, store);
    }

    /** {@link #kernelRows2} for a last sliver of three or four rows. */
    static void kernelRows4(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            MemorySegment c,
            long cTile,
            int ldc,
            int mr,
            int nr,
            boolean store,
            float[] tile) {
        FloatVector c00 = FloatVector.zero(F),
                c01 = FloatVector.zero(F),
                c10 = FloatVector.zero(F),
                c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F),
                c21 = FloatVector.zero(F),
                c30 = FloatVector.zero(F),
                c31 = FloatVector.zero(F);
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(F, bp, bo + p * NR),
                    b1 = FloatVector.fromArray(F, bp, bo + p * NR + V);
            int a = ao + p * MR;
            FloatVector x = FloatVector.broadcast(F, ap[a]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, ap[a + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, ap[a + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, ap[a + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, V);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + V);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + V);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + V);
        if (c != null) toC(tile, c, cTile, ldc, mr, nr, store);
    }

    /** A kernel's tile into C: {@link #storeTile} for the first depth block ({@code store}), else {@link #addTile}. */
    private static void toC(float[] tile, MemorySegment c, long cTile, int ldc, int mr, int nr, boolean store) {
        if (store) storeTile(tile, c, cTile, ldc, mr, nr);
        else addTile(tile, c, cTile, ldc, mr, nr);
    }

    /** C tile = tile: the first mr rows and nr columns, C's tile at element {@code cTile}; C is not read. */
    static void storeTile(float[] tile, MemorySegment c, long cTile, int ldc, int mr, int nr) {
        if (nr == NR) {
            for (int i = 0; i < mr; i++) {
                long row = (cTile + (long) i * ldc) * 4;
                FloatVector.fromArray(F, tile, i * NR).intoMemorySegment(c, row, NO);
                FloatVector.fromArray(F, tile, i * NR + V).intoMemorySegment(c, row + V * 4L, NO);
            }
            return;
        }
        for (int i = 0; i < mr; i++) {
            long row = cTile + (long) i * ldc;
            for (int j = 0; j < nr; j++) c.setAtIndex(FL, row + j, tile[i * NR + j]);
        }
    }

    /** C tile += tile (rows of NR floats), the first mr rows and nr columns. */
    static void addTile(float[] tile, MemorySegment c, long cTile, int ldc, int mr, int nr) {
        if (nr == NR) {
            for (int i = 0; i < mr; i++) {
                long row = (cTile + (long) i * ldc) * 4;
                FloatVector.fromMemorySegment(F, c, row, NO)
                        .add(FloatVector.fromArray(F, tile, i * NR))
                        .intoMemorySegment(c, row, NO);
                FloatVector.fromMemorySegment(F, c, row + V * 4L, NO)
                        .add(FloatVector.fromArray(F, tile, i * NR + V))
                        .intoMemorySegment(c, row + V * 4L, NO);
            }
            return;
        }
        for (int i = 0; i < mr; i++) {
            long row = cTile + (long) i * ldc;
            for (int j = 0; j < nr; j++) c.setAtIndex(FL, row + j, c.getAtIndex(FL, row + j) + tile[i * NR + j]);
        }
    }

    /** C tile = tile for a heap C: the first mr rows and nr columns, C's tile at element {@code cTile}. */
    static void storeTile(float[] tile, float[] c, int cTile, int ldc, int mr, int nr) {
        for (int i = 0; i < mr; i++) System.arraycopy(tile, i * NR, c, cTile + i * ldc, nr);
    }

    /** C tile += tile for a heap C: the first mr rows and nr columns, C's tile at element {@code cTile}. */
    static void addTile(float[] tile, float[] c, int cTile, int ldc, int mr, int nr) {
        if (nr == NR) {
            for (int i = 0; i < mr; i++) {
                int row = cTile + i * ldc;
                FloatVector.fromArray(F, c, row)
                        .add(FloatVector.fromArray(F, tile, i * NR))
                        .intoArray(c, row);
                FloatVector.fromArray(F, c, row + V)
                        .add(FloatVector.fromArray(F, tile, i * NR + V))
                        .intoArray(c, row + V);
            }
            return;
        }
        for (int i = 0; i < mr; i++) {
            int row = cTile + i * ldc;
            for (int j = 0; j < nr; j++) c[row + j] += tile[i * NR + j];
        }
    }
}
