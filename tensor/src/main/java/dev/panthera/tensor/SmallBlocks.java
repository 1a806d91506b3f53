package dev.panthera.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native memory for small GC-managed tensors (made outside any {@link MemoryScope}), carved from per-thread slabs.
 *
 * <p>A GC-managed tensor of its own would cost a {@code malloc}, a {@link java.lang.ref.Cleaner} registration and,
 * later, a {@code free} on the cleaner's thread: for a 64-element op that is most of its time. Here each thread bumps a
 * pointer through a zero-filled {@value #SLAB_BYTES}-byte slab of an automatic arena; every block is a slice of the
 * slab and keeps the slab's arena reachable, so the slab is freed by the garbage collector once no tensor over any of
 * its blocks is reachable. The price is that one long-lived small tensor keeps its whole slab (at most
 * {@value #SLAB_BYTES} bytes) alive; blocks above {@value #MAX_BYTES} bytes get an arena of their own as before.
 */
final class SmallBlocks {
    private SmallBlocks() {}

    /** The largest block served from a slab: 64 F64 or 128 F32 elements. */
    static final long MAX_BYTES = 512;

    /** One slab: 16 blocks of the largest size, 64 of the smallest. */
    static final long SLAB_BYTES = 4096;

    private static final class Slab {
        Arena arena;
        MemorySegment memory;
        long next = SLAB_BYTES;
    }

    private static final ThreadLocal<Slab> SLABS = ThreadLocal.withInitial(Slab::new);

    /** Zero-filled CPU storage of {@code numel} elements whose memory the garbage collector releases. */
    static Storage allocate(DType dtype, long numel) {
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        if (bytes > MAX_BYTES) return Storage.allocate(dtype, numel, Arena.ofAuto());
        long size = Math.max(bytes, 1);
        long rounded = (size + Storage.ALIGNMENT - 1) & -Storage.ALIGNMENT;
        Slab s = SLABS.get();
        if (s.next + rounded > SLAB_BYTES) {
            s.arena = Arena.ofAuto();
            s.memory = s.arena.allocate(SLAB_BYTES, Storage.ALIGNMENT);
            s.next = 0;
        }
        MemorySegment block = s.memory.asSlice(s.next, size);
        s.next += rounded;
        return Storage.wrap(block, dtype, numel, s.arena);
    }
}
