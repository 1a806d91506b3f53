package dev.panthera.cuda;

/** {@code cudaMemcpyKind} (driver_types.h). */
public enum CudaMemcpyKind {
    /** cudaMemcpyHostToHost = 0 */
    HOST_TO_HOST("cudaMemcpyHostToHost", 0),
    /** cudaMemcpyHostToDevice = 1 */
    HOST_TO_DEVICE("cudaMemcpyHostToDevice", 1),
    /** cudaMemcpyDeviceToHost = 2 */
    DEVICE_TO_HOST("cudaMemcpyDeviceToHost", 2),
    /** cudaMemcpyDeviceToDevice = 3 */
    DEVICE_TO_DEVICE("cudaMemcpyDeviceToDevice", 3),
    /** cudaMemcpyDefault = 4 (direction inferred from unified addressing) */
    DEFAULT("cudaMemcpyDefault", 4);

    private final String cName;
    private final int code;

    CudaMemcpyKind(String cName, int code) {
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
