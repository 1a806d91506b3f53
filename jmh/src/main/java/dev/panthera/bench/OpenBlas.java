package dev.panthera.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * OpenBLAS's {@code cblas_sgemm} through FFM: the CPU GEMM anchor. Benchmark scope only. Looks for the library in
 * {@code -Dpanthera.openblas=PATH}, then Debian's locations; {@link #available()} is false when none exists.
 */
public final class OpenBlas {
    private OpenBlas() {}

    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
    private static final MethodHandle SGEMM, SET_THREADS;
    private static final String WHERE;

    static {
        String found = null;
        List<String> candidates = List.of(
                System.getProperty("panthera.openblas", ""),
                "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
                "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
                "/usr/lib/x86_64-linux-gnu/libopenblas.so");
        for (String c : candidates)
            if (!c.isEmpty() && Files.exists(Path.of(c))) {
                found = c;
                break;
            }
        MethodHandle sgemm = null, threads = null;
        if (found != null) {
            SymbolLookup lib =
                    SymbolLookup.libraryLookup(Path.of(found), Arena.global()); // process-lifetime anchor library
            Linker linker = Linker.nativeLinker();
            ValueLayout.OfInt I = ValueLayout.JAVA_INT;
            ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
            sgemm = linker.downcallHandle(
                    lib.find("cblas_sgemm").orElseThrow(),
                    FunctionDescriptor.ofVoid(
                            I,
                            I,
                            I,
                            I,
                            I,
                            I,
                            F,
                            ValueLayout.ADDRESS,
                            I,
                            ValueLayout.ADDRESS,
                            I,
                            F,
                            ValueLayout.ADDRESS,
                            I));
            threads = linker.downcallHandle(
                    lib.find("openblas_set_num_threads").orElseThrow(), FunctionDescriptor.ofVoid(I));
        }
        WHERE = found;
        SGEMM = sgemm;
        SET_THREADS = threads;
    }

    public static boolean available() {
        return SGEMM != null;
    }

    /** Where the library was found, or a message saying how to get it. */
    public static String where() {
        return WHERE != null
                ? WHERE
                : "libopenblas not found: install Debian's libopenblas-dev (jmh/bench-gemm.sh does) or pass -Dpanthera.openblas=PATH";
    }

    public static void setThreads(int n) {
        try {
            SET_THREADS.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Row-major C = alpha·op(A)·op(B) + beta·C on native segments. */
    public static void sgemm(
            boolean ta,
            boolean tb,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            int lda,
            MemorySegment b,
            int ldb,
            float beta,
            MemorySegment c,
            int ldc) {
        try {
            SGEMM.invokeExact(
                    ROW_MAJOR,
                    ta ? TRANS : NO_TRANS,
                    tb ? TRANS : NO_TRANS,
                    m,
                    n,
                    k,
                    alpha,
                    a,
                    lda,
                    b,
                    ldb,
                    beta,
                    c,
                    ldc);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
