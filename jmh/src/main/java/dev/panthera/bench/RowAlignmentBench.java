package dev.panthera.bench;

import dev.panthera.simd.MixedGemm;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What it costs a decode GEMV (x·Wᵀ, M = 1) that its weight rows start 32 bytes into a cache line, as the tensors of
 * a GGUF file often do (it aligns them to 32 bytes): the same product over the same bytes, placed at a 64-byte
 * boundary and 32 bytes past one, in one JVM, the two placements taking turns every 20 products (the first in a
 * round rotating) so that the host's drift falls on both alike. Prints the median GB/s of each placement per weight
 * type and their ratio (32 / 0): the anchor is the aligned product measured beside it.
 *
 * <p>Usage: {@code RowAlignmentBench K N THREADS [ROUNDS]} (a weight of N rows of K elements; F32, BF16 and F16).
 */
public final class RowAlignmentBench {
    private RowAlignmentBench() {}

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: RowAlignmentBench K N THREADS [ROUNDS]");
            System.exit(2);
        }
        int k = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]), threads = Integer.parseInt(args[2]);
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 30;
        Sgemm.setThreads(threads);
        try (Arena arena = Arena.ofShared()) {
            long count = (long) n * k;
            MemorySegment w32 = arena.allocate(count * 4 + 64, 64), w16 = arena.allocate(count * 2 + 64, 64);
            SplittableRandom r = new SplittableRandom(7);
            for (long i = 0; i < count + 16; i++) {
                float v = (float) (r.nextDouble() - 0.5);
                w32.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                w16.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v)); // a valid BF16 pattern too
            }
            MemorySegment x = arena.allocate(k * 4L, 64), y = arena.allocate(n * 4L, 64);
            for (int i = 0; i < k; i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                List<List<Double>> rates = List.of(new ArrayList<>(), new ArrayList<>());
                int bytes = t == DType.F32 ? 4 : 2;
                for (int round = 0; round < rounds; round++) {
                    for (int c = 0; c < 2; c++) {
                        int place = (c + round) % 2; // 0: at a boundary, 1: 32 bytes past one
                        MemorySegment w = (t == DType.F32 ? w32 : w16).asSlice(32L * place, count * bytes);
                        for (int i = 0; i < 20; i++) {
                            long t0 = System.nanoTime();
                            if (t == DType.F32) Sgemm.sgemm(false, true, 1, n, k, 1f, x, 0, k, w, 0, k, 0f, y, 0, n);
                            else MixedGemm.gemv(t, true, n, k, x, 0, w, 0, k, y, 0);
                            long ns = System.nanoTime() - t0;
                            if (round >= 3) rates.get(place).add(count * bytes / (double) ns);
                        }
                    }
                }
                double at0 = median(rates.get(0)), at32 = median(rates.get(1));
                System.out.println(String.format(
                        Locale.ROOT,
                        "%s K=%d N=%d threads=%d: at 64-byte boundary %.1f GB/s, 32 bytes past one %.1f GB/s,"
                                + " ratio %.2f",
                        t,
                        k,
                        n,
                        threads,
                        at0,
                        at32,
                        at32 / at0));
            }
        }
    }

    private static double median(List<Double> v) {
        Collections.sort(v);
        return v.get(v.size() / 2);
    }
}
