package dev.panthera.bench;

import dev.panthera.nn.optim.AdamW;
import dev.panthera.nn.optim.PagedState;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Resident memory of AdamW's state in the pool against the same state in a memory-mapped file ({@link PagedState}),
 * for a list of F32 parameters: the process's anonymous and file-backed resident sizes (RssAnon, RssFile from
 * /proc/self/status, Linux only) after creating the parameters, after the steps, and for the paged state after
 * {@link PagedState#evict} (what the kernel does under memory pressure), with the mean step time of each. One
 * optimizer per process run (the argument), so one run's pool does not hide the other's growth.
 * Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks.jar
 * dev.panthera.bench.PagedAdamWMemory adamw|paged [million-params, default 16] [steps, default 5]}
 */
public final class PagedAdamWMemory {
    private PagedAdamWMemory() {}

    static long[] rss() throws IOException {
        long anon = 0, file = 0;
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("RssAnon:")) anon = kib(l);
            if (l.startsWith("RssFile:")) file = kib(l);
        }
        return new long[] {anon, file};
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    private static String mib(long kib) {
        return String.format(Locale.ROOT, "%.1f", kib / 1024.0);
    }

    public static void main(String[] args) throws Exception {
        String which = args.length > 0 ? args[0] : "paged";
        long millions = args.length > 1 ? Long.parseLong(args[1]) : 16;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int per = 1 << 20;
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; i < millions; i++)
            params.add(Tensor.randn(Shape.of(per), i).requiresGrad(true));
        Tensor grad = Tensor.randn(Shape.of(per), 99);
        long[] before = rss();
        PagedState state =
                which.equals("paged") ? PagedState.create(Path.of(System.getProperty("java.io.tmpdir"))) : null;
        AdamW opt = state == null
                ? new AdamW(params, 1e-3, 0.9, 0.999, 1e-8, 0.01)
                : new AdamW(params, 1e-3, 0.9, 0.999, 1e-8, 0.01, state);
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            for (Tensor p : params) p.setGrad(grad);
            opt.step();
        }
        double msPerStep = (System.nanoTime() - t0) / 1e6 / steps;
        long[] after = rss();
        var pool = dev.panthera.tensor.MemoryPool.host().stats();
        System.out.printf(
                Locale.ROOT,
                "%s: host pool in use %s MiB, cached %s MiB, GC-managed allocations %d%n",
                which,
                mib(pool.bytesInUse() / 1024),
                mib(pool.bytesCached() / 1024),
                pool.gcManagedAllocations());
        System.out.printf(
                Locale.ROOT,
                "%s params %d M F32, state %s MiB: RssAnon %s -> %s MiB, RssFile %s -> %s MiB, %.1f ms/step%n",
                which,
                millions,
                mib(opt.stateBytes() / 1024),
                mib(before[0]),
                mib(after[0]),
                mib(before[1]),
                mib(after[1]),
                msPerStep);
        if (state != null) {
            state.evict();
            long[] evicted = rss();
            long t1 = System.nanoTime();
            for (Tensor p : params) p.setGrad(grad);
            opt.step();
            double back = (System.nanoTime() - t1) / 1e6;
            System.out.printf(
                    Locale.ROOT,
                    "paged after evict: RssAnon %s MiB, RssFile %s MiB; the next step (faulting the state back) %.1f ms%n",
                    mib(evicted[0]),
                    mib(evicted[1]),
                    back);
            state.close();
        }
    }
}
