package dev.panthera.bench;

import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Resident memory over many scoped iterations of a small decode-like step (norm, two matmuls, softmax, argmax):
 * prints the process's RSS and the host pool's counters every tenth of the run. With the caching allocator the RSS
 * and the native allocation count stay flat after the first iterations. Linux only (reads /proc/self/status).
 * After the run it compares the host pool from the first tenth of the run to the end: native allocations, bytes in
 * use and bytes cached must not have moved (a steady step allocates nothing new from the OS and frees what it takes),
 * else it names the counter and exits with status 1. RSS is printed for the reader: the JIT and the GC move it by
 * amounts no arithmetic bounds.
 * Usage (a bounded heap, so that the heap growing to its default maximum is not read as native growth):
 * {@code java -Xmx256m --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks.jar
 * dev.panthera.bench.ScopedRss [iterations, default 1000000]}
 */
public final class ScopedRss {
    private ScopedRss() {}

    public static void main(String[] args) throws IOException {
        long iterations = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
        Tensor w1 = Tensor.randn(Shape.of(64, 128), 1), w2 = Tensor.randn(Shape.of(128, 64), 2);
        Tensor norm = Tensor.ones(64), x = Tensor.randn(Shape.of(1, 64), 3);
        long checksum = 0;
        MemoryPool.Stats steady = null;
        long steadyRss = 0;
        System.out.println("iteration  rss_MiB  native_allocations  bytes_in_use  bytes_cached  gc_managed");
        for (long i = 1; i <= iterations; i++) {
            try (var scope = MemoryScope.open()) {
                Tensor h = x.rmsNorm(norm, 1e-6).matmul(w1).silu().matmul(w2);
                checksum += h.softmax(-1).argmax().toLongArray()[0];
            }
            if (i % (iterations / 10) == 0 || i == 1000) {
                MemoryPool.Stats s = MemoryPool.host().stats();
                if (steady == null && i >= iterations / 10) {
                    steady = s;
                    steadyRss = rssKiB();
                }
                System.out.printf(
                        Locale.ROOT,
                        "%9d  %7.1f  %18d  %12d  %12d  %10d%n",
                        i,
                        rssKiB() / 1024.0,
                        s.nativeAllocations(),
                        s.bytesInUse(),
                        s.bytesCached(),
                        s.gcManagedAllocations());
            }
        }
        System.out.println("checksum " + checksum);
        MemoryPool.Stats end = MemoryPool.host().stats();
        System.out.printf(Locale.ROOT, "rss growth since the first tenth: %.1f MiB%n", (rssKiB() - steadyRss) / 1024.0);
        String leak = steady == null
                ? null
                : end.nativeAllocations() != steady.nativeAllocations()
                        ? "native allocations " + steady.nativeAllocations() + " -> " + end.nativeAllocations()
                        : end.bytesInUse() != steady.bytesInUse()
                                ? "bytes in use " + steady.bytesInUse() + " -> " + end.bytesInUse()
                                : end.bytesCached() != steady.bytesCached()
                                        ? "bytes cached " + steady.bytesCached() + " -> " + end.bytesCached()
                                        : null;
        if (leak != null) {
            System.out.println("LEAK: " + leak);
            System.exit(1);
        }
        System.out.println("host pool flat after the first tenth");
    }

    private static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        return -1;
    }
}
