package dev.panthera.cuda;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiled kernels on disk. The key is SHA-256 over the source, the options, the architecture and the compiler's
 * version, so any change recompiles. Each entry holds a magic, the payload's SHA-256 and length, then the payload;
 * an entry that is truncated, altered or unreadable is ignored, recompiled and rewritten (atomically).
 */
public final class KernelCache {
    private static final Logger LOG = LoggerFactory.getLogger(KernelCache.class);
    private static final byte[] MAGIC = "PNTHRCU1".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + 32 + 8;

    /** Turns CUDA C into a loadable image (NVRTC in production, a fake in tests). */
    @FunctionalInterface
    public interface Compiler {
        /** Compiles {@code source} for {@code arch} with {@code options}. */
        byte[] compile(String name, String source, List<String> options, String arch);
    }

    private final Path dir;
    private final Compiler compiler;
    private final String compilerVersion;

    /** A cache in {@code dir} over {@code compiler}, whose version string takes part in every key. */
    public KernelCache(Path dir, Compiler compiler, String compilerVersion) {
        this.dir = dir;
        this.compiler = compiler;
        this.compilerVersion = compilerVersion;
    }

    /**
     * The default folder: system property {@code panthera.cuda.cache}, else {@code $XDG_CACHE_HOME/panthera/cuda},
     * else {@code ~/.cache/panthera/cuda}.
     */
    public static Path defaultDirectory() {
        String p = System.getProperty("panthera.cuda.cache");
        if (p != null && !p.isBlank()) return Path.of(p);
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "panthera", "cuda");
        return Path.of(System.getProperty("user.home"), ".cache", "panthera", "cuda");
    }

    /** The cache key (hex SHA-256) of one compilation. */
    public String key(String source, List<String> options, String arch) {
        MessageDigest md = sha256();
        for (String part : concat(source, options, arch)) {
            byte[] b = part.getBytes(StandardCharsets.UTF_8);
            md.update(ByteBuffer.allocate(8).putLong(b.length).array()); // length-prefixed: no ambiguity between fields
            md.update(b);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private List<String> concat(String source, List<String> options, String arch) {
        List<String> parts = new java.util.ArrayList<>();
        parts.add(source);
        parts.add(String.valueOf(options.size()));
        parts.addAll(options);
        parts.add(arch);
        parts.add(compilerVersion);
        return parts;
    }

    /** The file an entry lives in. */
    public Path entryPath(String source, List<String> options, String arch) {
        return dir.resolve(key(source, options, arch) + ".bin");
    }

    /** The cached image, or a fresh compilation stored for next time. */
    public byte[] get(String name, String source, List<String> options, String arch) {
        Path file = entryPath(source, options, arch);
        byte[] cached = read(file);
        if (cached != null) return cached;
        byte[] image = compiler.compile(name, source, options, arch);
        write(file, image);
        return image;
    }

    private static byte[] read(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            byte[] all = Files.readAllBytes(file);
            if (all.length < HEADER || !Arrays.equals(all, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
                LOG.warn("kernel cache entry {} has a bad header; recompiling", file);
                return null;
            }
            long length = ByteBuffer.wrap(all, MAGIC.length + 32, 8).getLong();
            if (length != all.length - HEADER) {
                LOG.warn("kernel cache entry {} is truncated; recompiling", file);
                return null;
            }
            byte[] payload = Arrays.copyOfRange(all, HEADER, all.length);
            if (!Arrays.equals(sha256().digest(payload), Arrays.copyOfRange(all, MAGIC.length, MAGIC.length + 32))) {
                LOG.warn("kernel cache entry {} fails its checksum; recompiling", file);
                return null;
            }
            return payload;
        } catch (IOException e) {
            LOG.warn("kernel cache entry {} unreadable ({}); recompiling", file, e.toString());
            return null;
        }
    }

    private static void write(Path file, byte[] image) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            ByteBuffer buf = ByteBuffer.allocate(HEADER + image.length);
            buf.put(MAGIC).put(sha256().digest(image)).putLong(image.length).put(image);
            Files.write(tmp, buf.array());
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            LOG.warn(
                    "could not write kernel cache entry {} ({}); the kernel will be recompiled next time",
                    file,
                    e.toString());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
