/** CUDA runtime, cuBLAS, cuBLASLt, cuDNN and NVRTC through the FFM API, and a CUDA backend. */
module dev.panthera.cuda {
    requires transitive dev.panthera.tensor; // CudaDataType and CudnnDataType map DType
    requires org.slf4j;

    exports dev.panthera.cuda;

    provides dev.panthera.tensor.spi.BackendProvider with
            dev.panthera.cuda.backend.CudaBackendProvider;
}
