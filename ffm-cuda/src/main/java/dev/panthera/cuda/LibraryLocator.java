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
 * Where a CUDA library is looked for, in this documented order:
 * <ol>
 *   <li>an explicit file: the system property {@link CudaLibrary#propertyName()}, then the environment variable
 *       {@link CudaLibrary#environmentName()};</li>
 *   <li>the bare sonames (CUDA 13, then 12), which the dynamic loader resolves through LD_LIBRARY_PATH and ldconfig;</li>
 *   <li>{@code $CUDA_HOME/lib64} and {@code $CUDA_HOME/lib} (also {@code $CUDA_PATH});</li>
 *   <li>{@code /usr/local/cuda/lib64}, then {@code /usr/local/cuda-*}/lib64 newest version first;</li>
 *   <li>Python site-packages folders (of {@code $VIRTUAL_ENV}, {@code $CONDA_PREFIX}, ~/.local, /usr/local and /usr),
 *       below them NVIDIA's wheel folders {@code nvidia/cu13/lib} and {@code nvidia/cudnn/lib} (and CUDA 12's
 *       {@code nvidia/cublas/lib}-style folders), with {@code PANTHERA_PYTHON_SITE_PACKAGES} (a path list) first.</li>
 * </ol>
 * Only files that exist are listed for the folder steps. The locator is pure: it reads an {@link Environment},
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

    /** The candidates for {@code lib}, in the order they are tried. */
    public static List<Candidate> candidates(CudaLibrary lib, Environment env) {
        Set<String> seen = new LinkedHashSet<>();
        List<Candidate> out = new ArrayList<>();
        String prop = env.properties().get(lib.propertyName());
        if (prop != null && !prop.isBlank())
            add(out, seen, new Candidate(prop, false, "system property " + lib.propertyName()));
        String var = env.variables().get(lib.environmentName());
        if (var != null && !var.isBlank())
            add(out, seen, new Candidate(var, false, "environment " + lib.environmentName()));
        for (String soname : lib.sonames()) add(out, seen, new Candidate(soname, true, "dynamic loader"));
        for (String home : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String dir = env.variables().get(home);
            if (dir == null || dir.isBlank()) continue;
            for (String sub : new String[] {"lib64", "lib"}) addFiles(out, seen, lib, Path.of(dir, sub), "$" + home);
        }
        for (Path cudaDir : usrLocalCudaDirs(env.usrLocal()))
            addFiles(out, seen, lib, cudaDir.resolve("lib64"), cudaDir.toString());
        for (Path site : sitePackages(env)) {
            for (String sub : lib.pythonSubdirs()) addFiles(out, seen, lib, site.resolve(sub), "python " + site);
        }
        return out;
    }

    private static void add(List<Candidate> out, Set<String> seen, Candidate c) {
        if (seen.add(c.target())) out.add(c);
    }

    private static void addFiles(List<Candidate> out, Set<String> seen, CudaLibrary lib, Path dir, String origin) {
        for (String soname : lib.sonames()) {
            Path file = dir.resolve(soname);
            if (Files.exists(file))
                add(out, seen, new Candidate(file.toAbsolutePath().normalize().toString(), false, origin));
        }
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
