package dev.panthera.cuda;

import java.util.Map;

/**
 * Symbolic names of the status codes of each library, used when the library itself cannot name a status (it is not
 * loaded, or its name function failed). Values from driver_types.h (cudaError_t), cuda.h (CUresult), cublas_api.h
 * (cublasStatus_t), cudnn_graph.h of cuDNN 9 (cudnnStatus_t) and nvrtc.h (nvrtcResult).
 */
public final class StatusNames {
    private StatusNames() {}

    /** cudaError_t, the codes Panthera meets or reports specially. */
    public static final Map<Integer, String> CUDART = Map.ofEntries(
            Map.entry(0, "cudaSuccess"),
            Map.entry(1, "cudaErrorInvalidValue"),
            Map.entry(2, "cudaErrorMemoryAllocation"),
            Map.entry(3, "cudaErrorInitializationError"),
            Map.entry(4, "cudaErrorCudartUnloading"),
            Map.entry(17, "cudaErrorInvalidDevicePointer"),
            Map.entry(34, "cudaErrorStubLibrary"),
            Map.entry(35, "cudaErrorInsufficientDriver"),
            Map.entry(100, "cudaErrorNoDevice"),
            Map.entry(101, "cudaErrorInvalidDevice"),
            Map.entry(200, "cudaErrorInvalidKernelImage"),
            Map.entry(209, "cudaErrorNoKernelImageForDevice"),
            Map.entry(218, "cudaErrorInvalidPtx"),
            Map.entry(400, "cudaErrorInvalidResourceHandle"),
            Map.entry(600, "cudaErrorNotReady"),
            Map.entry(700, "cudaErrorIllegalAddress"),
            Map.entry(701, "cudaErrorLaunchOutOfResources"),
            Map.entry(702, "cudaErrorLaunchTimeout"),
            Map.entry(710, "cudaErrorAssert"),
            Map.entry(714, "cudaErrorHardwareStackError"),
            Map.entry(715, "cudaErrorIllegalInstruction"),
            Map.entry(716, "cudaErrorMisalignedAddress"),
            Map.entry(717, "cudaErrorInvalidAddressSpace"),
            Map.entry(718, "cudaErrorInvalidPc"),
            Map.entry(719, "cudaErrorLaunchFailure"),
            Map.entry(801, "cudaErrorNotSupported"),
            Map.entry(803, "cudaErrorSystemDriverMismatch"),
            Map.entry(999, "cudaErrorUnknown"));

