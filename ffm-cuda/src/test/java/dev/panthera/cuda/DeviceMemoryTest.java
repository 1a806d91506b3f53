package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Ownership rules of device buffers, with a fake allocator (no GPU needed). */
class DeviceMemoryTest {
    final List<Long> freed = new ArrayList<>();
    long next = 0x1000;
    final DeviceAllocator fake = new DeviceAllocator() {
        @Override
        public MemorySegment allocate(long bytes) {
            long a = next;
            next += Math.max(bytes, 1) + 256;
            return MemorySegment.ofAddress(a);
        }

        @Override
        public void free(MemorySegment p) {
            freed.add(p.address());
        }
    };

    @Test
    void closingTheOwnerFreesEveryLiveBufferOnceAndUseAfterCloseThrows() {
        DeviceBuffer a, b, c;
        try (DeviceMemory mem = new DeviceMemory(fake)) {
            a = mem.allocate(100);
            b = mem.allocate(200);
            c = mem.allocate(0);
            b.close();
            b.close();
            assertEquals(1, freed.size());
            assertEquals(2, mem.liveCount());
        }
        assertEquals(3, freed.size());
        assertEquals(3, freed.stream().distinct().count());
        for (DeviceBuffer x : List.of(a, b, c)) {
            assertFalse(x.isAlive());
            CudaException e = assertThrows(CudaException.class, x::pointer);
            assertEquals(CudaException.CLOSED, e.code());
        }
    }

    @Test
    void allocatingFromAClosedOwnerThrows() {
        DeviceMemory mem = new DeviceMemory(fake);
        mem.close();
        assertEquals(
                CudaException.CLOSED,
                assertThrows(CudaException.class, () -> mem.allocate(8)).code());
    }

    @Test
    void subRangesAreBoundsChecked() {
        try (DeviceMemory mem = new DeviceMemory(fake)) {
            DeviceBuffer a = mem.allocate(64);
            assertEquals(a.pointer().address() + 16, a.pointer(16, 48).address());
            assertThrows(IndexOutOfBoundsException.class, () -> a.pointer(16, 49));
            assertThrows(IndexOutOfBoundsException.class, () -> a.pointer(-1, 1));
        }
    }
}
