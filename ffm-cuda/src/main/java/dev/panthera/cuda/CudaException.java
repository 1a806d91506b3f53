package dev.panthera.cuda;

/**
 * A CUDA library call returned a non-zero status, or a library or symbol could not be found. Carries the library,
 * the C function, the numeric status, its symbolic name and the library's own message.
 */
public class CudaException extends RuntimeException {
    /** Pseudo-status: the shared library could not be loaded. */
    public static final int NO_LIBRARY = -1;
    /** Pseudo-status: the library does not export the function. */
    public static final int SYMBOL_NOT_FOUND = -2;
    /** Pseudo-status: the object was used after it was closed, or after the backend failed. */
    public static final int CLOSED = -3;

    private final String library;
    private final String function;
    private final int code;
    private final String codeName;
    private final String libraryMessage;

    /** A failure of {@code function} in {@code library} with status {@code code} ({@code codeName}). */
    public CudaException(String library, String function, int code, String codeName, String libraryMessage) {
        super(library + " " + function + " failed: " + code + " (" + codeName + ")"
                + (libraryMessage == null || libraryMessage.isEmpty() ? "" : ": " + libraryMessage));
        this.library = library;
        this.function = function;
        this.code = code;
        this.codeName = codeName;
        this.libraryMessage = libraryMessage;
    }

    /** The library's short name ("cudart", "cublas", "cudnn", "nvrtc", "cuda"). */
    public String library() {
        return library;
    }
    /** The C function that failed. */
    public String function() {
        return function;
    }
    /** The numeric status (negative for the pseudo-statuses above). */
    public int code() {
        return code;
    }
    /** The status's symbolic name ("cudaErrorInsufficientDriver"). */
    public String codeName() {
        return codeName;
    }
    /** The library's message for the status, or null. */
    public String libraryMessage() {
        return libraryMessage;
    }
}
