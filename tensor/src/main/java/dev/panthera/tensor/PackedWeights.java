package dev.panthera.tensor;

import dev.panthera.tensor.spi.PackedOperand;
import dev.panthera.tensor.spi.PackedStorage;
import java.lang.foreign.MemorySegment;

/**
 * The work behind {@link Tensor#packedForMatmul()}: a read-only tensor with the values of a 2-D float weight, and the
 * backend's packed form of it ({@link dev.panthera.tensor.spi.Backend#packMatmulOperand}) when the backend has one.
 *
 * <p>Why read-only: a packed form is a second copy of the weight's values, so a write to the weight after packing
 * would leave the two disagreeing. Here nothing can write: a weight whose memory is already read-only (a mapped
 * checkpoint, or frozen memory: {@link Tensor#fromFrozenSegment}) is shared as it is; any other weight is first
 * copied into a snapshot that only this tensor sees, so a later write to the original is not seen by the packed
 * tensor (as with {@code clone()}), and the packed tensor's own segment refuses writes.
 */
final class PackedWeights {
    private PackedWeights() {}

    static Tensor pack(Tensor w) {
        String op = "packedForMatmul";
        w.checkAlive(op);
        if (w.requiresGrad() || w.gradFn() != null)
            throw new IllegalStateException(op + ": " + w.describe() + " is part of autograd (requires grad); a packed"
                    + " weight is a read-only snapshot for inference: pack w.detach() to freeze it");
        if (w.rank() != 2 || !w.dtype().isFloatingPoint())
            throw new IllegalArgumentException(
                    op + ": needs a 2-D floating-point weight [in, out], got " + w.describe());
        if (w.device().kind() != Device.Kind.CPU)
            throw new UnsupportedOperationException(
                    op + ": only CPU weights can be packed, " + w.describe() + " is on " + w.device());
        Storage s = w.storage();
        if (s instanceof PackedStorage) return w; // already read-only; packed (or not) for its backend
        Storage values = s;
        Layout layout = w.layout();
        if (!s.segment().isReadOnly() && !Tensor.frozen(s) && w.numel() > 0) {
            long[] span = layout.span();
            long n = span[1] - span[0] + 1, bytes = s.dtype().byteSize();
            values = w.backend().allocateGcManaged(s.dtype(), n);
            MemorySegment.copy(s.segment(), span[0] * bytes, values.segment(), 0, n * bytes);
            layout = new Layout(layout.shape(), layout.strides(), layout.offset() - span[0]);
        }
        PackedOperand p = w.numel() == 0 ? null : w.backend().packMatmulOperand(values, layout);
        return new Tensor(new PackedStorage(s, values, p, p == null ? null : layout), layout).name(w.name());
    }
}
