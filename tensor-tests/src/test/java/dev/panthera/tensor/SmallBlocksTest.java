package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * GC-managed storage carved from per-thread slabs ({@link SmallBlocks}): every block is zero-filled, 64-byte aligned,
 * holds its own bytes (no two blocks overlap), large requests get memory of their own, threads do not share a slab,
 * and a slab is freed once nothing over it is reachable.
 */
class SmallBlocksTest {
    record Request(DType dtype, long numel) {}

    @Provide
    Arbitrary<Request> requests() {
        return Arbitraries.of(DType.F32, DType.F64, DType.F16, DType.I8, DType.I64, DType.BOOL)
                .flatMap(d -> Arbitraries.longs()
                        .between(0, 2 * SmallBlocks.MAX_BYTES / d.byteSize())
                        .map(n -> new Request(d, n)));
    }

    @Property(tries = 200)
    void blocksAreZeroedAlignedAndDisjoint(@ForAll @Size(min = 1, max = 60) List<@From("requests") Request> requests) {
        List<MemorySegment> blocks = new ArrayList<>();
        for (Request r : requests) {
            Storage s = Storage.gcManaged(r.dtype(), r.numel());
            assertEquals(r.numel(), s.numel());
            MemorySegment m = s.segment();
            assertTrue(m.byteSize() >= r.numel() * r.dtype().byteSize());
            assertEquals(0, m.address() % Storage.ALIGNMENT, "block address " + m.address());
            for (long i = 0; i < m.byteSize(); i++) assertEquals(0, m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
            blocks.add(m);
        }
        // each block filled with its own index, then every block still holds only its own index
        for (int b = 0; b < blocks.size(); b++) blocks.get(b).fill((byte) (b + 1));
        for (int b = 0; b < blocks.size(); b++) {
            MemorySegment m = blocks.get(b);
            for (long i = 0; i < m.byteSize(); i++) {
                assertEquals((byte) (b + 1), m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i), "block " + b);
            }
        }
    }

    @Test
    void smallTensorsOfOneThreadShareASlabAndLargeOnesDoNot() {
        // allocate until a block starts a fresh slab; the block after it comes from the same slab
        Storage first = Storage.gcManaged(DType.F32, 4), a;
        do {
            a = Storage.gcManaged(DType.F32, 4);
        } while (a.owner() == first.owner());
        Storage b = Storage.gcManaged(DType.F32, 4);
        assertSame(a.owner(), b.owner(), "two small blocks in a row share a slab");
        assertEquals(a.segment().address() + Storage.ALIGNMENT, b.segment().address(), "the next block follows");
        Storage big = Storage.gcManaged(DType.F32, SmallBlocks.MAX_BYTES / 4 + 1);
        Storage next = Storage.gcManaged(DType.F32, SmallBlocks.MAX_BYTES / 4 + 1);
        assertNotSame(big.owner(), next.owner(), "a block above MAX_BYTES has an arena of its own");
    }

    @Test
    void threadsDrawFromTheirOwnSlabs() throws Exception {
        Storage here = Storage.gcManaged(DType.F32, 1);
        Storage there = CompletableFuture.supplyAsync(() -> Storage.gcManaged(DType.F32, 1))
                .get();
        assertNotSame(here.owner(), there.owner());
    }

    @Test
    void aSlabIsFreedOnceNoBlockOfItIsReachable() throws InterruptedException {
        Storage s = Storage.gcManaged(DType.F32, 1);
        WeakReference<Object> slab = new WeakReference<>(s.owner());
        s = null;
        // move this thread past the slab: enough blocks to fill any slab, none of them kept
        for (long i = 0; i < SmallBlocks.SLAB_BYTES / Storage.ALIGNMENT + 1; i++) Storage.gcManaged(DType.F32, 1);
        for (int i = 0; i < 50 && slab.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(slab.get(), "the slab's arena is still reachable with no block of it in use");
    }
}
