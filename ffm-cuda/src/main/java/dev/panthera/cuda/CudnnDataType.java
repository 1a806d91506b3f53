package dev.panthera.cuda;

import dev.panthera.tensor.DType;

/** {@code cudnnDataType_t} (cudnn_graph.h in cuDNN 9). */
public enum CudnnDataType {
    /** CUDNN_DATA_FLOAT = 0 */
    FLOAT("CUDNN_DATA_FLOAT", 0),
    /** CUDNN_DATA_DOUBLE = 1 */
    DOUBLE("CUDNN_DATA_DOUBLE", 1),
    /** CUDNN_DATA_HALF = 2 */
    HALF("CUDNN_DATA_HALF", 2),
    /** CUDNN_DATA_INT8 = 3 */
    INT8("CUDNN_DATA_INT8", 3),
    /** CUDNN_DATA_INT32 = 4 */
    INT32("CUDNN_DATA_INT32", 4),
    /** CUDNN_DATA_UINT8 = 6 */
    UINT8("CUDNN_DATA_UINT8", 6),
    /** CUDNN_DATA_BFLOAT16 = 9 */
    BFLOAT16("CUDNN_DATA_BFLOAT16", 9),
    /** CUDNN_DATA_INT64 = 10 */
    INT64("CUDNN_DATA_INT64", 10),
    /** CUDNN_DATA_BOOLEAN = 11 */
    BOOLEAN("CUDNN_DATA_BOOLEAN", 11);

    private final String cName;
    private final int code;

    CudnnDataType(String cName, int code) {
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

    /** The cuDNN type of a floating Panthera dtype. */
    public static CudnnDataType of(DType dtype) {
        return switch (dtype) {
            case F32 -> FLOAT;
            case F64 -> DOUBLE;
            case F16 -> HALF;
            case BF16 -> BFLOAT16;
            default -> throw new IllegalArgumentException("cudnnDataType: softmax needs a float dtype, got " + dtype);
        };
    }
}
