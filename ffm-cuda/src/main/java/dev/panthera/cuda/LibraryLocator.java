package dev.panthera.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where a CUDA library is looked for, in this documented order: first an explicit file (the system property
 * {@link CudaLibrary#propertyName()}, then the environment variable {@link CudaLibrary#environmentName()}); then, for
 * each soname in turn (CUDA 13 everywhere before CUDA 12 anywhere, so a system {@code .so.12} never wins over a
 * wheel's {@code .so.13}):
 * <ol>
 *   <li>the bare soname, which the dynamic loader resolves through LD_LIBRARY_PATH and ldconfig;</li>
 *   <li>{@code $CUDA_HOME/lib64} and {@code $CUDA_HOME/lib} (also {@code $CUDA_PATH});</li>
 *   <li>{@code /usr/local/cuda/lib64}, then {@code /usr/local/cuda-*}/lib64 newest version first;</li>
 *   <li>Python site-packages folders (of {@code $VIRTUAL_ENV}, {@code $CONDA_PREFIX}, ~/.local, /usr/local and /usr),
 *       below them NVIDIA's wheel folders {@code nvidia/cu13/lib} and {@code nvidia/cudnn/lib} (and CUDA 12's
 *       {@code nvidia/cublas/lib}-style folders), with {@code PANTHERA_PYTHON_SITE_PACKAGES} (a path list) first.</li>
 * </ol>
 * Only files that exist are listed for the folder steps. With a pinned CUDA major (the process already loaded a
 * library of that major), only that major's sonames are tried for the libraries that follow the toolkit's major.
 * The locator is pure: it reads an {@link Environment},
 * so tests run it over fake folders.
 */
public final class LibraryLocator {
    private LibraryLocator() {}

    /** What discovery reads: properties, environment variables, and the roots standing for / and the home folder. */
    public record Environment(
            Map<String, String> properties, Map<String, String> variables, Path usrLocal, Path usr, Path home) {
        /** The real JVM and machine. */
        public static Environment system() {
            Map<String, String> props = new java.util.HashMap<>();
            for (String name : System.getProperties().stringPropertyNames()) props.put(name, System.getProperty(name));
            return new Environment(
                    props,
                    System.getenv(),
                    Path.of("/usr/local"),
                    Path.of("/usr"),
                    Path.of(System.getProperty("user.home", "/root")));
        }
    }

    /** One place to try: an absolute file, or a bare soname for the dynamic loader. */
    public record Candidate(String target, boolean bareSoname, String origin) {
        @Override
        public String toString() {
            return target + " (" + origin + ")";
        }
    }

    /** The candidates for {@code lib}, in the order they are tried, with no CUDA major pinned. */
    public static List<Candidate> candidates(CudaLibrary lib, Environment env) {
        return candidates(lib, env, 0);
    }

    /**
     * The candidates for {@code lib}, in the order they are tried; when {@code pinnedMajor} is non-zero and the
     * library follows the toolkit's major, only sonames of that major are tried (explicit files are kept).
     */
    public static List<Candidate> candidates(CudaLibrary lib, Environment env, int pinnedMajor) {
        Set<String> seen = new LinkedHashSet<>();
        List<Candidate> out = new ArrayList<>();
        String prop = env.properties().get(lib.propertyName());
        if (prop != null && !prop.isBlank())
            add(out, seen, new Candidate(prop, false, "system property " + lib.propertyName()));
        String var = env.variables().get(lib.environmentName());
        if (var != null && !var.isBlank())
            add(out, seen, new Candidate(var, false, "environment " + lib.environmentName()));
        List<Path> cudaDirs = usrLocalCudaDirs(env.usrLocal());
        List<Path> sites = sitePackages(env);
        for (String soname : lib.sonames()) {
            if (pinnedMajor != 0 && lib.followsCudaMajor() && cudaMajor(soname) != pinnedMajor) continue;
            add(out, seen, new Candidate(soname, true, "dynamic loader"));
            for (String home : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
                String dir = env.variables().get(home);
                if (dir == null || dir.isBlank()) continue;
                for (String sub : new String[] {"lib64", "lib"})
                    addFile(out, seen, Path.of(dir, sub), soname, "$" + home);
            }
            for (Path cudaDir : cudaDirs) addFile(out, seen, cudaDir.resolve("lib64"), soname, cudaDir.toString());
            for (Path site : sites) {
                for (String sub : lib.pythonSubdirs()) addFile(out, seen, site.resolve(sub), soname, "python " + site);
            }
        }
        return out;
    }

    /** The CUDA major a soname or file name carries ({@code libcudart.so.13} → 13, {@code .so.13.3.1} → 13), or 0. */
    public static int cudaMajor(String name) {
        String file = Path.of(name).getFileName().toString();
        int at = file.lastIndexOf(".so.");
        if (at < 0) return 0;
        String rest = file.substring(at + 4);
        int dot = rest.indexOf('.');
        String major = dot < 0 ? rest : rest.substring(0, dot);
        if (major.isEmpty() || major.length() > 4 || !major.chars().allMatch(Character::isDigit)) return 0;
        return Integer.parseInt(major);
    }

    /**
     * Files to load before {@code lib} when it is opened from {@code file}: NVRTC opens {@code libnvrtc-builtins}
     * by soname at compile time, which the loader finds only on its search path, so when NVRTC comes from a folder
     * (a wheel, an unpacked redistributable) the builtins of the same major are loaded from that folder first.
     */
    public static List<Path> companions(CudaLibrary lib, Path file) {
        if (lib != CudaLibrary.NVRTC) return List.of();
        int major = cudaMajor(file.toString());
        Path dir = file.toAbsolutePath().getParent();
        if (major == 0 || dir == null || !Files.isDirectory(dir)) return List.of();
        String prefix = "libnvrtc-builtins.so." + major;
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                        String n = p.getFileName().toString();
                        return n.equals(prefix) || n.startsWith(prefix + ".");
                    })
                    .sorted()
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static void add(List<Candidate> out, Set<String> seen, Candidate c) {
        if (seen.add(c.target())) out.add(c);
    }

    private static void addFile(List<Candidate> out, Set<String> seen, Path dir, String soname, String origin) {
        Path file = dir.resolve(soname);
        if (Files.exists(file))
            add(out, seen, new Candidate(file.toAbsolutePath().normalize().toString(), false, origin));
    }

    /** /usr/local/cuda first, then /usr/local/cuda-X.Y newest version first. */
    static List<Path> usrLocalCudaDirs(Path usrLocal) {
        List<Path> dirs = new ArrayList<>();
        if (usrLocal == null || !Files.isDirectory(usrLocal)) return dirs;
        Path plain = usrLocal.resolve("cuda");
        if (Files.isDirectory(plain)) dirs.add(plain);
        try (Stream<Path> s = Files.list(usrLocal)) {
            s.filter(p -> p.getFileName().toString().startsWith("cuda-") && Files.isDirectory(p))
                    .sorted(Comparator.comparing((Path p) ->
                                    versionKey(p.getFileName().toString().substring(5)))
                            .reversed())
                    .forEach(dirs::add);
        } catch (IOException ignored) {
            // unreadable folder: nothing to add
        }
        return dirs;
    }

    private static String versionKey(String version) {
        StringBuilder key = new StringBuilder();
        for (String part : version.split("\\.")) {
            String digits = part.replaceAll("\\D", "");
            key.append(String.format(
                    "%06d",
                    digits.isEmpty()
                            ? 0
                            : Math.min(999_999, Long.parseLong(digits.substring(0, Math.min(6, digits.length()))))));
        }
        return key.toString();
    }

    /** Site-packages folders in the order searched. */
    static List<Path> sitePackages(Environment env) {
        List<Path> out = new ArrayList<>();
        String explicit = env.variables().get("PANTHERA_PYTHON_SITE_PACKAGES");
        if (explicit != null)
            for (String p : explicit.split(java.io.File.pathSeparator)) if (!p.isBlank()) out.add(Path.of(p));
        List<Path> prefixes = new ArrayList<>();
        for (String var : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = env.variables().get(var);
            if (v != null && !v.isBlank()) prefixes.add(Path.of(v));
        }
        if (env.home() != null) prefixes.add(env.home().resolve(".local"));
        if (env.usrLocal() != null) prefixes.add(env.usrLocal());
        if (env.usr() != null) prefixes.add(env.usr());
        for (Path prefix : prefixes) {
            Path lib = prefix.resolve("lib");
            if (!Files.isDirectory(lib)) continue;
            try (Stream<Path> s = Files.list(lib)) {
                s.filter(p -> p.getFileName().toString().startsWith("python3"))
                        .sorted(Comparator.reverseOrder())
                        .forEach(py -> {
                            for (String kind : new String[] {"site-packages", "dist-packages"}) {
                                Path sp = py.resolve(kind);
                                if (Files.isDirectory(sp)) out.add(sp);
                            }
                        });
            } catch (IOException ignored) {
                // unreadable: skip
            }
        }
        return out;
    }
}
