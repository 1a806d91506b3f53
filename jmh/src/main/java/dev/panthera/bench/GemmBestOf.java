package dev.panthera.bench;

import dev.panthera.simd.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * SGEMM beside OpenBLAS on a machine shared with other work: for each shape the two libraries run in alternation
 * in one process on the same buffers (after a warm-up of at least two seconds each), and the table gives the best
 * and the median time of each, in GFLOP/s, with the Panthera / OpenBLAS ratio of both. Best-of is the figure least
 * disturbed by other processes; the median shows how much they disturbed it. JMH's {@link GemmBench} gives means.
 * Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks.jar
 * dev.panthera.bench.GemmBestOf [threads] [MxNxK ...]}
 */
public final class GemmBestOf {
    private GemmBestOf() {}

    public static void main(String[] args) {
        if (!OpenBlas.available()) {
            System.out.println("GemmBestOf: OpenBLAS not found (" + OpenBlas.where() + "); install libopenblas-dev");
            return;
        }
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        String[] shapes = args.length > 1
                ? Arrays.copyOfRange(args, 1, args.length)
                : new String[] {
                    "256x256x256",
                    "512x512x512",
                    "1024x1024x1024",
                    "2048x2048x2048",
                    "4096x4096x4096",
                    "1x4096x4096",
                    "16x4096x4096",
                    "128x11008x4096",
                    "512x3072x768"
                };
        Sgemm.setThreads(threads);
        OpenBlas.setThreads(threads);
        System.out.println(
                "| M×N×K | threads | Panthera best GFLOP/s | OpenBLAS best GFLOP/s | ratio (best) | ratio (median) | runs |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (String shape : shapes) {
            String[] p = shape.split("x");
            int m = Integer.parseInt(p[0]), n = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment a = fill(arena.allocate((long) m * k * 4, 64), 1),
                        b = fill(arena.allocate((long) k * n * 4, 64), 2);
                MemorySegment c = arena.allocate((long) m * n * 4, 64);
                double flops = 2.0 * m * n * k;
                int runs = (int) Math.max(5, Math.min(400, 3e10 / flops));
                long warmEnd = System.nanoTime() + 4_000_000_000L;
                while (System.nanoTime() < warmEnd) {
                    Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                    OpenBlas.sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
                }
                long[] tp = new long[runs], to = new long[runs];
                for (int r = 0; r < runs; r++) {
                    long t0 = System.nanoTime();
                    Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                    long t1 = System.nanoTime();
                    OpenBlas.sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
                    long t2 = System.nanoTime();
                    tp[r] = t1 - t0;
                    to[r] = t2 - t1;
                }
                Arrays.sort(tp);
                Arrays.sort(to);
                System.out.println(String.format(
                        Locale.ROOT,
                        "| %s | %d | %.1f | %.1f | %.2f | %.2f | %d |",
                        shape.replace("x", "×"),
                        threads,
                        flops / tp[0],
                        flops / to[0],
                        (double) to[0] / tp[0],
                        (double) to[runs / 2] / tp[runs / 2],
                        runs));
            }
        }
    }

    private static MemorySegment fill(MemorySegment s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < s.byteSize() / 4; i++)
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
        return s;
    }
}