    /** CUresult (driver API), the codes Panthera meets. */
    public static final Map<Integer, String> DRIVER = Map.ofEntries(
            Map.entry(0, "CUDA_SUCCESS"),
            Map.entry(1, "CUDA_ERROR_INVALID_VALUE"),
            Map.entry(2, "CUDA_ERROR_OUT_OF_MEMORY"),
            Map.entry(3, "CUDA_ERROR_NOT_INITIALIZED"),
            Map.entry(100, "CUDA_ERROR_NO_DEVICE"),
            Map.entry(200, "CUDA_ERROR_INVALID_IMAGE"),
            Map.entry(201, "CUDA_ERROR_INVALID_CONTEXT"),
            Map.entry(209, "CUDA_ERROR_NO_BINARY_FOR_GPU"),
            Map.entry(218, "CUDA_ERROR_INVALID_PTX"),
            Map.entry(400, "CUDA_ERROR_INVALID_HANDLE"),
            Map.entry(500, "CUDA_ERROR_NOT_FOUND"),
            Map.entry(700, "CUDA_ERROR_ILLEGAL_ADDRESS"),
            Map.entry(701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"),
            Map.entry(702, "CUDA_ERROR_LAUNCH_TIMEOUT"),
            Map.entry(710, "CUDA_ERROR_ASSERT"),
            Map.entry(714, "CUDA_ERROR_HARDWARE_STACK_ERROR"),
            Map.entry(715, "CUDA_ERROR_ILLEGAL_INSTRUCTION"),
            Map.entry(716, "CUDA_ERROR_MISALIGNED_ADDRESS"),
            Map.entry(717, "CUDA_ERROR_INVALID_ADDRESS_SPACE"),
            Map.entry(718, "CUDA_ERROR_INVALID_PC"),
            Map.entry(719, "CUDA_ERROR_LAUNCH_FAILED"),
            Map.entry(999, "CUDA_ERROR_UNKNOWN"));

    /** cublasStatus_t. */
    public static final Map<Integer, String> CUBLAS = Map.ofEntries(
            Map.entry(0, "CUBLAS_STATUS_SUCCESS"), Map.entry(1, "CUBLAS_STATUS_NOT_INITIALIZED"),
            Map.entry(3, "CUBLAS_STATUS_ALLOC_FAILED"), Map.entry(7, "CUBLAS_STATUS_INVALID_VALUE"),
            Map.entry(8, "CUBLAS_STATUS_ARCH_MISMATCH"), Map.entry(11, "CUBLAS_STATUS_MAPPING_ERROR"),
            Map.entry(13, "CUBLAS_STATUS_EXECUTION_FAILED"), Map.entry(14, "CUBLAS_STATUS_INTERNAL_ERROR"),
            Map.entry(15, "CUBLAS_STATUS_NOT_SUPPORTED"), Map.entry(16, "CUBLAS_STATUS_LICENSE_ERROR"));

    /** cudnnStatus_t as renumbered by cuDNN 9 (categories 1000/2000/3000/4000/5000). */
    public static final Map<Integer, String> CUDNN = Map.ofEntries(
            Map.entry(0, "CUDNN_STATUS_SUCCESS"),
            Map.entry(1001, "CUDNN_STATUS_NOT_INITIALIZED"),
            Map.entry(1002, "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH"),
            Map.entry(1003, "CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH"),
            Map.entry(1004, "CUDNN_STATUS_DEPRECATED"),
            Map.entry(1005, "CUDNN_STATUS_LICENSE_ERROR"),
            Map.entry(1006, "CUDNN_STATUS_RUNTIME_IN_PROGRESS"),
            Map.entry(1007, "CUDNN_STATUS_RUNTIME_FP_OVERFLOW"),
            Map.entry(1008, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED"),
            Map.entry(2000, "CUDNN_STATUS_BAD_PARAM"),
            Map.entry(2002, "CUDNN_STATUS_BAD_PARAM_NULL_POINTER"),
            Map.entry(2003, "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER"),
            Map.entry(2004, "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED"),
            Map.entry(2005, "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND"),
            Map.entry(2006, "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT"),
            Map.entry(2007, "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH"),
            Map.entry(2008, "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH"),
            Map.entry(3000, "CUDNN_STATUS_NOT_SUPPORTED"),
            Map.entry(4000, "CUDNN_STATUS_INTERNAL_ERROR"),
            Map.entry(5000, "CUDNN_STATUS_EXECUTION_FAILED"),
            Map.entry(5001, "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER"),
            Map.entry(5002, "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS"),
            Map.entry(5003, "CUDNN_STATUS_EXECUTION_FAILED_CUDART"),
            Map.entry(5004, "CUDNN_STATUS_EXECUTION_FAILED_CURAND"));

    /** nvrtcResult. */
    public static final Map<Integer, String> NVRTC = Map.ofEntries(
            Map.entry(0, "NVRTC_SUCCESS"),
            Map.entry(1, "NVRTC_ERROR_OUT_OF_MEMORY"),
            Map.entry(2, "NVRTC_ERROR_PROGRAM_CREATION_FAILURE"),
            Map.entry(3, "NVRTC_ERROR_INVALID_INPUT"),
            Map.entry(4, "NVRTC_ERROR_INVALID_PROGRAM"),
            Map.entry(5, "NVRTC_ERROR_INVALID_OPTION"),
            Map.entry(6, "NVRTC_ERROR_COMPILATION"),
            Map.entry(7, "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE"),
            Map.entry(8, "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION"),
            Map.entry(9, "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION"),
            Map.entry(10, "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID"),
            Map.entry(11, "NVRTC_ERROR_INTERNAL_ERROR"));

    /** The name of {@code code} in {@code table}, or "UNKNOWN_STATUS_<code>". */
    public static String name(Map<Integer, String> table, int code) {
        String n = table.get(code);
        return n != null ? n : "UNKNOWN_STATUS_" + code;
    }
}
