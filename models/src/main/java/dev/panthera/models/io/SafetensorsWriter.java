package dev.panthera.models.io;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.panthera.tensor.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files: {@code __metadata__} first, then the tensors in the order given, laid end to end; the
 * JSON header is compact and padded with spaces to a multiple of 8 bytes so the data section starts 8-aligned.
 * Reading a file written here and writing its {@link SafetensorsFile#entries()} (data-offset order) with its
 * {@link SafetensorsFile#metadata()} again gives the same bytes.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    /** One tensor to write: its raw little-endian bytes must be exactly elements × dtype size. */
    public record Item(String name, DType dtype, long[] shape, MemorySegment bytes) {
        /**
         * An item over {@code t}'s own memory (no copy): {@code t} must be contiguous; its bytes are written in the
         * platform's byte order, which is little-endian on the x86-64 and AArch64 machines this library targets.
         */
        public static Item of(String name, dev.panthera.tensor.Tensor t) {
            if (!t.isContiguous()) {
                throw new IllegalArgumentException("safetensors write: '" + name + "' is a non-contiguous view "
                        + t.shape() + "; call contiguous() first");
            }
            if (java.nio.ByteOrder.nativeOrder() != java.nio.ByteOrder.LITTLE_ENDIAN) {
                throw new UnsupportedOperationException("safetensors write: big-endian platforms are not supported");
            }
            long size = t.dtype().byteSize();
            MemorySegment s = t.storage().segment().asSlice(t.layout().offset() * size, t.numel() * size);
            return new Item(name, t.dtype(), t.dims(), s);
        }
    }

    /** Writes {@code items} with {@code metadata} to {@code path}. */
    public static void write(Path path, Map<String, String> metadata, List<Item> items) throws IOException {
        try (OutputStream out = Files.newOutputStream(path)) {
            write(out, metadata, items);
        }
    }

    /** Writes {@code items} with {@code metadata} to {@code out} (not closed). */
    public static void write(OutputStream out, Map<String, String> metadata, List<Item> items) throws IOException {
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        long offset = 0;
        try (JsonGenerator g = SafetensorsFile.JSON.createGenerator(json)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (var e : metadata.entrySet()) g.writeStringField(e.getKey(), e.getValue());
                g.writeEndObject();
            }
            for (Item it : items) {
                long need = it.dtype().byteSize();
                for (long d : it.shape()) {
                    if (d < 0)
                        throw new IllegalArgumentException("safetensors write: '" + it.name() + "' has a negative dim");
                    need = Math.multiplyExact(need, d);
                }
                if (need != it.bytes().byteSize()) {
                    throw new IllegalArgumentException("safetensors write: '" + it.name() + "' " + it.dtype() + " "
                            + java.util.Arrays.toString(it.shape()) + " needs " + need + " bytes, got "
                            + it.bytes().byteSize());
                }
                if (it.name().equals("__metadata__"))
                    throw new IllegalArgumentException("safetensors write: reserved name __metadata__");
                g.writeObjectFieldStart(it.name());
                g.writeStringField("dtype", it.dtype().name());
                g.writeArrayFieldStart("shape");
                for (long d : it.shape()) g.writeNumber(d);
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + need);
                g.writeEndArray();
                g.writeEndObject();
                offset += need;
            }
            g.writeEndObject();
        }
        int pad = (8 - json.size() % 8) % 8;
        for (int i = 0; i < pad; i++) json.write(' ');
        out.write(ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(json.size())
                .array());
        json.writeTo(out);
        byte[] buf = new byte[1 << 16];
        for (Item it : items) {
            MemorySegment s = it.bytes();
            for (long at = 0; at < s.byteSize(); at += buf.length) {
                int n = (int) Math.min(buf.length, s.byteSize() - at);
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, at, buf, 0, n);
                out.write(buf, 0, n);
            }
        }
    }
}
