package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The caching allocator: size classes, reuse, eviction, trimming, and that reused memory is never read stale. */
class MemoryPoolTest {

    /**
     * Native blocks from shared arenas, counting allocations and frees; fails on demand (with the unchecked exception a
     * device allocator throws: surefire's forked JVM stops on an OutOfMemoryError).
     */
    private static final class Source implements MemoryPool.NativeAllocator {
        int allocated, freed, failNext;

        @Override
        public MemoryPool.Block allocate(long bytes) {
            if (failNext > 0) {
                failNext--;
                throw new IllegalStateException("test: no memory for " + bytes + " bytes");
            }
            allocated++;
            Arena a = Arena.ofShared();
            return new MemoryPool.Block(a.allocate(bytes, 64), () -> {
                freed++;
                a.close();
            });
        }
    }

    @Test
    void sizeClassesCoverTheRequestWithAtMostAnEighthToSpare() {
        long prev = 0;
        for (long b = 1; b < 1 << 20; b += 1 + b / 97) {
            long c = MemoryPool.sizeClassBytes(b);
            assertTrue(c >= b, b + " -> " + c);
            assertTrue(c >= prev, "classes grow with the request: " + b);
            if (b > 512) assertTrue(c <= b + b / 8 + 1, b + " -> " + c);
            else assertEquals(64 * ((b + 63) / 64), c, "small requests round to 64 bytes: " + b);
            assertEquals(c, MemoryPool.sizeClassBytes(c), "a class size is its own class");
            prev = c;
        }
        assertEquals(64, MemoryPool.sizeClassBytes(0));
        assertEquals(3L << 40, MemoryPool.sizeClassBytes((3L << 40) - 5));
    }

    @Test
    void releasedBlocksAreReusedBySizeClass() {
        Source src = new Source();
        MemoryPool pool = new MemoryPool("test", src, 1 << 20);
        MemoryPool.Allocation a = pool.allocate(1000);
        assertFalse(a.reused());
        assertEquals(1024, a.memory().byteSize());
        a.release();
        assertFalse(a.isLive());
        a.release(); // a second release does nothing
        assertEquals(1024, pool.stats().bytesCached());
        MemoryPool.Allocation b = pool.allocate(990); // same class
        assertTrue(b.reused());
        assertSame(a.memory(), b.memory());
        MemoryPool.Allocation c = pool.allocate(100); // another class: a new block
        assertEquals(2, src.allocated);
        assertEquals(1024 + 128, pool.stats().bytesInUse());
        b.release();
        c.release();
        MemoryPool.Stats s = pool.stats();
        assertEquals(0, s.bytesInUse());
        assertEquals(1024 + 128, s.bytesCached());
        assertEquals(1024 + 128, s.peakBytesInUse());
        assertEquals(2, s.nativeAllocations());
        assertEquals(1, s.cacheHits());
    }

    @Test
    void theCacheIsTrimmedPastItsLimitOnDemandAndWhenAllocationFails() {
        Source src = new Source();
        MemoryPool pool = new MemoryPool("test", src, 3000);
        List<MemoryPool.Allocation> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) held.add(pool.allocate(1024));
        for (MemoryPool.Allocation a : held) a.release();
        assertEquals(2048, pool.stats().bytesCached(), "two blocks beyond the 3000-byte limit were freed");
        assertEquals(2, src.freed);
        assertEquals(2048, pool.trim());
        assertEquals(4, src.freed);
        assertEquals(0, pool.stats().bytesCached());

