package dev.panthera.models.io;

import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a GGUF version 3 file: metadata in insertion order, then tensor infos, then each tensor's data padded to
 * the alignment ({@code general.alignment} if set as a u32, else 32). Tensors are written as F32, F16, Q8_0 or Q4_0
 * from float values with {@link GgmlQuants#quantize}, or as raw bytes of any {@link GgmlType}.
 */
public final class GgufWriter {
    private record Pending(String name, GgmlType type, long[] dims, byte[] bytes) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();

    /** Sets metadata {@code key} (replacing an earlier value, keeping its position). */
    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    /** Convenience: a string value. */
    public GgufWriter put(String key, String value) {
        return put(key, new GgufValue.Str(value));
    }

    /** Convenience: a u32 value. */
    public GgufWriter putU32(String key, long value) {
        return put(key, new GgufValue.U32(value));
    }

    /** Convenience: an f32 value. */
    public GgufWriter put(String key, float value) {
        return put(key, new GgufValue.F32(value));
    }

    /**
     * Adds tensor {@code name} of row-major {@code shape} (outermost first) quantized from {@code values} to
     * {@code type}. The innermost dimension must be a multiple of the type's block size.
     */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, float[] values) {
        long[] dims = dims(name, type, shape, values.length);
        return add(name, type, dims, GgmlQuants.quantize(type, values));
    }

    /** Adds tensor {@code name} from its already-encoded bytes. */
    public GgufWriter rawTensor(String name, GgmlType type, long[] shape, byte[] bytes) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        long[] dims = dims(name, type, shape, n);
        if (type.bytesFor(n) != bytes.length) {
            throw new IllegalArgumentException("gguf write: '" + name + "' " + type + " needs " + type.bytesFor(n)
                    + " bytes, got " + bytes.length);
        }
        return add(name, type, dims, bytes.clone());
    }

    private GgufWriter add(String name, GgmlType type, long[] dims, byte[] bytes) {
        for (Pending p : tensors)
            if (p.name().equals(name))
                throw new IllegalArgumentException("gguf write: duplicate tensor '" + name + "'");
        tensors.add(new Pending(name, type, dims, bytes));
        return this;
    }

    private static long[] dims(String name, GgmlType type, long[] shape, long count) {
        if (shape.length < 1 || shape.length > GgufFile.MAX_DIMS) {
            throw new IllegalArgumentException("gguf write: '" + name + "' needs 1 to 4 dims, got " + shape.length);
        }
        long n = 1;
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            dims[i] = shape[shape.length - 1 - i];
            n = Math.multiplyExact(n, shape[i]);
        }
        if (n != count)
            throw new IllegalArgumentException("gguf write: '" + name + "' shape " + java.util.Arrays.toString(shape)
                    + " holds " + n + " values, got " + count);
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("gguf write: '" + name + "' innermost dim " + dims[0]
                    + " is not a multiple of " + type + " block size " + type.blockSize());
        }
        return dims;
    }

    /** Writes the file to {@code path}. */
    public void write(Path path) throws IOException {
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(path), 1 << 16)) {
            write(out);
        }
    }

    /** Writes the file to {@code out} (not closed). */
    public void write(OutputStream out) throws IOException {
        long alignment =
                metadata.get("general.alignment") instanceof GgufValue.U32 u ? u.value() : GgufFile.DEFAULT_ALIGNMENT;
        if (alignment <= 0 || Long.bitCount(alignment) != 1)
            throw new IllegalArgumentException("gguf write: general.alignment must be a power of two");
        Le h = new Le();
        h.i32(GgufFile.MAGIC).i32(3).i64(tensors.size()).i64(metadata.size());
        for (var e : metadata.entrySet()) {
            h.str(e.getKey()).i32(e.getValue().typeId());
            value(h, e.getValue());
        }
        long offset = 0;
        for (Pending p : tensors) {
            h.str(p.name()).i32(p.dims().length);
            for (long d : p.dims()) h.i64(d);
            h.i32(p.type().id()).i64(offset);
            offset += pad(p.bytes().length, alignment);
        }
        h.zeros(pad(h.size(), alignment) - h.size());
        h.writeTo(out);
        for (Pending p : tensors) {
            out.write(p.bytes());
            out.write(new byte[(int) (pad(p.bytes().length, alignment) - p.bytes().length)]);
        }
    }

    private static long pad(long n, long a) {
        return (n + a - 1) / a * a;
    }

    private static void value(Le h, GgufValue v) {
        switch (v) {
            case GgufValue.U8 x -> h.u8(x.value());
            case GgufValue.I8 x -> h.u8(x.value());
            case GgufValue.U16 x -> h.i16(x.value());
            case GgufValue.I16 x -> h.i16(x.value());
            case GgufValue.U32 x -> h.i32((int) x.value());
            case GgufValue.I32 x -> h.i32(x.value());
            case GgufValue.F32 x -> h.i32(Float.floatToRawIntBits(x.value()));
            case GgufValue.Bool x -> h.u8(x.value() ? 1 : 0);
            case GgufValue.Str x -> h.str(x.value());
            case GgufValue.U64 x -> h.i64(x.value());
            case GgufValue.I64 x -> h.i64(x.value());
            case GgufValue.F64 x -> h.i64(Double.doubleToRawLongBits(x.value()));
            case GgufValue.Array a -> {
                h.i32(a.elementType()).i64(a.values().size());
                for (GgufValue e : a.values()) value(h, e);
            }
        }
    }

    /** A little-endian byte builder. */
    private static final class Le extends ByteArrayOutputStream {
        private final ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Le u8(int v) {
            write(v);
            return this;
        }

        Le i16(int v) {
            b.clear();
            b.putShort((short) v);
            write(b.array(), 0, 2);
            return this;
        }

        Le i32(int v) {
            b.clear();
            b.putInt(v);
            write(b.array(), 0, 4);
            return this;
        }

        Le i64(long v) {
            b.clear();
            b.putLong(v);
            write(b.array(), 0, 8);
            return this;
        }

        Le str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            i64(u.length);
            write(u, 0, u.length);
            return this;
        }

        Le zeros(long n) {
            for (long i = 0; i < n; i++) write(0);
            return this;
        }
    }
}
