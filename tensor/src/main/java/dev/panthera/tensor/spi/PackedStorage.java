package dev.panthera.tensor.spi;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.Storage;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The storage of a tensor made by {@code Tensor.packedForMatmul()}: read-only values ({@link #segment()} is a
 * read-only segment, so no op can write them) plus, when the backend offers one, a {@link PackedOperand} of those
 * values for the {@link Layout} it was packed for. Because the values cannot change, the packed form can never be
 * stale. Every op reads the values as it would read any storage; only the backend that made {@link #packed()} uses it,
 * and only for a matmul whose weight has exactly {@link #packedLayout()}.
 *
 * <p>Liveness follows {@code source}, the storage the values came from (they are its memory, or a snapshot of it):
 * once the source's memory is released, this storage reports dead and {@link #segment()} throws.
 */
public final class PackedStorage implements Storage {
    private final Storage source;
    private final Storage values;
    private final MemorySegment readOnly;
    private final PackedOperand packed;
    private final Layout packedLayout;

    /**
     * @param source where the values came from (liveness); may be {@code values} itself
     * @param values the storage holding the values (the source's when read-only, else a snapshot of it)
     * @param packed the backend's packed form, or null when it has none
     * @param packedLayout the layout {@code packed} was made for (null when {@code packed} is null)
     */
    public PackedStorage(Storage source, Storage values, PackedOperand packed, Layout packedLayout) {
        this.source = Objects.requireNonNull(source, "PackedStorage: source");
        this.values = Objects.requireNonNull(values, "PackedStorage: values");
        if ((packed == null) != (packedLayout == null))
            throw new IllegalArgumentException("PackedStorage: a packed form needs the layout it was made for");
        this.readOnly = values.segment().asReadOnly();
        this.packed = packed;
        this.packedLayout = packedLayout;
    }

    /** The backend's packed form, or null. */
    public PackedOperand packed() {
        return packed;
    }

    /** The layout {@link #packed()} was made for, or null. */
    public Layout packedLayout() {
        return packedLayout;
    }

    @Override
    public DType dtype() {
        return values.dtype();
    }

    @Override
    public Device device() {
        return values.device();
    }

    @Override
    public long numel() {
        return values.numel();
    }

    @Override
    public MemorySegment segment() {
        if (!isAlive())
            throw new IllegalStateException("packed weight of " + numel() + " " + dtype()
                    + " used after the memory of the tensor it was packed from was released");
        return readOnly;
    }

    @Override
    public Object owner() {
        return source.owner();
    }

    @Override
    public boolean isAlive() {
        return source.isAlive() && values.isAlive();
    }

    @Override
    public MemoryPool.Allocation allocation() {
        return null;
    }
}
