package dev.panthera.simd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The packed GEMM's depth block KC: how many steps of k one micro-kernel call runs over a B sliver of KC × NR floats.
 *
 * <ul>
 *   <li>8-lane kernel (AVX2): 256 — the sliver (16 KiB) stays in L1.
 *   <li>16-lane kernel on AMD cores: 1024 — the sliver (128 KiB) lives in L2, which these cores stream into the FMA
 *       loop at full rate, and the long K loop halves the C-tile traffic per flop (tuned on Zen 4).
 *   <li>16-lane kernel elsewhere (Intel's AVX-512 cores, and any core not known to be AMD's): 256 — the sliver (32 KiB)
 *       stays in the 48 KiB L1. On an Intel Xeon (Emerald Rapids) the kernel ran 7–26% slower with a 128 KiB sliver
 *       read from L2 than with a 32 KiB one (BENCHMARKS.md).
 * </ul>
 *
 * The system property {@code panthera.simd.kc} (16 to 4096) overrides the choice. The value is read once, when the
 * GEMM classes load; every product of the process uses it.
 */
final class GemmDepth {
    private GemmDepth() {}

    static final String PROPERTY = "panthera.simd.kc";

    /** This process's KC for a kernel of {@code lanes} float lanes. */
    static int forThisMachine(int lanes) {
        return choose(lanes, vendor(Path.of("/proc/cpuinfo")), System.getProperty(PROPERTY));
    }

    /**
     * KC for a kernel of {@code lanes} lanes on a CPU of {@code vendor} (the cpuinfo vendor_id, or null when unknown),
     * or {@code override} when it is set.
     */
    static int choose(int lanes, String vendor, String override) {
        if (override != null && !override.isBlank()) {
            int kc;
            try {
                kc = Integer.parseInt(override.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        PROPERTY + ": expected an integer from 16 to 4096, got '" + override + "'");
            }
            if (kc < 16 || kc > 4096)
                throw new IllegalArgumentException(PROPERTY + ": expected an integer from 16 to 4096, got " + kc);
            return kc;
        }
        if (lanes < 16) return 256;
        return "AuthenticAMD".equals(vendor) ? 1024 : 256;
    }

    /** The first vendor_id in a cpuinfo file; null where the file is absent or unreadable (not Linux) or has none. */
    static String vendor(Path cpuinfo) {
        try (var lines = Files.lines(cpuinfo)) {
            return lines.filter(l -> l.toLowerCase(Locale.ROOT).startsWith("vendor_id"))
                    .map(l -> l.substring(l.indexOf(':') + 1).strip())
                    .findFirst()
                    .orElse(null);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
