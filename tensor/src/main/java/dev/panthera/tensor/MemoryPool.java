package dev.panthera.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A caching allocator for one device, after PyTorch's: a released block is not freed but kept on a free list of its
 * size class and handed to the next request of that class, so a steady loop (a decode step, a training step, each in
 * its own {@link MemoryScope}) stops allocating native memory after its first iterations. Cached blocks are freed
 * when the cache grows past {@link #maxCachedBytes()}, when a native allocation fails (then the request is retried),
 * and on {@link #trim()}.
 *
 * <p>A pool made to follow its peak (the host pool unless a limit is set) raises that limit to the most bytes it has
 * had in use at once: a loop whose iteration holds more than the limit (a training step of a 100M-parameter model
 * holds several GiB) would otherwise free the excess at the end of every iteration and allocate, zero and fault it in
 * again in the next. The cache then never holds more than one iteration used; {@link #trim()} still frees it all, and
 * setting a limit with {@link #maxCachedBytes(long)} ends the following.
 *
 * <p>Size classes: requests up to 512 bytes round up to a multiple of 64; larger ones to one of eight steps per power
 * of two, so a block is at most 12.5% larger than the request it serves.
 *
 * <p>Thread-safe: scopes on several threads may share a pool. Memory handed out stays readable from any thread until
 * it is released.
 */
public final class MemoryPool {
    /** Fresh native memory for a pool: the memory and how to free it. */
    public interface NativeAllocator {
        /** At least {@code bytes} bytes of new native memory (64-byte aligned). */
        Block allocate(long bytes);
    }

    /** A block of native memory and the action that frees it (called once, by the pool). */
    public record Block(MemorySegment memory, Runnable free) {}

    /** Counters of one pool; bytes are block sizes (size classes), not requested sizes. */
    public record Stats(
            long nativeAllocations,
            long nativeFrees,
            long cacheHits,
            long bytesInUse,
            long bytesCached,
            long peakBytesInUse,
            long gcManagedAllocations) {}

    /**
     * One allocation from a pool: a block lent to one storage. It is live until {@link #release()}, which returns the
     * block to the cache; storage over it must check {@link #isLive()} so that use after release is an exception and
     * never a read of memory that another tensor now owns.
     */
    public static final class Allocation {
        private final MemoryPool pool;
        private final Entry entry;
        private final long bytes;
        private final boolean reused;
        private volatile boolean live = true;
        private Object owner;

        private Allocation(MemoryPool pool, Entry entry, long bytes, boolean reused) {
            this.pool = pool;
            this.entry = entry;
            this.bytes = bytes;
            this.reused = reused;
        }

        /** The block's memory (on the host: a segment of at least {@link #bytes()}; on a device: its address). */
        public MemorySegment memory() {
            return entry.block.memory();
        }

        /** The size requested. */
        public long bytes() {
            return bytes;
        }

        /** True when the block was used before, so its contents are not zeros. */
        public boolean reused() {
            return reused;
        }

        public boolean isLive() {
            return live;
        }

        /** What will release this allocation (a {@link MemoryScope}), or null. */
        public Object owner() {
            return owner;
        }

        void owner(Object owner) {
            this.owner = owner;
        }

        /**
         * Ends this allocation and returns its block to the pool; later calls, also racing ones from other threads (a
         * cleaner's beside an explicit release), do nothing.
         */
        public void release() {
            if (!LIVE.compareAndSet(this, true, false)) return;
            pool.giveBack(entry);
        }

        private static final java.lang.invoke.VarHandle LIVE;

        static {
            try {
                LIVE = java.lang.invoke.MethodHandles.lookup().findVarHandle(Allocation.class, "live", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    private static final class Entry {
        final Block block;
        final int sizeClass;
        final long capacity;

        Entry(Block block, int sizeClass, long capacity) {
            this.block = block;
            this.sizeClass = sizeClass;
            this.capacity = capacity;
        }
    }

    private static final int CLASSES = 64 * 8;

    private final String name;
    private final NativeAllocator source;

    @SuppressWarnings("unchecked")
    private final ArrayDeque<Entry>[] free = new ArrayDeque[CLASSES];

    private volatile long maxCachedBytes;
    private volatile boolean followsPeak;
    private long highWater; // the most bytes in use at once since the pool was made (resetPeak leaves it)
    private long nativeAllocations, nativeFrees, cacheHits, bytesInUse, bytesCached, peakBytesInUse;
    private long gcManagedAllocations;

    /** A pool drawing blocks from {@code source}, caching at most {@code maxCachedBytes} of released blocks. */
    public MemoryPool(String name, NativeAllocator source, long maxCachedBytes) {
        this(name, source, maxCachedBytes, false);
    }

    /**
     * As {@link #MemoryPool(String, NativeAllocator, long)}; with {@code followsPeak} the limit rises to the most bytes
     * ever in use at once (see the class comment).
     */
    public MemoryPool(String name, NativeAllocator source, long maxCachedBytes, boolean followsPeak) {
        if (maxCachedBytes < 0)
            throw new IllegalArgumentException("MemoryPool " + name + ": negative cache limit " + maxCachedBytes);
        this.name = name;
        this.source = source;
        this.maxCachedBytes = maxCachedBytes;
        this.followsPeak = followsPeak;
    }

    private static final class Host { // lazy holder
        static final MemoryPool POOL = new MemoryPool(
                "cpu",
                bytes -> {
                    // one shared arena per block: readable from worker threads, freed alone when trimmed
                    Arena arena = Arena.ofShared();
                    return new Block(arena.allocate(bytes, Storage.ALIGNMENT), arena::close);
                },
                Long.getLong("panthera.memory.maxCachedBytes", 1L << 30),
                System.getProperty("panthera.memory.maxCachedBytes") == null);
    }

    /**
     * The pool every CPU backend draws scoped tensor memory from. Each block is its own shared arena; the cache holds
     * at most the system property {@code panthera.memory.maxCachedBytes}, or where it is unset the larger of 1 GiB
     * and the most bytes this pool has had in use at once.
     */
    public static MemoryPool host() {
        return Host.POOL;
    }

    public String name() {
        return name;
    }

    /** The size a request of {@code bytes} is rounded up to. */
    public static long sizeClassBytes(long bytes) {
        return classBytes(sizeClass(bytes));
    }

    static int sizeClass(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("MemoryPool: negative size " + bytes);
        if (bytes <= 512) return (int) Math.max(0, (bytes - 1) / 64); // classes 0..7: 64..512 bytes
        int log = 63 - Long.numberOfLeadingZeros(bytes - 1); // 2^log < bytes <= 2^(log+1)
        long step = 1L << (log - 3);
        long sub = (bytes - 1 - (1L << log)) / step; // 0..7
        return log * 8 + (int) sub;
    }

    static long classBytes(int sizeClass) {
        if (sizeClass < 8) return 64L * (sizeClass + 1);
        int log = sizeClass / 8, sub = sizeClass % 8;
        return (1L << log) + (sub + 1) * (1L << (log - 3));
    }

    /** A block of at least {@code bytes} bytes: a cached one of the same size class when there is one. */
    public Allocation allocate(long bytes) {
        int c = sizeClass(Math.max(bytes, 1));
        synchronized (this) {
            ArrayDeque<Entry> list = free[c];
            Entry e = list == null ? null : list.pollFirst();
            if (e != null) {
                cacheHits++;
                bytesCached -= e.capacity;
                inUse(e.capacity);
                return new Allocation(this, e, bytes, true);
            }
        }
        long capacity = classBytes(c);
        Block block;
        try {
            block = source.allocate(capacity);
        } catch (OutOfMemoryError | RuntimeException first) {
            if (trim() == 0) throw first;
            block = source.allocate(capacity); // the cache was holding the memory this request needs
        }
        Entry e = new Entry(block, c, capacity);
        synchronized (this) {
            nativeAllocations++;
            inUse(capacity);
        }
        return new Allocation(this, e, bytes, false);
    }

    private void inUse(long capacity) {
        bytesInUse += capacity;
        peakBytesInUse = Math.max(peakBytesInUse, bytesInUse);
        highWater = Math.max(highWater, bytesInUse);
    }

    /** The cache limit in force: the set limit, or the high-water mark of bytes in use when that is larger. */
    private long limit() {
        return followsPeak ? Math.max(maxCachedBytes, highWater) : maxCachedBytes;
    }

    private void giveBack(Entry e) {
        List<Entry> evicted = null;
        synchronized (this) {
            bytesInUse -= e.capacity;
            ArrayDeque<Entry> list = free[e.sizeClass];
            if (list == null) list = free[e.sizeClass] = new ArrayDeque<>();
            list.addFirst(e); // the most recently used block is handed out first (warm in cache)
            bytesCached += e.capacity;
            long limit = limit();
            if (bytesCached > limit) evicted = evict(limit);
        }
        freeAll(evicted);
    }

    /** Removes cached blocks, largest classes first, until at most {@code limit} bytes stay cached. */
    private List<Entry> evict(long limit) {
        List<Entry> out = new ArrayList<>();
        for (int c = CLASSES - 1; c >= 0 && bytesCached > limit; c--) {
            ArrayDeque<Entry> list = free[c];
            while (list != null && !list.isEmpty() && bytesCached > limit) {
                Entry e = list.pollLast();
                bytesCached -= e.capacity;
                nativeFrees++;
                out.add(e);
            }
        }
        return out;
    }

    private static void freeAll(List<Entry> entries) {
        if (entries == null) return;
        for (Entry e : entries) e.block.free().run();
    }

    /** Frees every cached block (PyTorch's empty_cache) and returns the bytes freed. */
    public long trim() {
        List<Entry> evicted;
        long before;
        synchronized (this) {
            before = bytesCached;
            evicted = evict(0);
        }
        freeAll(evicted);
        return before;
    }

    /**
     * The most bytes of released blocks this pool keeps for reuse now (for a pool that follows its peak, the larger of
     * its limit and the most bytes it has had in use at once).
     */
    public synchronized long maxCachedBytes() {
        return limit();
    }

    /** Sets the cache limit, freeing cached blocks beyond it now; the limit no longer follows the peak. */
    public void maxCachedBytes(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("MemoryPool " + name + ": negative cache limit " + bytes);
        List<Entry> evicted;
        synchronized (this) {
            maxCachedBytes = bytes;
            followsPeak = false;
            evicted = evict(bytes);
        }
        freeAll(evicted);
    }

    /** Counts an allocation made outside every scope (GC-managed, not pooled) on this pool's device. */
    synchronized void countGcManaged() {
        gcManagedAllocations++;
    }

    /**
     * Starts a new peak measurement: the peak becomes the bytes in use now (PyTorch's reset_peak_memory_stats), so
     * {@link Stats#peakBytesInUse()} read later is the most held at once since this call.
     */
    public synchronized void resetPeak() {
        peakBytesInUse = bytesInUse;
    }

    public synchronized Stats stats() {
        return new Stats(
                nativeAllocations,
                nativeFrees,
                cacheHits,
                bytesInUse,
                bytesCached,
                peakBytesInUse,
                gcManagedAllocations);
    }

    @Override
    public String toString() {
        return "MemoryPool[" + name + "] " + stats();
    }
}
