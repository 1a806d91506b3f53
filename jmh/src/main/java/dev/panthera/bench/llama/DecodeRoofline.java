package dev.panthera.bench.llama;

import dev.panthera.bench.kit.StreamingRead;
import dev.panthera.models.io.GgufFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;

/**
 * The two numbers behind "decode against the memory limit" in {@code jmh/bench-vs-llamacpp.sh}: how many weight bytes
 * one decode step reads from a GGUF, and how fast this machine streams memory at a thread count. A decode step reads
 * every tensor once except the token embedding, of which it reads one row (negligible), unless the head is tied to it
 * (no {@code output.weight}), when the whole embedding is read again as the head. The limit of a model is then
 * bandwidth / bytes tokens per second.
 *
 * <p>Usage: {@code DecodeRoofline bytes FILE.gguf} prints the bytes; {@code DecodeRoofline read THREADS} prints the
 * best GB/s (10^9 bytes per second) of 20 passes of {@link StreamingRead} over its 256 MiB buffer.
 */
public final class DecodeRoofline {
    private DecodeRoofline() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !(args[0].equals("bytes") || args[0].equals("read"))) {
            System.err.println("usage: DecodeRoofline bytes FILE.gguf | DecodeRoofline read THREADS");
            System.exit(2);
        }
        if (args[0].equals("bytes")) System.out.println(decodeBytes(Path.of(args[1])));
        else System.out.println(String.format(Locale.ROOT, "%.2f", readGbPerSecond(Integer.parseInt(args[1]))));
    }

    /** Weight bytes one decode step of the GGUF's model reads (see the class comment). */
    static long decodeBytes(Path gguf) throws Exception {
        try (GgufFile f = GgufFile.open(gguf)) {
            long bytes = 0, embedding = 0;
            for (GgufFile.TensorInfo t : f.tensorInfos()) {
                if (t.name().equals("token_embd.weight")) embedding = t.byteSize();
                else bytes += t.byteSize();
            }
            return f.contains("output.weight") ? bytes : bytes + embedding;
        }
    }

    /** The best of 20 streaming reads of 256 MiB on {@code threads} threads, in 10^9 bytes per second. */
    static double readGbPerSecond(int threads) throws Exception {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment big = StreamingRead.allocate(arena);
            double best = 0;
            for (int i = 0; i < 23; i++) {
                long t0 = System.nanoTime();
                StreamingRead.sum(pool, big, threads);
                long dt = System.nanoTime() - t0;
                if (i >= 3) best = Math.max(best, StreamingRead.BYTES / (double) dt); // 3 passes of JIT warm-up
            }
            return best;
        } finally {
            pool.shutdown();
        }
    }
}
