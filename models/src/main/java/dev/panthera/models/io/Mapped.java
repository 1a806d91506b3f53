package dev.panthera.models.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Read-only memory mapping of a whole file into an arena the caller owns, and the aligned-view helper. */
final class Mapped {
    private Mapped() {}

    /** Maps {@code path} read-only into {@code arena}; the mapping is released when the arena closes. */
    static MemorySegment map(Path path, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) return arena.allocate(0); // mapping zero bytes is not allowed; nothing to read anyway
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        }
    }

    /** Parses a file image whose lifetime {@code arena} owns. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(MemorySegment file, Arena arena) throws IOException;
    }

    /**
     * Maps {@code path} into a new shared arena and parses it; the result owns the arena. If parsing fails the arena is
     * closed before the exception propagates, so a rejected file leaves no mapping behind.
     */
    static <T> T open(Path path, Parser<T> parser) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return parser.parse(map(path, arena), arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * {@code s} itself when its address is a multiple of {@code align} (zero copy); otherwise a copy in {@code arena}
     * with that alignment, because typed element access needs naturally aligned addresses.
     */
    static MemorySegment aligned(MemorySegment s, long align, Arena arena) {
        if (s.isNative() && s.address() % align == 0) return s;
        MemorySegment copy = arena.allocate(Math.max(1, s.byteSize()), align).asSlice(0, s.byteSize());
        copy.copyFrom(s);
        return copy;
    }
}
