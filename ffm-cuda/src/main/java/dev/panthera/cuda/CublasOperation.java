package dev.panthera.cuda;

/** {@code cublasOperation_t} (cublas_api.h). */
public enum CublasOperation {
    /** CUBLAS_OP_N = 0 */
    N("CUBLAS_OP_N", 0),
    /** CUBLAS_OP_T = 1 */
    T("CUBLAS_OP_T", 1),
    /** CUBLAS_OP_C = 2 */
    C("CUBLAS_OP_C", 2);

    private final String cName;
    private final int code;

    CublasOperation(String cName, int code) {
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
