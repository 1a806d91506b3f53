package dev.panthera.models.io;

/**
 * How a weight reader gets a file's bytes: {@link #MAP} shares them with the operating system's page cache,
 * {@link #READ} copies them into memory the reader owns.
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
    READ
}