        pool.maxCachedBytes(1 << 20);
        pool.allocate(4096).release();
        assertEquals(4096, pool.stats().bytesCached());
        src.failNext = 1;
        MemoryPool.Allocation big = pool.allocate(1 << 16); // fails once, trims the cached 4096, retries
        assertEquals(5, src.freed);
        assertTrue(big.isLive());
        src.failNext = 1;
        assertThrows(
                IllegalStateException.class, () -> pool.allocate(1 << 17), "nothing cached to trim: the error stays");
        pool.maxCachedBytes(0);
        big.release();
        assertEquals(0, pool.stats().bytesCached(), "a zero limit caches nothing");
        assertThrows(IllegalArgumentException.class, () -> pool.maxCachedBytes(-1));
    }

    @Test
    void aPoolThatFollowsItsPeakKeepsAWholeIterationAboveItsLimit() {
        Source src = new Source();
        // a 3000-byte limit and iterations that hold four 1024-byte blocks at once (4096 bytes at the peak)
        MemoryPool pool = new MemoryPool("test", src, 3000, true);
        for (int iteration = 0; iteration < 3; iteration++) {
            List<MemoryPool.Allocation> held = new ArrayList<>();
            for (int i = 0; i < 4; i++) held.add(pool.allocate(1024));
            for (MemoryPool.Allocation a : held) a.release();
            assertEquals(4096, pool.stats().bytesCached(), "the whole iteration stays cached, iteration " + iteration);
        }
        assertEquals(4, src.allocated, "iterations after the first allocate no native memory");
        assertEquals(0, src.freed);
        assertEquals(4096, pool.maxCachedBytes(), "the limit in force is the peak in use");
        pool.resetPeak();
        pool.allocate(1024).release();
        assertEquals(4096, pool.stats().bytesCached(), "resetPeak starts a measurement; the cache keeps following");

        pool.maxCachedBytes(3000); // an explicit limit ends the following: the block beyond it is freed now
        assertEquals(3000, pool.maxCachedBytes());
        assertEquals(2048, pool.stats().bytesCached());
        assertEquals(2, src.freed);

        MemoryPool plain = new MemoryPool("test", new Source(), 3000);
        List<MemoryPool.Allocation> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) held.add(plain.allocate(1024));
        for (MemoryPool.Allocation a : held) a.release();
        assertEquals(2048, plain.stats().bytesCached(), "a pool that does not follow its peak keeps to its limit");
    }

    @Test
    void aStaleTensorNeverReadsTheBlockItsSuccessorReuses() {
        Tensor stale;
        try (var scope = MemoryScope.open()) {
            stale = Tensor.full(DType.F32, 7, 256).name("stale");
        }
        try (var scope = MemoryScope.open()) {
            Tensor fresh = Tensor.zeros(256); // same size class: very likely the same block
            assertArrayEquals(new float[256], fresh.toFloatArray(), "reused blocks are zero-filled");
            IllegalStateException e = assertThrows(IllegalStateException.class, stale::toFloatArray);
            assertTrue(e.getMessage().contains("'stale'"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> stale.storage().segment());
            assertThrows(IllegalStateException.class, () -> stale.add_(1));
        }
    }

    @Test
    void keepCopiesIntoTheParentScopesPoolAndOwnership() {
        try (var outer = MemoryScope.open()) {
            Tensor kept;
            try (var inner = MemoryScope.open()) {
                Tensor t = Tensor.arange(0, 8, 1);
                assertSame(inner, t.storage().owner());
                kept = inner.keep(t);
                assertNotSame(t.storage(), kept.storage());
            }
            assertSame(outer, kept.storage().owner());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7}, kept.toLongArray());
        }
    }

    @Test
    void aBlockThatFailsToFreeDoesNotKeepTheOthersFromGoingBack() {
        int[] frees = {0};
        MemoryPool pool = new MemoryPool(
                "failing",
                bytes -> {
                    Arena a = Arena.ofShared();
                    return new MemoryPool.Block(a.allocate(bytes, 64), () -> {
                        a.close();
                        if (++frees[0] == 1) throw new IllegalStateException("free failed");
                    });
                },
                0); // nothing cached: every release frees its block
        Tensor[] ts = new Tensor[3];
        try (Handle h = Backends.use(FakeDevice.backend(pool))) {
            MemoryScope scope = MemoryScope.open();
            for (int i = 0; i < 3; i++) ts[i] = Tensor.zeros(DType.F32, Shape.of(4 + i), FakeDevice.DEVICE);
            assertEquals(3, pool.stats().nativeAllocations());
            IllegalStateException e = assertThrows(IllegalStateException.class, scope::close);
            assertEquals("free failed", e.getMessage());
            assertEquals(null, MemoryScope.current(), "the scope is closed all the same");
        }
        assertEquals(3, frees[0], "every block was freed");
        for (Tensor t : ts) assertFalse(t.storage().isAlive());
        assertEquals(0, pool.stats().bytesInUse());
    }

    @Test
    void theScopeArenaIsMadeOnDemandAndClosedWithTheScope() {
        Arena a;
        try (var scope = MemoryScope.open()) {
            a = scope.arena();
            assertSame(a, scope.arena());
            Tensor t = Tensor.fromSegment(a.allocate(16), DType.F32, Shape.of(4));
            assertSame(t, scope.keep(t), "memory the scope does not own is not copied");
        }
        assertFalse(a.scope().isAlive());
    }
}
