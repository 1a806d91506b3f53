/** CUDA runtime, cuBLAS, cuBLASLt, cuDNN and NVRTC through the FFM API, and a CUDA backend. */
module dev.panthera.cuda {
    requires dev.panthera.tensor;
    requires org.slf4j;

    exports dev.panthera.cuda;

    provides dev.panthera.tensor.spi.BackendProvider with
            dev.panthera.cuda.backend.CudaBackendProvider;
}
