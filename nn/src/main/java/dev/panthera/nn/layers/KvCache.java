package dev.panthera.nn.layers;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;

/**
 * Keys and values of earlier positions for incremental decoding, one slot per layer, preallocated to
 * [batch, kvHeads, maxLen, headDim] outside any scope and filled in place.
 *
 * <p>The cache holds the keys and values in the dtype they come in, or in the dtype it was made with: F16 or BF16
 * halves the bytes a decode reads per cached position (llama.cpp keeps its cache in F16 by default). Appended values
 * are rounded to it (to nearest even; F16 overflows to infinity past 65504), and attention reads the cache as it is
 * where the backend can ({@code FusedKernels.Kernel.ATTENTION_HALF_KV}), else converts it per call.
 */
public final class KvCache {
    private final Tensor[] keys;
    private final Tensor[] values;
    private final long[] lengths;
    private final long maxLen;
    private final DType dtype;

    /** A cache keeping keys and values in the dtype they come in. */
    public KvCache(int layers, long maxLen) {
        this(layers, maxLen, null);
    }

    /**
     * A cache keeping keys and values in {@code dtype} (F32, F16 or BF16), or, when null, in the dtype they come in.
     *
     * @throws IllegalArgumentException for another dtype
     */
    public KvCache(int layers, long maxLen, DType dtype) {
        if (dtype != null && dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16)
            throw new IllegalArgumentException("KvCache: dtype " + dtype + " (F32, F16 or BF16)");
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.lengths = new long[layers];
        this.maxLen = maxLen;
        this.dtype = dtype;
    }

    /**
     * The cache dtype named as llama.cpp's {@code -ctk} names it: f32, f16 or bf16.
     *
     * @throws IllegalArgumentException for another name, with a message that reads after the option's name
     */
    public static DType typeNamed(String name) {
        return switch (name) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new IllegalArgumentException("must be f32, f16 or bf16, got '" + name + "'");
        };
    }

    /** The dtype the cache keeps keys and values in, or null for the dtype they come in. */
    public DType dtype() {
        return dtype;
    }

    /** Positions already cached for {@code layer}. */
    public long length(int layer) {
        return lengths[layer];
    }

    /**
     * Forgets every cached position of every layer, so the cache serves a new sequence without a new allocation; the
     * buffers stay and later appends overwrite them (positions past a layer's length are never read).
     */
    public void clear() {
        java.util.Arrays.fill(lengths, 0);
    }

    /**
     * Keeps the first {@code length} positions of every layer and forgets the rest (llama.cpp's
     * {@code llama_memory_seq_rm} from that position): a decode can then go on from position {@code length}, say to
     * regenerate a reply after a fixed prompt, without running the prompt again.
     *
     * @throws IllegalArgumentException if {@code length} is negative or more than some layer holds
     */
    public void truncate(long length) {
        for (int layer = 0; layer < lengths.length; layer++)
            if (length < 0 || length > lengths[layer])
                throw new IllegalArgumentException("KvCache.truncate: length " + length + " but layer " + layer
                        + " holds " + lengths[layer] + " positions");
        java.util.Arrays.fill(lengths, length);
    }

    /** Appends k, v [B, KV, T, hd] for {@code layer} and returns views of all cached keys and values [B, KV, S, hd]. */
    public Tensor[] append(int layer, Tensor k, Tensor v) {
        long t = k.size(2);
        if (keys[layer] == null) {
            long[] shape = {k.size(0), k.size(1), maxLen, k.size(3)};
            DType kt = dtype == null ? k.dtype() : dtype, vt = dtype == null ? v.dtype() : dtype;
            keys[layer] = MemoryScope.unscoped(() -> Tensor.zeros(kt, dev.panthera.tensor.Shape.of(shape)));
            values[layer] = MemoryScope.unscoped(() -> Tensor.zeros(vt, dev.panthera.tensor.Shape.of(shape)));
        }
        long at = lengths[layer];
        if (at + t > maxLen)
            throw new IllegalStateException("KvCache: layer " + layer + " holds " + at + " positions; " + t
                    + " more exceed max length " + maxLen);
        keys[layer].narrow(2, at, t).copy_(k.detach());
        values[layer].narrow(2, at, t).copy_(v.detach());
        lengths[layer] = at + t;
        return new Tensor[] {keys[layer].narrow(2, 0, at + t), values[layer].narrow(2, 0, at + t)};
    }
}
