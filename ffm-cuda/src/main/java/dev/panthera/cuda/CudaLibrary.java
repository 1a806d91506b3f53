package dev.panthera.cuda;

import java.util.List;
import java.util.Locale;

/**
 * The NVIDIA libraries Panthera binds, in dependency order (a library's dependencies come before it), with the
 * sonames tried for each: CUDA 13 first, CUDA 12 as the fallback.
 */
public enum CudaLibrary {
    /** The CUDA runtime. */
    CUDART(
            "cudart",
            List.of("libcudart.so.13", "libcudart.so.12"),
            List.of("nvidia/cu13/lib", "nvidia/cuda_runtime/lib")),
    /** The driver API ({@code libcuda.so.1}, installed with the driver, never in a wheel). */
    DRIVER("cuda", List.of("libcuda.so.1"), List.of()),
    /** cuBLASLt (cuBLAS depends on it). */
    CUBLASLT(
            "cublasLt",
            List.of("libcublasLt.so.13", "libcublasLt.so.12"),
            List.of("nvidia/cu13/lib", "nvidia/cublas/lib")),
    /** cuBLAS. */
    CUBLAS("cublas", List.of("libcublas.so.13", "libcublas.so.12"), List.of("nvidia/cu13/lib", "nvidia/cublas/lib")),
    /** The runtime compiler. */
    NVRTC("nvrtc", List.of("libnvrtc.so.13", "libnvrtc.so.12"), List.of("nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib")),
    /** cuDNN 9 (its front library; it opens its sub-libraries itself). */
    CUDNN("cudnn", List.of("libcudnn.so.9"), List.of("nvidia/cudnn/lib"));

    private final String shortName;
    private final List<String> sonames;
    private final List<String> pythonSubdirs;

    CudaLibrary(String shortName, List<String> sonames, List<String> pythonSubdirs) {
        this.shortName = shortName;
        this.sonames = sonames;
        this.pythonSubdirs = pythonSubdirs;
    }

    /** The name used in messages ("cublas"). */
    public String shortName() {
        return shortName;
    }

    /** Sonames in the order tried (CUDA 13 first). */
    public List<String> sonames() {
        return sonames;
    }

    /** Folders below a Python site-packages folder where NVIDIA's wheels put this library. */
    public List<String> pythonSubdirs() {
        return pythonSubdirs;
    }

    /** Whether this library's soname carries the CUDA toolkit's major (cuDNN and the driver have their own). */
    public boolean followsCudaMajor() {
        return this != DRIVER && this != CUDNN;
    }

    /** The system property naming an explicit file for this library: {@code panthera.cuda.<name>.path}. */
    public String propertyName() {
        return "panthera.cuda." + shortName.toLowerCase(Locale.ROOT) + ".path";
    }

    /** The environment variable naming an explicit file: {@code PANTHERA_CUDA_<NAME>} (e.g. PANTHERA_CUDA_CUBLASLT). */
    public String environmentName() {
        return "PANTHERA_CUDA_" + shortName.toUpperCase(Locale.ROOT);
    }
}
