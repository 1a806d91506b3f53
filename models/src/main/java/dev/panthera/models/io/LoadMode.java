package dev.panthera.models.io;

/**
 * How a weight reader gets a file's bytes: {@link #MAP} shares them with the operating system's page cache,
 * {@link #READ} copies them into memory the reader owns, {@link #HEAP} copies each tensor onto the Java heap.
 */
public enum LoadMode {
    /**
     * Memory-map the file read-only: no copy, pages loaded on first use and shared with the page cache and with
     * other processes mapping the same file. The file must stay as it was while the reader is open: a file truncated
     * by another process makes its lost pages unreadable, and while the readers check the file's size before handing
     * out a tensor (an {@link IllegalStateException} naming the file), a tensor already handed out reads the mapping
     * directly, and a read of a lost page inside JIT-compiled Vector API code can crash the JVM instead of throwing.
     */
    MAP,
    /**
     * Read the whole file into native memory the reader owns and frees on close: one copy and resident memory the
     * size of the file, and nothing another process does to the file afterwards affects the open reader. Use it for
     * files you do not control.
     */
    READ,
    /**
     * Memory-map the file and copy each F32 tensor, on first request, into a Java array; tensors of other dtypes are
     * held as {@link #MAP} holds them. The F32 tensors then live on the Java heap (counted against {@code -Xmx},
     * freed by the collector once unreachable), read-only as a mapping's are, and no longer depend on the file or on
     * this reader (they stay readable after it closes). F32 decode runs faster over them: its matrix-vector products
     * read heap arrays with array loads, whose bounds check the JIT moves out of the loop, where a load from a mapped
     * or native segment keeps its bounds and liveness checks inside the loop in a program that passes several kinds
     * of segment through the same kernels. The kernels of the other dtypes read through segment loads, which are
     * slower from a heap array than from a mapping; hence F32 only. Costs a copy at load and heap memory the size of
     * the F32 tensors; one too large for one array (2^34 bytes), or larger than half of the heap still free when it
     * is requested, is held as {@link #MAP} would hold it.
     */
    HEAP
}
