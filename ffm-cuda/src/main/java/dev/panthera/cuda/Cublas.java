package dev.panthera.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;

/**
 * cuBLAS ({@code libcublas.so.13}, fallback {@code .so.12}), column-major as in C. Status codes become
 * {@link CudaException}s with cublasGetStatusName/cublasGetStatusString.
 */
public final class Cublas {
    /** CUBLAS_DEFAULT_MATH = 0 (cublasMath_t). */
    public static final int DEFAULT_MATH = 0;
    /** CUBLAS_PEDANTIC_MATH = 2. */
    public static final int PEDANTIC_MATH = 2;
    /** CUBLAS_TF32_TENSOR_OP_MATH = 3. */
    public static final int TF32_TENSOR_OP_MATH = 3;
    /** CUBLAS_GEMM_DEFAULT = -1 (cublasGemmAlgo_t). */
    public static final int GEMM_DEFAULT = -1;
    /** CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99. */
    public static final int GEMM_DEFAULT_TENSOR_OP = 99;

    private static volatile Cublas instance;

    final NativeFunction create,
            destroy,
            setStream,
            setMathMode,
            getStatusName,
            getStatusString,
            getVersion,
            sgemm,
            gemmEx,
            gemmStridedBatchedEx;

    Cublas(NativeLibrary lib) {
        create = lib.function("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = lib.function("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        setMathMode = lib.function("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        getStatusName = lib.function("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getStatusString = lib.function("cublasGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getVersion = lib.function("cublasGetVersion_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        sgemm = lib.function(
                "cublasSgemm_v2",
                FunctionDescriptor.of(
                        JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
                        ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        gemmEx = lib.function(
                "cublasGemmEx",
                FunctionDescriptor.of(
                        JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
                        JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                        JAVA_INT));
        gemmStridedBatchedEx = lib.function(
                "cublasGemmStridedBatchedEx",
                FunctionDescriptor.of(
                        JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
                        JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT,
                        JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
    }

    /** The process's cuBLAS binding; throws NO_LIBRARY when libcublas cannot be loaded. */
    public static Cublas get() {
        Cublas c = instance;
        if (c == null) {
            synchronized (Cublas.class) {
                if (instance == null) instance = new Cublas(CudaLibraries.get(CudaLibrary.CUBLAS));
                c = instance;
            }
        }
        return c;
    }

    /** Throws for a non-zero cublasStatus_t. */
    public void check(String function, int status) {
        if (status == 0) return;
        String name = StatusNames.name(StatusNames.CUBLAS, status);
        String message = null;
        try {
            name = Cudart.cString((MemorySegment) getStatusName.call(status), name);
            message = Cudart.cString((MemorySegment) getStatusString.call(status), null);
        } catch (RuntimeException ignored) {
            // table name only
        }
        throw new CudaException("cublas", function, status, name, message);
    }

    /** cublasCreate_v2: a new handle. */
    public MemorySegment createHandle() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check("cublasCreate_v2", create.callInt(p));
            return p.get(ADDRESS, 0);
        }
    }

    /** cublasDestroy_v2. */
    public void destroyHandle(MemorySegment handle) {
        check("cublasDestroy_v2", destroy.callInt(handle));
    }

    /** cublasSetStream_v2. */
    public void setStream(MemorySegment handle, MemorySegment stream) {
        check("cublasSetStream_v2", setStream.callInt(handle, stream));
    }

    /** cublasSetMathMode. */
    public void setMathMode(MemorySegment handle, int mode) {
        check("cublasSetMathMode", setMathMode.callInt(handle, mode));
    }

    /** cublasSgemm_v2 (column-major, host alpha/beta). */
    public void sgemm(
            MemorySegment handle,
            CublasOperation ta,
            CublasOperation tb,
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
        try (Arena s = Arena.ofConfined()) {
            MemorySegment al = s.allocateFrom(JAVA_FLOAT, alpha), be = s.allocateFrom(JAVA_FLOAT, beta);
            check(
                    "cublasSgemm_v2",
                    sgemm.callInt(handle, ta.code(), tb.code(), m, n, k, al, a, lda, b, ldb, be, c, ldc));
        }
    }

    /** cublasGemmEx with F32 host scalars (compute types 32F, 32F_FAST_*). */
    public void gemmEx(
            MemorySegment handle,
            CublasOperation ta,
            CublasOperation tb,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            CudaDataType aType,
            int lda,
            MemorySegment b,
            CudaDataType bType,
            int ldb,
            float beta,
            MemorySegment c,
            CudaDataType cType,
            int ldc,
            CublasComputeType compute,
            int algo) {
        try (Arena s = Arena.ofConfined()) {
            MemorySegment al = s.allocateFrom(JAVA_FLOAT, alpha), be = s.allocateFrom(JAVA_FLOAT, beta);
            check(
                    "cublasGemmEx",
                    gemmEx.callInt(
                            handle,
                            ta.code(),
                            tb.code(),
                            m,
                            n,
                            k,
                            al,
                            a,
                            aType.code(),
                            lda,
                            b,
                            bType.code(),
                            ldb,
                            be,
                            c,
                            cType.code(),
                            ldc,
                            compute.code(),
                            algo));
        }
    }

    /** cublasGemmStridedBatchedEx with F32 host scalars; strides in elements. */
    public void gemmStridedBatchedEx(
            MemorySegment handle,
            CublasOperation ta,
            CublasOperation tb,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            CudaDataType aType,
            int lda,
            long strideA,
            MemorySegment b,
            CudaDataType bType,
            int ldb,
            long strideB,
            float beta,
            MemorySegment c,
            CudaDataType cType,
            int ldc,
            long strideC,
            int batch,
            CublasComputeType compute,
            int algo) {
        try (Arena s = Arena.ofConfined()) {
            MemorySegment al = s.allocateFrom(JAVA_FLOAT, alpha), be = s.allocateFrom(JAVA_FLOAT, beta);
            check(
                    "cublasGemmStridedBatchedEx",
                    gemmStridedBatchedEx.callInt(
                            handle,
                            ta.code(),
                            tb.code(),
                            m,
                            n,
                            k,
                            al,
                            a,
                            aType.code(),
                            lda,
                            strideA,
                            b,
                            bType.code(),
                            ldb,
                            strideB,
                            be,
                            c,
                            cType.code(),
                            ldc,
                            strideC,
                            batch,
                            compute.code(),
                            algo));
        }
    }
}
