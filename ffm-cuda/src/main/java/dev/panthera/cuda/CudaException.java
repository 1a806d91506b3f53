package dev.panthera.cuda;

/** A CUDA library call returned a non-zero status. */
public class CudaException extends RuntimeException {
    private final String library;
    private final String function;
    private final int code;
    private final String codeName;

    public CudaException(String library, String function, int code, String codeName, String libraryMessage) {
        super(library + " " + function + " failed: " + code + " (" + codeName + ")"
                + (libraryMessage == null || libraryMessage.isEmpty() ? "" : ": " + libraryMessage));
        this.library = library;
        this.function = function;
        this.code = code;
        this.codeName = codeName;
    }

    public String library() { return library; }
    public String function() { return function; }
    public int code() { return code; }
    public String codeName() { return codeName; }
}
