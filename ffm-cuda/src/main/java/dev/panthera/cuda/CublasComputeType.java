package dev.panthera.cuda;

/** {@code cublasComputeType_t} (cublas_api.h, CUDA 11+). */
public enum CublasComputeType {
    /** CUBLAS_COMPUTE_16F = 64 */
    COMPUTE_16F("CUBLAS_COMPUTE_16F", 64),
    /** CUBLAS_COMPUTE_16F_PEDANTIC = 65 */
    COMPUTE_16F_PEDANTIC("CUBLAS_COMPUTE_16F_PEDANTIC", 65),
    /** CUBLAS_COMPUTE_32F = 68 */
    COMPUTE_32F("CUBLAS_COMPUTE_32F", 68),
    /** CUBLAS_COMPUTE_32F_PEDANTIC = 69 */
    COMPUTE_32F_PEDANTIC("CUBLAS_COMPUTE_32F_PEDANTIC", 69),
    /** CUBLAS_COMPUTE_64F = 70 */
    COMPUTE_64F("CUBLAS_COMPUTE_64F", 70),
    /** CUBLAS_COMPUTE_64F_PEDANTIC = 71 */
    COMPUTE_64F_PEDANTIC("CUBLAS_COMPUTE_64F_PEDANTIC", 71),
    /** CUBLAS_COMPUTE_32I = 72 */
    COMPUTE_32I("CUBLAS_COMPUTE_32I", 72),
    /** CUBLAS_COMPUTE_32I_PEDANTIC = 73 */
    COMPUTE_32I_PEDANTIC("CUBLAS_COMPUTE_32I_PEDANTIC", 73),
    /** CUBLAS_COMPUTE_32F_FAST_16F = 74 */
    COMPUTE_32F_FAST_16F("CUBLAS_COMPUTE_32F_FAST_16F", 74),
    /** CUBLAS_COMPUTE_32F_FAST_16BF = 75 */
    COMPUTE_32F_FAST_16BF("CUBLAS_COMPUTE_32F_FAST_16BF", 75),
    /** CUBLAS_COMPUTE_32F_FAST_TF32 = 77 (F32 inputs rounded to TF32 on tensor cores) */
    COMPUTE_32F_FAST_TF32("CUBLAS_COMPUTE_32F_FAST_TF32", 77);

    private final String cName;
    private final int code;

    CublasComputeType(String cName, int code) {
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
}
