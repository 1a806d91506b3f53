package dev.panthera.bench.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's peak resident set (Linux's VmHWM in /proc/self/status) and its reset (writing 5 to
 * /proc/self/clear_refs, Linux 4.0 and later), so that each measured configuration reports its own peak. Where /proc
 * is missing, {@link #kib()} is NaN.
 */
final class PeakRss {
    private PeakRss() {}

    /** Resets the peak to the current resident set; does nothing where the kernel does not allow it. */
    static void reset() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | UnsupportedOperationException e) {
            System.out.println("peak RSS not reset (" + e.getMessage() + "): it covers the whole run");
        }
    }

    /** The peak resident set since the last reset (or the start), in KiB; NaN where /proc is missing. */
    static double kib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Double.parseDouble(line.replaceAll("[^0-9]", ""));
        } catch (IOException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
