package dev.panthera.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The CUDA C kernel sources shipped as resources under {@code dev/panthera/cuda/kernels/}. */
public final class KernelSources {
    /** Kernel families, one .cu file each. */
    public static final List<String> FAMILIES =
            List.of("elementwise", "reductions", "norms", "softmax", "rope", "embedding", "indexing", "attention");

    /**
     * The GPU architectures the kernels are built for (CUDA 13 supports Turing and newer); CI compiles every family
     * for each with the real NVRTC.
     */
    public static final List<String> TARGET_ARCHS =
            List.of("sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120");

    private static final Pattern ENTRY = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(");

    private KernelSources() {}

    /** The complete source of {@code family}: common.cuh followed by the family's .cu. */
    public static String source(String family) {
        if (!FAMILIES.contains(family))
            throw new IllegalArgumentException("KernelSources: unknown family " + family + ", known " + FAMILIES);
        return resource("common.cuh") + "\n" + resource(family + ".cu");
    }

    /** The NVRTC options the backend compiles every family with for {@code arch} (e.g. "sm_90"). */
    public static List<String> compileOptions(String arch) {
        return List.of("--gpu-architecture=" + arch, "-default-device");
    }

    /** The extern "C" kernels {@code family} defines. */
    public static List<String> entryPoints(String family) {
        List<String> out = new ArrayList<>();
        Matcher m = ENTRY.matcher(source(family));
        while (m.find()) out.add(m.group(1));
        return out;
    }

    private static String resource(String name) {
        try (InputStream in = KernelSources.class.getResourceAsStream("kernels/" + name)) {
            if (in == null)
                throw new IllegalStateException("missing kernel resource dev/panthera/cuda/kernels/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
