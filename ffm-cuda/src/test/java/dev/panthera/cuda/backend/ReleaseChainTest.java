package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The release order and failure handling CudaBackend.close relies on (no GPU needed). */
class ReleaseChainTest {
    @Test
    void releasesInReverseOrderOnce() {
        List<String> log = new ArrayList<>();
        ReleaseChain c = new ReleaseChain("test");
        c.add(() -> log.add("stream"));
        c.add(() -> log.add("cublas"));
        c.add(() -> log.add("modules"));
        c.close();
        c.close();
        assertEquals(List.of("modules", "cublas", "stream"), log);
        assertTrue(c.isClosed());
    }

    @Test
    void everyReleaseRunsWhenOneFailsAndTheFirstFailureSurfaces() {
        List<String> log = new ArrayList<>();
        ReleaseChain c = new ReleaseChain("test");
        c.add(() -> log.add("stream"));
        c.add(() -> {
            throw new IllegalStateException("cublas");
        });
        c.add(() -> {
            throw new IllegalArgumentException("cudnn");
        });
        var e = assertThrows(IllegalArgumentException.class, c::close);
        assertEquals("cudnn", e.getMessage());
        assertEquals("cublas", e.getSuppressed()[0].getMessage());
        assertEquals(List.of("stream"), log);
    }

    @Test
    void addingAfterCloseThrows() {
        ReleaseChain c = new ReleaseChain("backend");
        c.close();
        var e = assertThrows(IllegalStateException.class, () -> c.add(() -> {}));
        assertTrue(e.getMessage().contains("backend"), e.getMessage());
    }
}
