package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Our constants against the installed CUDA headers where they exist (/usr/local/cuda/include: driver_types.h,
 * cuda.h, library_types.h here), and against the header values written out where they do not (cublas_api.h and
 * cudnn_graph.h are not installed on the CPU machines; the numbers below are copied from those headers).
 */
class HeaderConstantsTest {
    private static final Path INCLUDE =
            Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda"), "include");
    private static final Pattern ENUM_LINE =
            Pattern.compile("^\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*=\\s*(-?(?:0x)?[0-9A-Fa-f]+)\\s*,?", Pattern.MULTILINE);

    private static Map<String, Integer> header(String file) throws Exception {
        Path p = INCLUDE.resolve(file);
        assumeTrue(Files.exists(p), "header " + p + " not installed; values checked by the pinned tests instead");
        Map<String, Integer> out = new HashMap<>();
        Matcher m = ENUM_LINE.matcher(Files.readString(p));
        while (m.find()) {
            String v = m.group(2);
            try {
                out.putIfAbsent(
                        m.group(1), v.startsWith("0x") ? Integer.parseInt(v.substring(2), 16) : Integer.parseInt(v));
            } catch (NumberFormatException ignored) {
                // not an int enumerator
            }
        }
        return out;
    }

    @Test
    void memcpyKindAndRuntimeErrorsMatchDriverTypesH() throws Exception {
        Map<String, Integer> h = header("driver_types.h");
        for (CudaMemcpyKind k : CudaMemcpyKind.values()) assertEquals(h.get(k.cName()), k.code(), k.cName());
        for (var e : StatusNames.CUDART.entrySet()) assertEquals(h.get(e.getValue()), e.getKey(), e.getValue());
        assertEquals(h.get("cudaDevAttrComputeCapabilityMajor"), Cudart.DEV_ATTR_COMPUTE_CAPABILITY_MAJOR);
        assertEquals(h.get("cudaDevAttrComputeCapabilityMinor"), Cudart.DEV_ATTR_COMPUTE_CAPABILITY_MINOR);
        assertEquals(h.get("cudaDevAttrMultiProcessorCount"), Cudart.DEV_ATTR_MULTIPROCESSOR_COUNT);
    }

    @Test
    void driverResultsMatchCudaH() throws Exception {
        Map<String, Integer> h = header("cuda.h");
        for (var e : StatusNames.DRIVER.entrySet()) assertEquals(h.get(e.getValue()), e.getKey(), e.getValue());
    }

    @Test
    void dataTypesMatchLibraryTypesH() throws Exception {
        Map<String, Integer> h = header("library_types.h");
        for (CudaDataType t : CudaDataType.values()) assertEquals(h.get(t.cName()), t.code(), t.cName());
    }

    @Test
    void cublasAndCudnnHeadersWhenInstalled() throws Exception {
        Map<String, Integer> h = header("cublas_api.h");
        for (CublasOperation o : CublasOperation.values()) assertEquals(h.get(o.cName()), o.code(), o.cName());
        for (CublasComputeType c : CublasComputeType.values()) assertEquals(h.get(c.cName()), c.code(), c.cName());
        for (var e : StatusNames.CUBLAS.entrySet()) assertEquals(h.get(e.getValue()), e.getKey(), e.getValue());
    }

    @Test
    void cudnnHeaderWhenInstalled() throws Exception {
        Map<String, Integer> h = header("cudnn_graph.h");
        for (CudnnDataType t : CudnnDataType.values()) assertEquals(h.get(t.cName()), t.code(), t.cName());
        for (var e : StatusNames.CUDNN.entrySet()) assertEquals(h.get(e.getValue()), e.getKey(), e.getValue());
    }

    /** Pinned values copied from cublas_api.h (CUDA 12/13), cudnn_graph.h (cuDNN 9) and nvrtc.h. */
    @Test
    void pinnedHeaderValues() {
        assertEquals(0, CublasOperation.N.code());
        assertEquals(1, CublasOperation.T.code());
        assertEquals(68, CublasComputeType.COMPUTE_32F.code());
        assertEquals(77, CublasComputeType.COMPUTE_32F_FAST_TF32.code());
        assertEquals(75, CublasComputeType.COMPUTE_32F_FAST_16BF.code());
        assertEquals(64, CublasComputeType.COMPUTE_16F.code());
        assertEquals(-1, Cublas.GEMM_DEFAULT);
        assertEquals(3, Cublas.TF32_TENSOR_OP_MATH);
        assertEquals("CUBLAS_STATUS_NOT_SUPPORTED", StatusNames.CUBLAS.get(15));
        assertEquals("CUBLAS_STATUS_EXECUTION_FAILED", StatusNames.CUBLAS.get(13));
        assertEquals(9, CudnnDataType.BFLOAT16.code());
        assertEquals(2, CudnnDataType.HALF.code());
        assertEquals("CUDNN_STATUS_BAD_PARAM", StatusNames.CUDNN.get(2000));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED", StatusNames.CUDNN.get(3000));
        assertEquals("CUDNN_STATUS_EXECUTION_FAILED", StatusNames.CUDNN.get(5000));
        assertEquals(1, Cudnn.SOFTMAX_ACCURATE);
        assertEquals(2, Cudnn.SOFTMAX_LOG);
        assertEquals(1, Cudnn.SOFTMAX_MODE_CHANNEL);
        assertEquals("NVRTC_ERROR_COMPILATION", StatusNames.NVRTC.get(6));
        assertEquals("UNKNOWN_STATUS_12345", StatusNames.name(StatusNames.NVRTC, 12345));
    }
}
