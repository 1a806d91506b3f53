package dev.panthera.tensor;

import dev.panthera.tensor.spi.Elements;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.random.RandomGenerator;

/** Factories and conversions to and from Java arrays. */
final class Creation {
    private Creation() {}

    static Tensor full(DType dtype, double value, Shape shape) {
        return full(dtype, value, shape, Device.CPU);
    }

    static Tensor full(DType dtype, double value, Shape shape, Device device) {
        Tensor t = Tensor.empty(dtype, shape, device);
        if (value != 0 || Double.doubleToRawLongBits(value) != 0) t.fill_(value); // -0.0 is not the zero fill
        return t;
    }

    static Tensor arange(double start, double end, double step) {
        if (step == 0 || Double.isNaN(step))
            throw new IllegalArgumentException("arange: step must be non-zero, got " + step);
        double span = Math.ceil((end - start) / step);
        if (Double.isNaN(span) || span > Integer.MAX_VALUE * 64.0)
            throw new IllegalArgumentException("arange: bad range " + start + ".." + end + " step " + step);
        long n = Math.max(0, (long) span);
        boolean integral = start == Math.rint(start) && end == Math.rint(end) && step == Math.rint(step);
        Tensor t = Tensor.zeros(integral ? DType.I64 : DType.F32, Shape.of(n));
        MemorySegment s = t.storage().segment();
        for (long i = 0; i < n; i++) {
            if (integral) Elements.setLong(s, DType.I64, i, (long) start + i * (long) step);
            else Elements.set(s, DType.F32, i, start + i * step);
        }
        return t;
    }

    static Tensor linspace(double start, double end, int steps) {
        if (steps < 0)
            throw new IllegalArgumentException("linspace: number of steps must be non-negative, got " + steps);
        Tensor t = Tensor.zeros(DType.F32, Shape.of(steps));
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        MemorySegment s = t.storage().segment();
        for (int i = 0; i < steps; i++) {
            // PyTorch fills the second half from the end, so the last value is exactly `end`
            double v = steps == 1
                    ? start
                    : i < steps / 2 ? start + step * i : end - step * (steps - 1 - i); // one step: start, as PyTorch
            Elements.set(s, DType.F32, i, v);
        }
        return t;
    }

    static Tensor eye(long n) {
        if (n < 0) throw new IllegalArgumentException("eye: n must be non-negative, got " + n);
        Tensor t = Tensor.zeros(DType.F32, Shape.of(n, n));
        for (long i = 0; i < n; i++) Elements.set(t.storage().segment(), DType.F32, i * n + i, 1);
        return t;
    }

    static Tensor rand(RandomGenerator rng, Shape shape, boolean normal) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        MemorySegment s = t.storage().segment();
        for (long i = 0, n = shape.numel(); i < n; i++) {
            float v = (float) (normal ? rng.nextGaussian() : rng.nextDouble());
            // a double just below 1 rounds to 1.0f; keep uniform values in [0, 1) without changing the seeded stream
            if (!normal && v >= 1f) v = Math.nextDown(1f);
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        }
        return t;
    }

    private static Shape checked(String what, long length, long... shape) {
        Shape s = shape.length == 0 ? Shape.of(length) : Shape.of(shape);
        if (s.numel() != length)
            throw new IllegalArgumentException("of: " + length + " " + what + " values cannot fill shape " + s);
        return s;
    }

    static Tensor fromArray(float[] data, long... shape) {
        return fromArray(data, 0, checked("float", data.length, shape));
    }

    static Tensor fromArray(float[] data, int offset, Shape shape) {
        long n = shape.numel();
        if (offset < 0 || offset > data.length || n > data.length - offset)
            throw new IllegalArgumentException("of: shape " + shape + " needs " + n + " floats from offset " + offset
                    + ", the array holds " + data.length);
        Tensor t = Tensor.uninitialized(DType.F32, shape, Device.CPU);
        MemorySegment.copy(data, offset, t.storage().segment(), ValueLayout.JAVA_FLOAT, 0, (int) n);
        return t;
    }

    static Tensor fromArray(double[] data, long... shape) {
        Tensor t = Tensor.uninitialized(DType.F64, checked("double", data.length, shape), Device.CPU);
        MemorySegment.copy(data, 0, t.storage().segment(), ValueLayout.JAVA_DOUBLE, 0, data.length);
        return t;
    }

    static Tensor fromArray(long[] data, long... shape) {
        Tensor t = Tensor.uninitialized(DType.I64, checked("long", data.length, shape), Device.CPU);
        MemorySegment.copy(data, 0, t.storage().segment(), ValueLayout.JAVA_LONG, 0, data.length);
        return t;
    }

    static Tensor fromArray(int[] data, long... shape) {
        Tensor t = Tensor.uninitialized(DType.I32, checked("int", data.length, shape), Device.CPU);
        MemorySegment.copy(data, 0, t.storage().segment(), ValueLayout.JAVA_INT, 0, data.length);
        return t;
    }

    static Tensor fromArray(boolean[] data, long... shape) {
        Tensor t = Tensor.uninitialized(DType.BOOL, checked("boolean", data.length, shape), Device.CPU);
        for (int i = 0; i < data.length; i++)
            t.storage().segment().set(ValueLayout.JAVA_BYTE, i, (byte) (data[i] ? 1 : 0));
        return t;
    }

    static Tensor fromRows(float[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[Math.multiplyExact(rows.length, cols)];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols)
                throw new IllegalArgumentException(
                        "of: row " + i + " has " + rows[i].length + " values, row 0 has " + cols);
            System.arraycopy(rows[i], 0, flat, i * cols, cols);
        }
        return fromArray(flat, rows.length, cols);
    }

    private static int arrayLength(Tensor t) {
        if (t.numel() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(
                    "to array: tensor " + t.describe() + " has too many elements for a Java array");
        t.checkAlive("to array");
        return (int) t.numel();
    }

    static float[] toFloatArray(Tensor t) {
        float[] out = new float[arrayLength(t)];
        t = t.host("toFloatArray");
        // an empty view may carry an offset past its (empty) storage: nothing to copy, and no copy to bounds-check
        if (t.dtype() == DType.F32 && t.isContiguous() && out.length > 0) {
            MemorySegment.copy(
                    t.storage().segment(),
                    ValueLayout.JAVA_FLOAT_UNALIGNED,
                    t.layout().offset() * 4,
                    out,
                    0,
                    out.length);
            return out;
        }
        StridedCursor c = new StridedCursor(t.layout());
        for (int i = 0; i < out.length; i++)
            out[i] = (float) Elements.get(t.storage().segment(), t.dtype(), c.next());
        return out;
    }

    static double[] toDoubleArray(Tensor t) {
        double[] out = new double[arrayLength(t)];
        t = t.host("toDoubleArray");
        StridedCursor c = new StridedCursor(t.layout());
        for (int i = 0; i < out.length; i++) out[i] = Elements.get(t.storage().segment(), t.dtype(), c.next());
        return out;
    }

    static long[] toLongArray(Tensor t) {
        long[] out = new long[arrayLength(t)];
        t = t.host("toLongArray");
        StridedCursor c = new StridedCursor(t.layout());
        for (int i = 0; i < out.length; i++)
            out[i] = Elements.getLong(t.storage().segment(), t.dtype(), c.next());
        return out;
    }
}
