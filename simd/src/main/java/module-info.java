/** The Vector API backend: GEMM, elementwise, reductions, attention. */
module dev.panthera.simd {
    requires dev.panthera.tensor;
    requires jdk.incubator.vector;
    requires org.slf4j;

    exports dev.panthera.simd;

    provides dev.panthera.tensor.spi.BackendProvider with
            dev.panthera.simd.SimdBackendProvider;
}
