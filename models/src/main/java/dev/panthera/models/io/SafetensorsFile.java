package dev.panthera.models.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header, then the tensor bytes. {@link #open}
 * memory-maps the file (or reads it, {@link LoadMode}); tensors are zero-copy slices of that image where aligned. The
 * header is checked completely before any slice is made: known dtype, non-negative shape, {@code data_offsets} inside
 * the data section, byte size equal to elements × dtype size, and offsets that tile the data section without gap or
 * overlap (as the reference reader requires). Any violation is a {@link ModelFormatException} naming the tensor and
 * field.
 */
public final class SafetensorsFile implements Weights {
    /** Largest header accepted (the reference implementation's limit is 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(8)
                    .maxStringLength(1 << 20)
                    .maxNumberLength(24)
                    .maxNameLength(1 << 16)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** One tensor's header entry; {@code begin}/{@code end} are offsets into the data section. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        /** Bytes of data. */
        public long byteSize() {
            return end - begin;
        }
    }

    private final Arena arena;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final MemorySegment data;
    private final Map<String, String> metadata;
    private final Map<String, Entry> entries;
    private final List<String> names;
    private final long headerLength;
    /** Tensor data that had to be copied (unaligned) or decoded, made once per tensor and owned by the arena. */
    private final Map<String, MemorySegment> converted = new java.util.concurrent.ConcurrentHashMap<>();

    /** What this reader was opened from, named when a tensor of it is used after {@link #close()}. */
    private String source = "safetensors image in memory";
    /** The mapped file, checked before a tensor of it is handed out; nothing to check for an owned image. */
    private Mapped.Origin origin = Mapped.Origin.IN_MEMORY;

    private SafetensorsFile(
            Arena arena, MemorySegment file, long headerLength, Map<String, String> metadata, List<Entry> sorted) {
        this.arena = arena;
        this.headerLength = headerLength;
        this.data = file.asSlice(8 + headerLength);
        this.metadata = Collections.unmodifiableMap(metadata);
        Map<String, Entry> m = new LinkedHashMap<>();
        for (Entry e : sorted) m.put(e.name(), e);
        this.entries = Collections.unmodifiableMap(m);
        this.names = List.copyOf(m.keySet());
    }

    /** Maps {@code path} and reads its header; the returned object owns the mapping (see {@link LoadMode#MAP}). */
    public static SafetensorsFile open(Path path) throws IOException {
        return open(path, LoadMode.MAP);
    }

    /**
     * Maps or reads {@code path} as {@code mode} says and reads its header; the returned object owns the file
     * image.
     */
    public static SafetensorsFile open(Path path, LoadMode mode) throws IOException {
        Mapped.Opened<SafetensorsFile> o = Mapped.open(path, mode, "safetensors file " + path, SafetensorsFile::parse);
        o.reader().source = o.origin().source();
        o.reader().origin = o.origin();
        return o.reader();
    }

    /**
     * Reads a safetensors image already in memory. The result takes {@code arena} (closed by {@link #close()}), which
     * should own {@code file}; tensors that need an aligned copy are allocated there.
     */
    public static SafetensorsFile parse(MemorySegment file, Arena arena) throws ModelFormatException {
        Cursor c = new Cursor("safetensors", file, 0);
        long n = c.i64("header length");
        if (n < 2 || n > MAX_HEADER_BYTES || n > c.remaining()) {
            throw c.error(
                    "header length",
                    Long.toUnsignedString(n) + " is outside [2, min(" + MAX_HEADER_BYTES + ", " + c.remaining()
                            + " bytes left in the file)]");
        }
        byte[] header = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        Cursor.decodeUtf8("safetensors", "header", header);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> list = new ArrayList<>();
        try (JsonParser p = JSON.createParser(header)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "header");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                if (key.equals("__metadata__")) {
                    expect(p.nextToken(), JsonToken.START_OBJECT, "__metadata__");
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        expect(p.nextToken(), JsonToken.VALUE_STRING, "__metadata__." + k);
                        metadata.put(k, p.getText());
                    }
                } else {
                    list.add(readEntry(p, key));
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new ModelFormatException("safetensors", "header", "trailing content after the JSON object");
            }
        } catch (ModelFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new ModelFormatException("safetensors", "header", "invalid JSON: " + e.getMessage(), e);
        }
        long dataSize = file.byteSize() - 8 - n;
        list.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        for (Entry e : list) {
            if (e.begin() != at) {
                throw new ModelFormatException(
                        "safetensors",
                        e.name() + ".data_offsets",
                        "begins at " + e.begin() + " but the previous tensor ends at " + at
                                + " (tensors must tile the data section without gaps or overlap)");
            }
            if (e.end() > dataSize) {
                throw new ModelFormatException(
                        "safetensors",
                        e.name() + ".data_offsets",
                        "ends at " + e.end() + " beyond the data section of " + dataSize + " bytes");
            }
            at = e.end();
        }
        if (at != dataSize) {
            throw new ModelFormatException(
                    "safetensors", "data_offsets", "tensors cover " + at + " of the " + dataSize + " data bytes");
        }
        return new SafetensorsFile(arena, file, n, metadata, list);
    }

    private static Entry readEntry(JsonParser p, String name) throws IOException {
        expect(p.nextToken(), JsonToken.START_OBJECT, name);
        DType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            switch (f) {
                case "dtype" -> {
                    expect(p.nextToken(), JsonToken.VALUE_STRING, name + ".dtype");
                    dtype = dtype(p.getText(), name);
                }
                case "shape" -> shape = longs(p, name + ".shape", -1);
                case "data_offsets" -> offsets = longs(p, name + ".data_offsets", 2);
                default -> throw new ModelFormatException("safetensors", name + "." + f, "unknown field");
            }
        }
        if (dtype == null || shape == null || offsets == null) {
            throw new ModelFormatException("safetensors", name, "needs dtype, shape and data_offsets");
        }
        if (offsets[0] > offsets[1]) {
            throw new ModelFormatException(
                    "safetensors", name + ".data_offsets", "begin " + offsets[0] + " > end " + offsets[1]);
        }
        Cursor.checkShape("safetensors", name + ".shape", shape);
        long bytes = dtype.byteSize();
        for (long d : shape) {
            bytes = mulOrMax(bytes, d);
        }
        if (bytes != offsets[1] - offsets[0]) {
            throw new ModelFormatException(
                    "safetensors",
                    name,
                    dtype + " " + java.util.Arrays.toString(shape) + " needs "
                            + (bytes == Long.MAX_VALUE ? "more than 2^63" : Long.toString(bytes))
                            + " bytes but data_offsets span "
                            + (offsets[1] - offsets[0]));
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    static long mulOrMax(long a, long b) {
        long r = Math.multiplyHigh(a, b) != 0 ? Long.MAX_VALUE : a * b;
        return r < 0 ? Long.MAX_VALUE : r;
    }

    private static long[] longs(JsonParser p, String field, int exact) throws IOException {
        expect(p.nextToken(), JsonToken.START_ARRAY, field);
        long[] out = new long[4];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_NUMBER_INT
                    || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    || p.getLongValue() < 0) {
                throw new ModelFormatException(
                        "safetensors", field, "expects non-negative integers, found " + p.getText());
            }
            if (n == 64) throw new ModelFormatException("safetensors", field, "more than 64 entries");
            if (n == out.length) out = java.util.Arrays.copyOf(out, n * 2);
            out[n++] = p.getLongValue();
        }
        if (exact >= 0 && n != exact)
            throw new ModelFormatException("safetensors", field, "expects " + exact + " integers, found " + n);
        return java.util.Arrays.copyOf(out, n);
    }

    private static void expect(JsonToken got, JsonToken want, String field) throws ModelFormatException {
        if (got != want) throw new ModelFormatException("safetensors", field, "expected " + want + " but found " + got);
    }

    private static DType dtype(String s, String name) throws ModelFormatException {
        return switch (s) {
            case "F64" -> DType.F64;
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "I64" -> DType.I64;
            case "I32" -> DType.I32;
            case "I8" -> DType.I8;
            case "U8" -> DType.U8;
            case "BOOL" -> DType.BOOL;
            default -> throw new ModelFormatException("safetensors", name + ".dtype", "unsupported dtype '" + s + "'");
        };
    }

    /** The {@code __metadata__} map in file order (empty if absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Header entries in data-offset order. */
    public List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    /** The entry for {@code name}. */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw Weights.missing("safetensors", name, names);
        return e;
    }

    /** The header's length in bytes (without the 8-byte length prefix). */
    public long headerLength() {
        return headerLength;
    }

    /** The raw bytes of {@code name}: a zero-copy slice of the file image. */
    public MemorySegment bytes(String name) {
        Entry e = entry(name);
        origin.check(name);
        return data.asSlice(e.begin(), e.byteSize());
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    @Override
    public long[] shape(String name) {
        return entry(name).shape().clone();
    }

    @Override
    public Tensor tensor(String name) {
        Entry e = entry(name);
        if (java.nio.ByteOrder.nativeOrder() != java.nio.ByteOrder.LITTLE_ENDIAN) // tensors view the file's bytes
        throw new UnsupportedOperationException("safetensors: big-endian platforms are not supported");
        MemorySegment s = origin.read(
                name,
                () -> converted.computeIfAbsent(
                        name, n -> origin.place(data.asSlice(e.begin(), e.byteSize()), e.dtype(), arena)));
        return origin.tensor(s, e.dtype(), Shape.of(e.shape()), source).name(name);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) arena.close();
    }
}
