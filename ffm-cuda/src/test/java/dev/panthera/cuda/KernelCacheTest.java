package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-disk kernel cache with a fake compiler that counts its calls. */
class KernelCacheTest {
    @TempDir
    Path dir;

    final AtomicInteger compiles = new AtomicInteger();
    final KernelCache.Compiler fake = (name, src, opts, arch) -> {
        compiles.incrementAndGet();
        return (name + "|" + arch + "|" + String.join(",", opts) + "|" + src).getBytes(StandardCharsets.UTF_8);
    };

    @Test
    void secondRequestIsServedFromDiskEvenByANewCacheObject() {
        byte[] first = new KernelCache(dir, fake, "13.0").get("k", "src", List.of("-O3"), "sm_90");
        byte[] second = new KernelCache(dir, fake, "13.0").get("k", "src", List.of("-O3"), "sm_90");
        assertArrayEquals(first, second);
        assertEquals(1, compiles.get());
    }

    @Test
    void everyKeyPartChangesTheKey() {
        KernelCache c = new KernelCache(dir, fake, "13.0");
        String base = c.key("src", List.of("-O3"), "sm_90");
        assertNotEquals(base, c.key("src2", List.of("-O3"), "sm_90"));
        assertNotEquals(base, c.key("src", List.of("-O2"), "sm_90"));
        assertNotEquals(base, c.key("src", List.of("-O3"), "sm_100"));
        assertNotEquals(base, new KernelCache(dir, fake, "13.1").key("src", List.of("-O3"), "sm_90"));
        // field boundaries matter: ("a","bc") and ("ab","c") must not collide
        assertNotEquals(c.key("a", List.of("bc"), "x"), c.key("ab", List.of("c"), "x"));
        assertNotEquals(c.key("s", List.of("a", "b"), "x"), c.key("s", List.of("a"), "b"));
        assertEquals(base, c.key("src", List.of("-O3"), "sm_90"));
        assertEquals(64, base.length());
    }

    @Test
    void corruptTruncatedOrForeignEntriesAreRebuilt() throws Exception {
        KernelCache c = new KernelCache(dir, fake, "13.0");
        byte[] good = c.get("k", "src", List.of(), "sm_90");
        Path entry = c.entryPath("src", List.of(), "sm_90");
        byte[] stored = Files.readAllBytes(entry);

        byte[] flipped = stored.clone();
        flipped[flipped.length - 1] ^= 1;
        Files.write(entry, flipped);
        assertArrayEquals(good, c.get("k", "src", List.of(), "sm_90"));
        assertEquals(2, compiles.get());
        assertArrayEquals(stored, Files.readAllBytes(entry), "entry rewritten");

        Files.write(entry, java.util.Arrays.copyOf(stored, stored.length - 3));
        assertArrayEquals(good, c.get("k", "src", List.of(), "sm_90"));
        assertEquals(3, compiles.get());

        Files.writeString(entry, "garbage");
        assertArrayEquals(good, c.get("k", "src", List.of(), "sm_90"));
        assertEquals(4, compiles.get());

        Files.write(entry, new byte[0]);
        assertArrayEquals(good, c.get("k", "src", List.of(), "sm_90"));
        assertEquals(5, compiles.get());

        assertArrayEquals(good, c.get("k", "src", List.of(), "sm_90"));
        assertEquals(5, compiles.get(), "healthy entry reused");
    }

    @Test
    void anUnwritableFolderStillCompiles() throws Exception {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        KernelCache c = new KernelCache(file.resolve("sub"), fake, "13.0");
        assertNotNull(c.get("k", "src", List.of(), "sm_90"));
        assertNotNull(c.get("k", "src", List.of(), "sm_90"));
        assertEquals(2, compiles.get());
    }

    @Test
    void compileErrorsPropagateAndNothingIsCached() {
        KernelCache c = new KernelCache(
                dir,
                (n, s, o, a) -> {
                    throw new CudaException(
                            "nvrtc", "nvrtcCompileProgram", 6, "NVRTC_ERROR_COMPILATION", "error: expected ';'");
                },
                "13.0");
        CudaException e = assertThrows(CudaException.class, () -> c.get("k", "bad", List.of(), "sm_90"));
        assertTrue(e.getMessage().contains("expected ';'"));
        assertFalse(Files.exists(c.entryPath("bad", List.of(), "sm_90")));
    }
}
