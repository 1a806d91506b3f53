package dev.panthera.cuda;

import dev.panthera.tensor.DType;

/** {@code cudaDataType} (library_types.h), the element types cuBLAS's *Ex functions take. */
public enum CudaDataType {
    /** CUDA_R_32F = 0 */
    R_32F("CUDA_R_32F", 0),
    /** CUDA_R_64F = 1 */
    R_64F("CUDA_R_64F", 1),
    /** CUDA_R_16F = 2 */
    R_16F("CUDA_R_16F", 2),
    /** CUDA_R_8I = 3 */
    R_8I("CUDA_R_8I", 3),
    /** CUDA_R_8U = 8 */
    R_8U("CUDA_R_8U", 8),
    /** CUDA_R_32I = 10 */
    R_32I("CUDA_R_32I", 10),
    /** CUDA_R_16BF = 14 */
    R_16BF("CUDA_R_16BF", 14);

    private final String cName;
    private final int code;

    CudaDataType(String cName, int code) {
        this.cName = cName;
        this.code = code;
    }

    /** The header's spelling. */
    public String cName() {
        return cName;
    }
    /** The C value. */
    public int code() {
        return code;
    }

    /** The cuBLAS type of a Panthera dtype; throws for types cuBLAS GEMM does not take. */
    public static CudaDataType of(DType dtype) {
        return switch (dtype) {
            case F32 -> R_32F;
            case F64 -> R_64F;
            case F16 -> R_16F;
            case BF16 -> R_16BF;
            case I8 -> R_8I;
            case U8 -> R_8U;
            case I32 -> R_32I;
            default -> throw new IllegalArgumentException("cudaDataType: no CUDA data type for " + dtype);
        };
    }
}
