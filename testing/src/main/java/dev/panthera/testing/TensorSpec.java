package dev.panthera.testing;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.Arrays;

/**
 * A drawn tensor as data: its shape and dtype, how it sits in its storage, and the storage's values. {@link #tensor()}
 * makes the tensor (a view of a fresh storage each call); {@link #toString()} is what a failing property reports, so it
 * names the layout and lists the values.
 *
 * @param shape   the tensor's shape
 * @param dtype   its element type (values are converted from double with {@code Tensor.to})
 * @param layout  how its elements sit in the storage
 * @param dim     the dimension the layout acts on (TRANSPOSED: the first of the two swapped; STEPPED, OFFSET: the
 *                stepped or narrowed one); for BROADCAST a bit mask of the expanded dimensions
 * @param param   TRANSPOSED: the second swapped dimension; STEPPED: the step; OFFSET: the offset
 * @param storage the storage's values in row-major order of {@link #storageShape()}
 */
public record TensorSpec(Shape shape, DType dtype, LayoutKind layout, int dim, int param, double[] storage) {

    public TensorSpec {
        long need = storageShape(shape, layout, dim, param).numel();
        if (storage.length != need)
            throw new IllegalArgumentException("TensorSpec: " + layout + " view of " + shape + " needs " + need
                    + " storage values, got " + storage.length);
    }

    /** The shape of the storage the view is cut from. */
    public Shape storageShape() {
        return storageShape(shape, layout, dim, param);
    }

    static Shape storageShape(Shape shape, LayoutKind layout, int dim, int param) {
        long[] s = shape.toArray();
        switch (layout) {
            case CONTIGUOUS -> {}
            case TRANSPOSED -> {
                long t = s[dim];
                s[dim] = s[param];
                s[param] = t;
            }
            case STEPPED -> s[dim] = s[dim] * param;
            case OFFSET -> s[dim] = s[dim] + param + 1;
            case BROADCAST -> {
                for (int d = 0; d < s.length; d++) if ((dim >> d & 1) != 0) s[d] = 1;
            }
        }
        return Shape.of(s);
    }

    /** A new tensor on the CPU: the storage made from {@link #storage()} in {@link #dtype()}, then viewed as the layout says. */
    public Tensor tensor() {
        return tensor(Device.CPU);
    }

    /** As {@link #tensor()}, with the storage copied to {@code device} before the view is cut from it. */
    public Tensor tensor(Device device) {
        Tensor base = f64(storage, storageShape().toArray()).to(dtype);
        if (!device.equals(Device.CPU)) base = base.to(device);
        return switch (layout) {
            case CONTIGUOUS -> base;
            case TRANSPOSED -> base.transpose(dim, param);
            case STEPPED -> base.slice(dim, param - 1, base.size(dim), param);
            case OFFSET -> base.narrow(dim, param, shape.dim(dim));
            case BROADCAST -> base.expand(shape.toArray());
        };
    }

    /** The tensor's values in row-major order of {@link #shape()}, as doubles before conversion to the dtype. */
    public double[] values() {
        Tensor view = f64(storage, storageShape().toArray());
        Tensor v = switch (layout) {
            case CONTIGUOUS -> view;
            case TRANSPOSED -> view.transpose(dim, param);
            case STEPPED -> view.slice(dim, param - 1, view.size(dim), param);
            case OFFSET -> view.narrow(dim, param, shape.dim(dim));
            case BROADCAST -> view.expand(shape.toArray());
        };
        return v.toDoubleArray();
    }

    /** An F64 tensor of {@code shape} holding a copy of {@code v}; rank 0 included ({@code Tensor.of} reads an empty
     * shape as "one dimension of the array's length"). */
    static Tensor f64(double[] v, long[] shape) {
        return shape.length == 0 ? Tensor.full(DType.F64, v[0]) : Tensor.of(v.clone(), shape);
    }

    @Override
    public String toString() {
        String how = switch (layout) {
            case CONTIGUOUS -> "contiguous";
            case TRANSPOSED -> "transposed(" + dim + ", " + param + ")";
            case STEPPED -> "stepped(dim " + dim + ", step " + param + ")";
            case OFFSET -> "offset(dim " + dim + ", by " + param + ")";
            case BROADCAST -> "broadcast(from " + storageShape() + ")";
        };
        String vals = storage.length <= 64
                ? Arrays.toString(storage)
                : Arrays.toString(Arrays.copyOf(storage, 64)).replace("]", ", ... " + storage.length + " values]");
        return dtype + " " + shape + " " + how + " storage " + vals;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t
                && shape.equals(t.shape)
                && dtype == t.dtype
                && layout == t.layout
                && dim == t.dim
                && param == t.param
                && Arrays.equals(storage, t.storage);
    }

    @Override
    public int hashCode() {
        return (shape.hashCode() * 31 + layout.hashCode()) * 31 + Arrays.hashCode(storage);
    }
}
