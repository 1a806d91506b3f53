package dev.panthera.nn.io;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal safetensors reader and writer for adapter files (F32, F64, F16, BF16). Layout: an 8-byte little-endian
 * header length N, N bytes of JSON {@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
 * {string: string}}}, then the data; offsets are relative to the data start. The reader checks the header length,
 * every dtype, shape, offset pair and byte count against the file before copying anything, and rejects overlaps.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** Largest header accepted (safetensors' own limit is 100 MB). */
    public static final long MAX_HEADER = 100L << 20;

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(8)
                    .maxStringLength(1 << 20)
                    .maxNumberLength(32)
                    .build())
            .build();

    /** Writes {@code tensors} (in iteration order) and string {@code metadata} to {@code file}. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        List<Tensor> copies = new ArrayList<>();
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        long offset = 0;
        try (JsonGenerator g = JSON.createGenerator(header, JsonEncoding.UTF8)) {
            g.writeStartObject();
            if (metadata != null && !metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (var e : metadata.entrySet()) g.writeStringField(e.getKey(), e.getValue());
                g.writeEndObject();
            }
            for (var e : tensors.entrySet()) {
                Tensor t = MemoryScope.unscoped(() -> e.getValue().detach().copy());
                String code = code(t.dtype(), e.getKey());
                long bytes = t.storage().byteSize();
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("dtype", code);
                g.writeArrayFieldStart("shape");
                for (long d : t.dims()) g.writeNumber(d);
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + bytes);
                g.writeEndArray();
                g.writeEndObject();
                offset += bytes;
                copies.add(t);
            }
            g.writeEndObject();
        }
        byte[] h = header.toByteArray();
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer out =
                ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(h);
        for (int i = h.length; i < padded; i++) out.put((byte) ' ');
        for (Tensor t : copies) {
            byte[] data =
                    t.storage().segment().asSlice(0, t.storage().byteSize()).toArray(ValueLayout.JAVA_BYTE);
            out.put(data);
        }
        Files.write(file, out.array());
    }

    /** Parsed file: tensors in file order (GC-managed copies) and the metadata map. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /** Reads a whole file; see {@link #parse(byte[], String)}. */
    public static Contents read(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Parses safetensors bytes; {@code source} names the input in errors. Throws IOException for malformed input. */
    public static Contents parse(byte[] bytes, String source) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN)
            throw new IOException("safetensors: big-endian hosts are not supported");
        if (bytes.length < 8)
            throw new IOException(
                    "safetensors " + source + ": " + bytes.length + " bytes is shorter than the 8-byte header length");
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER || n > bytes.length - 8) {
            throw new IOException("safetensors " + source + ": header length " + n + " is invalid for a file of "
                    + bytes.length + " bytes");
        }
        int dataStart = (int) (8 + n);
        long dataLen = bytes.length - dataStart;
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(bytes, 8, (int) n)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, source, "header");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                expect(p.nextToken(), JsonToken.START_OBJECT, source, name);
                if (name.equals("__metadata__")) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        expect(p.nextToken(), JsonToken.VALUE_STRING, source, "__metadata__." + k);
                        meta.put(k, p.getText());
                    }
                    continue;
                }
                if (entries.containsKey(name))
                    throw new IOException("safetensors " + source + ": duplicate tensor '" + name + "'");
                entries.put(name, entry(p, name, source));
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null)
                throw new IOException("safetensors " + source + ": trailing content in header");
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException("safetensors " + source + ": malformed JSON header: " + e.getOriginalMessage(), e);
        }
        List<long[]> spans = new ArrayList<>();
        for (var e : entries.entrySet()) {
            Entry en = e.getValue();
            long need;
            try {
                need = Math.multiplyExact(Shape.of(en.shape).numel(), (long) en.dtype.byteSize());
            } catch (ArithmeticException ex) {
                throw new IOException("safetensors " + source + ": tensor '" + e.getKey() + "' byte size overflows");
            }
            if (en.begin < 0 || en.end < en.begin || en.end > dataLen || en.end - en.begin != need) {
                throw new IOException("safetensors " + source + ": tensor '" + e.getKey() + "' " + en.dtype + " "
                        + Shape.of(en.shape) + " needs " + need + " bytes but data_offsets are [" + en.begin + ", "
                        + en.end + ") in a data section of " + dataLen);
            }
            if (need > 0) spans.add(new long[] {en.begin, en.end});
        }
        spans.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < spans.size(); i++) {
            if (spans.get(i)[0] < spans.get(i - 1)[1])
                throw new IOException(
                        "safetensors " + source + ": tensor data ranges overlap at byte " + spans.get(i)[0]);
        }
        MemorySegment src = MemorySegment.ofArray(bytes);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : entries.entrySet()) {
            Entry en = e.getValue();
            Tensor t = MemoryScope.unscoped(() -> Tensor.zeros(en.dtype, Shape.of(en.shape)));
            MemorySegment.copy(src, dataStart + en.begin, t.storage().segment(), 0, en.end - en.begin);
            out.put(e.getKey(), t.name(e.getKey()));
        }
        return new Contents(out, meta);
    }

    private record Entry(DType dtype, long[] shape, long begin, long end) {}

    private static Entry entry(JsonParser p, String name, String source) throws IOException {
        DType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken v = p.nextToken();
            switch (f) {
                case "dtype" -> {
                    expect(v, JsonToken.VALUE_STRING, source, name + ".dtype");
                    dtype = dtype(p.getText(), name, source);
                }
                case "shape" -> shape = longs(p, v, source, name + ".shape");
                case "data_offsets" -> offsets = longs(p, v, source, name + ".data_offsets");
                default -> p.skipChildren();
            }
        }
        if (dtype == null || shape == null || offsets == null || offsets.length != 2) {
            throw new IOException(
                    "safetensors " + source + ": tensor '" + name + "' needs dtype, shape and two data_offsets");
        }
        if (shape.length > 8)
            throw new IOException("safetensors " + source + ": tensor '" + name + "' has rank " + shape.length);
        for (long d : shape)
            if (d < 0)
                throw new IOException("safetensors " + source + ": tensor '" + name + "' has a negative dimension");
        try {
            Shape.of(shape).numel();
        } catch (RuntimeException e) {
            throw new IOException(
                    "safetensors " + source + ": tensor '" + name + "' shape is invalid: " + e.getMessage());
        }
        return new Entry(dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] longs(JsonParser p, JsonToken start, String source, String field) throws IOException {
        expect(start, JsonToken.START_ARRAY, source, field);
        List<Long> xs = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.VALUE_NUMBER_INT) {
            if (xs.size() >= 16) throw new IOException("safetensors " + source + ": " + field + " is too long");
            xs.add(p.getLongValue());
        }
        expect(t, JsonToken.END_ARRAY, source, field);
        return xs.stream().mapToLong(Long::longValue).toArray();
    }

    private static void expect(JsonToken got, JsonToken want, String source, String what) throws IOException {
        if (got != want)
            throw new IOException("safetensors " + source + ": expected " + want + " for " + what + ", found " + got);
    }

    private static DType dtype(String code, String name, String source) throws IOException {
        return switch (code) {
            case "F32" -> DType.F32;
            case "F64" -> DType.F64;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            default ->
                throw new IOException(
                        "safetensors " + source + ": tensor '" + name + "' has unsupported dtype " + code);
        };
    }

    private static String code(DType d, String name) {
        return switch (d) {
            case F32 -> "F32";
            case F64 -> "F64";
            case F16 -> "F16";
            case BF16 -> "BF16";
            default ->
                throw new IllegalArgumentException("safetensors: tensor '" + name + "' has dtype " + d
                        + "; adapter files hold floating-point tensors");
        };
    }
}
