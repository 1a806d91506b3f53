package dev.panthera.models.cli;

/**
 * Sets the SIMD backend's GEMM thread count when that backend is present. models depends on panthera-simd at run
 * time only, so the call goes through reflection; without it the reference backend runs single-threaded anyway.
 */
final class Threads {
    private Threads() {}

    static void set(int n) {
        try {
            Class.forName("dev.panthera.simd.Sgemm")
                    .getMethod("setThreads", int.class)
                    .invoke(null, n);
        } catch (ReflectiveOperationException | LinkageError e) {
            // no SIMD backend on the class path: nothing to configure
        }
    }
}
