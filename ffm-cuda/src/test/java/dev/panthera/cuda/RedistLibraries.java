package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.reflect.Field;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * NVIDIA's real libraries from {@code org.bytedeco:cuda-redist} (a test dependency), unpacked once per build into
 * target/cuda-redist, and the functions a binding class declares.
 */
final class RedistLibraries {
    private static final String PREFIX = "org/bytedeco/cuda/linux-x86_64/";

    private RedistLibraries() {}

    /** Unpacks {@code names} from the redistributable jar (reused while the sizes match); returns their folder. */
    static synchronized Path unpack(String... names) throws IOException {
        Path dir = Path.of("target", "cuda-redist").toAbsolutePath();
        Files.createDirectories(dir);
        for (String name : names) {
            URL url = RedistLibraries.class.getClassLoader().getResource(PREFIX + name);
            assertNotNull(url, "org.bytedeco:cuda-redist on the test classpath has no " + PREFIX + name);
            Path out = dir.resolve(name);
            long size = url.openConnection().getContentLengthLong();
            if (!Files.exists(out) || Files.size(out) != size) {
                Path tmp = Files.createTempFile(dir, name, ".part");
                try (InputStream in = url.openStream()) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        return dir;
    }

    /** Opens exactly {@code file} as {@code lib} (no other candidate), for as long as {@code arena} lives. */
    static NativeLibrary open(CudaLibrary lib, Path file, Arena arena) {
        Path nothing = file.resolveSibling("none");
        var env = new LibraryLocator.Environment(
                Map.of(lib.propertyName(), file.toString()), Map.of(), nothing, nothing, nothing);
        NativeLibrary loaded = NativeLibrary.load(lib, env, arena);
        assertEquals(file.toString(), loaded.source());
        return loaded;
    }

    /** Every {@link NativeFunction} field of a binding object (Cudart, Cublas, ...): the symbols it binds. */
    static List<NativeFunction> bound(Object binding) {
        List<NativeFunction> out = new ArrayList<>();
        for (Field f : binding.getClass().getDeclaredFields()) {
            if (f.getType() != NativeFunction.class) continue;
            try {
                f.setAccessible(true);
                out.add((NativeFunction) f.get(binding));
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        assertFalse(out.isEmpty(), binding.getClass() + " binds no functions");
        return out;
    }

    /** The names of the bound functions the library does not export. */
    static List<String> missing(Object binding) {
        return bound(binding).stream()
                .filter(f -> !f.isPresent())
                .map(NativeFunction::name)
                .toList();
    }
}
