package dev.panthera.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How much of a mapping this process holds in physical memory, from Linux's {@code /proc/self/smaps}: the "Rss:" line
 * of each mapping counts the pages in this process's page tables, not the page cache, so it falls to zero when the
 * process gives a file mapping's pages back ({@code madvise(MADV_DONTNEED)}, {@link
 * java.lang.foreign.MemorySegment#unload}) even though the file stays cached. Tests that check such a release skip,
 * with a message, where {@link #available} is false.
 */
public final class ResidentPages {
    private ResidentPages() {}

    private static final Path SMAPS = Path.of("/proc/self/smaps");

    /** Whether this system reports per-mapping residency. */
    public static boolean available() {
        return Files.isReadable(SMAPS);
    }

    /** Kilobytes resident of the mapping that holds {@code address}; an address in no mapping is an exception. */
    public static long kilobytesAt(long address) throws IOException {
        List<String> lines = Files.readAllLines(SMAPS);
        for (int i = 0; i < lines.size(); i++) {
            long[] range = range(lines.get(i));
            if (range == null
                    || Long.compareUnsigned(address, range[0]) < 0
                    || Long.compareUnsigned(address, range[1]) >= 0) continue;
            for (int j = i + 1; j < lines.size() && range(lines.get(j)) == null; j++) {
                if (lines.get(j).startsWith("Rss:")) return kilobytes(lines.get(j));
            }
            throw new IllegalStateException("no Rss line for the mapping of 0x" + Long.toHexString(address));
        }
        throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is in no mapping of this process");
    }

    /** Kilobytes resident over every mapping of {@code file} (by its absolute path, as smaps names it). */
    public static long kilobytesOf(Path file) throws IOException {
        String name = file.toAbsolutePath().toString();
        List<String> lines = Files.readAllLines(SMAPS);
        long total = 0;
        boolean inFile = false;
        for (String line : lines) {
            if (range(line) != null) {
                inFile = line.endsWith(" " + name);
            } else if (inFile && line.startsWith("Rss:")) {
                total += kilobytes(line);
            }
        }
        return total;
    }

    /** [start, end) of a mapping's header line ("7f12...-7f13... r--s ..."), or null for a field line. */
    private static long[] range(String line) {
        int dash = line.indexOf('-'), space = line.indexOf(' ');
        if (dash <= 0 || space <= dash || line.endsWith(" kB") || line.contains(":") && line.indexOf(':') < dash) {
            return null;
        }
        try {
            return new long[] {
                Long.parseUnsignedLong(line, 0, dash, 16), Long.parseUnsignedLong(line, dash + 1, space, 16)
            };
        } catch (NumberFormatException notAHeader) {
            return null;
        }
    }

    private static long kilobytes(String rssLine) {
        String v = rssLine.substring("Rss:".length()).strip();
        if (!v.endsWith(" kB")) throw new IllegalStateException("unexpected smaps line: " + rssLine);
        return Long.parseLong(v.substring(0, v.length() - 3).strip());
    }
}
