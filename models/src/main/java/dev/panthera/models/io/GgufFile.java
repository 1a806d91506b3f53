package dev.panthera.models.io;

import dev.panthera.quant.QuantizedWeight;
import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF (version 2 or 3) file, memory-mapped or read ({@link LoadMode}): typed metadata, tensor infos and the
 * aligned data section. Every count, string length, dimension, type id and offset is checked against the file before
 * use; tensors may not overlap or run past the end. Quantized tensors are available raw ({@link #rawBlocks}) and
 * dequantized to F32.
 */
public final class GgufFile implements Weights {
    /** The magic "GGUF" read as a little-endian u32. */
    public static final int MAGIC = 0x46554747;
    /** Default data alignment when {@code general.alignment} is absent. */
    public static final int DEFAULT_ALIGNMENT = 32;

    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_DEPTH = 4;
    static final long MAX_STRING = 1 << 24;
    /**
     * Most metadata values (array elements included) one file may hold: far above real vocabularies (a 262k-token
     * vocabulary with scores and types is under 1M), and it bounds the heap a hostile array-length field can claim.
     */
    public static final long MAX_METADATA_VALUES = 1 << 23;

    /**
     * One tensor: {@code dims} in ggml order (innermost first, {@code ne[0]}), {@code offset} relative to the data
     * section.
     */
    public record TensorInfo(String name, GgmlType type, long[] dims, long offset, long byteSize) {
        /** Row-major shape, outermost first: {@code dims} reversed. */
        public long[] shape() {
            long[] s = new long[dims.length];
            for (int i = 0; i < dims.length; i++) s[i] = dims[dims.length - 1 - i];
            return s;
        }

        /** Number of weights. */
        public long numel() {
            return Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        }
    }

    private final Arena arena;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final MemorySegment data;
    private final int version;
    private final long alignment;
    private final long dataOffset;
    private final Map<String, GgufValue> metadata;
    private final Map<String, TensorInfo> tensors;
    private final List<String> names;
    /** Dequantized or aligned copies of tensors, made once per tensor and owned by the arena. */
    private final Map<String, MemorySegment> dequantized = new java.util.concurrent.ConcurrentHashMap<>();

    /** What this reader was opened from, named when a tensor of it is used after {@link #close()}. */
    private String source = "gguf image in memory";
    /** The mapped file, checked before a tensor of it is handed out; nothing to check for an owned image. */
    private Mapped.Origin origin = Mapped.Origin.IN_MEMORY;

    private GgufFile(
            Arena arena,
            MemorySegment file,
            int version,
            long alignment,
            long dataOffset,
            Map<String, GgufValue> metadata,
            Map<String, TensorInfo> tensors) {
        this.arena = arena;
        this.version = version;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.data = file.asSlice(dataOffset);
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.names = List.copyOf(tensors.keySet());
    }

    /** Maps {@code path} and reads its header; the returned object owns the mapping (see {@link LoadMode#MAP}). */
    public static GgufFile open(Path path) throws IOException {
        return open(path, LoadMode.MAP);
    }

    /**
     * Maps or reads {@code path} as {@code mode} says and reads its header; the returned object owns the file
     * image.
     */
    public static GgufFile open(Path path, LoadMode mode) throws IOException {
        Mapped.Opened<GgufFile> o = Mapped.open(path, mode, "gguf file " + path, GgufFile::parse);
        o.reader().source = o.origin().source();
        o.reader().origin = o.origin();
        return o.reader();
    }

    /** Reads a GGUF image in memory; the result takes {@code arena} (closed by {@link #close()}), which should own {@code file}. */
    public static GgufFile parse(MemorySegment file, Arena arena) throws ModelFormatException {
        Cursor c = new Cursor("gguf", file, 0);
        int version = version(c);
        long nTensors = c.count("tensor_count", 24);
        long nKv = c.count("metadata_kv_count", 13);
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        long[] budget = {MAX_METADATA_VALUES};
        for (long i = 0; i < nKv; i++) {
            String key = string(c, "metadata key #" + i);
            int type = c.i32("metadata '" + key + "' type");
            GgufValue v = value(c, type, "metadata '" + key + "'", 0, budget);
            if (kv.put(key, v) != null) throw c.error("metadata '" + key + "'", "duplicate key");
        }
        long alignment = DEFAULT_ALIGNMENT;
        GgufValue a = kv.get("general.alignment");
        if (a != null) {
            if (!(a instanceof GgufValue.U32 u) || u.value() == 0 || Long.bitCount(u.value()) != 1) {
                throw c.error("general.alignment", a + " must be a u32 power of two");
            }
            alignment = u.value();
        }
        List<TensorInfo> infos = new ArrayList<>();
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (long i = 0; i < nTensors; i++) {
            String name = string(c, "tensor #" + i + " name");
            int nDims = c.i32("tensor '" + name + "' n_dims");
            if (nDims < 1 || nDims > MAX_DIMS)
                throw c.error("tensor '" + name + "' n_dims", nDims + " outside [1, " + MAX_DIMS + "]");
            long[] dims = new long[nDims];
            long numel = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = c.i64("tensor '" + name + "' ne[" + d + "]");
                if (dims[d] < 0)
                    throw c.error(
                            "tensor '" + name + "' ne[" + d + "]",
                            Long.toUnsignedString(dims[d]) + " is negative or too large");
                numel = SafetensorsFile.mulOrMax(numel, dims[d]);
            }
            int typeId = c.i32("tensor '" + name + "' type");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) throw c.error("tensor '" + name + "' type", "unknown or unsupported ggml type " + typeId);
            if (dims[0] % type.blockSize() != 0) {
                throw c.error(
                        "tensor '" + name + "' ne[0]",
                        dims[0] + " is not a multiple of " + type + "'s block size " + type.blockSize());
            }
            Cursor.checkShape("gguf", "tensor '" + name + "' dims", dims);
            long offset = c.i64("tensor '" + name + "' offset");
            if (offset < 0 || offset % alignment != 0) {
                throw c.error(
                        "tensor '" + name + "' offset",
                        Long.toUnsignedString(offset) + " is not a multiple of alignment " + alignment);
            }
            TensorInfo info = new TensorInfo(
                    name, type, dims, offset, SafetensorsFile.mulOrMax(numel / type.blockSize(), type.typeSize()));
            if (byName.put(name, info) != null) throw c.error("tensor '" + name + "'", "duplicate tensor name");
            infos.add(info);
        }
        long dataOffset = c.pos + (alignment - c.pos % alignment) % alignment;
        if (dataOffset > file.byteSize() && nTensors > 0) {
            throw c.error(
                    "data section",
                    "starts at " + dataOffset + " beyond the end of the " + file.byteSize() + "-byte file");
        }
        long dataSize = Math.max(0, file.byteSize() - dataOffset);
        infos.sort(Comparator.comparingLong(TensorInfo::offset));
        long end = 0;
        for (TensorInfo t : infos) {
            if (t.offset() < end)
                throw c.error(
                        "tensor '" + t.name() + "' offset",
                        t.offset() + " overlaps the previous tensor ending at " + end);
            if (t.byteSize() > dataSize - t.offset()) {
                throw c.error(
                        "tensor '" + t.name() + "' size",
                        t.offset() + " + " + t.byteSize() + " bytes exceeds the data section of " + dataSize
                                + " bytes");
            }
            end = t.offset() + t.byteSize();
        }
        return new GgufFile(arena, file, version, alignment, Math.min(dataOffset, file.byteSize()), kv, byName);
    }

    /** Reads the magic and the version (2 or 3), which it returns. */
    private static int version(Cursor c) throws ModelFormatException {
        int magic = c.i32("magic");
        if (magic != MAGIC) throw c.error("magic", String.format("0x%08x is not \"GGUF\"", magic));
        int version = c.i32("version");
        if (version != 2 && version != 3) throw c.error("version", version + " (only 2 and 3 are read)");
        return version;
    }

    /**
     * The string value of metadata {@code key} in the GGUF file at {@code path}, or null where the file has no such
     * key or its value is not a string. The header is read only up to that key, the values before it stepped over
     * without being decoded: model dispatch reads {@code general.architecture} (which writers put first) this way
     * rather than parsing the vocabulary once to dispatch and again to load. A header malformed before the key is a
     * {@link ModelFormatException} naming the field, as in {@link #open}.
     */
    public static String metadataString(Path path, String key) throws IOException {
        try (Arena arena = Arena.ofConfined();
                FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            Cursor c = new Cursor("gguf", ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena), 0);
            version(c);
            c.count("tensor_count", 24);
            long nKv = c.count("metadata_kv_count", 13);
            for (long i = 0; i < nKv; i++) {
                String k = string(c, "metadata key #" + i);
                int type = c.i32("metadata '" + k + "' type");
                if (k.equals(key)) return type == GgufValue.STRING ? string(c, "metadata '" + k + "'") : null;
                skip(c, type, "metadata '" + k + "'", 0);
            }
            return null;
        } catch (InternalError e) { // a page of the mapping gone: the file was truncated while being read
            throw new IOException("gguf file " + path + ": its header could not be read (" + e.getMessage() + ")", e);
        }
    }

    /** Steps over a metadata value of {@code type} as {@link #value} would read it, decoding nothing. */
    private static void skip(Cursor c, int type, String f, int depth) throws ModelFormatException {
        if (type == GgufValue.STRING) {
            c.skip(c.count(f + " length", 1), f);
        } else if (type == GgufValue.ARRAY) {
            if (depth >= MAX_ARRAY_DEPTH) throw c.error(f, "arrays nested deeper than " + MAX_ARRAY_DEPTH);
            int et = c.i32(f + " element type");
            long min = elementBytes(c, et, f + " element type");
            long n = c.count(f + " array length", min);
            if (et == GgufValue.STRING || et == GgufValue.ARRAY) {
                for (long i = 0; i < n; i++) skip(c, et, f, depth + 1);
            } else {
                c.skip(n * min, f);
            }
        } else {
            c.skip(elementBytes(c, type, f + " type"), f);
        }
    }

    /**
     * The bytes a value of {@code type} takes: its size for the fixed-size types, the least it can take for strings
     * (a length) and arrays (a type and a length).
     */
    private static long elementBytes(Cursor c, int type, String field) throws ModelFormatException {
        return switch (type) {
            case GgufValue.UINT8, GgufValue.INT8, GgufValue.BOOL -> 1;
            case GgufValue.UINT16, GgufValue.INT16 -> 2;
            case GgufValue.UINT32, GgufValue.INT32, GgufValue.FLOAT32 -> 4;
            case GgufValue.STRING, GgufValue.UINT64, GgufValue.INT64, GgufValue.FLOAT64 -> 8;
            case GgufValue.ARRAY -> 12;
            default -> throw c.error(field, "unknown gguf type " + type);
        };
    }

    private static String string(Cursor c, String field) throws ModelFormatException {
        return string(c, field, field + " length");
    }

    /** {@link #string(Cursor, String)} with the length's name in errors given ({@code field + " length"}). */
    private static String string(Cursor c, String field, String lengthField) throws ModelFormatException {
        long n = c.count(lengthField, 1);
        if (n > MAX_STRING) throw c.error(lengthField, n + " bytes exceeds the limit of " + MAX_STRING);
        return c.utf8(n, field);
    }

    /** A metadata value of {@code type}; {@code f} names it in errors ("metadata 'key'"), made once per key. */
    private static GgufValue value(Cursor c, int type, String f, int depth, long[] budget) throws ModelFormatException {
        return switch (type) {
            case GgufValue.UINT8 -> new GgufValue.U8(c.u8(f));
            case GgufValue.INT8 -> new GgufValue.I8((byte) c.u8(f));
            case GgufValue.UINT16 -> new GgufValue.U16(c.i16(f) & 0xFFFF);
            case GgufValue.INT16 -> new GgufValue.I16(c.i16(f));
            case GgufValue.UINT32 -> new GgufValue.U32(c.i32(f) & 0xFFFFFFFFL);
            case GgufValue.INT32 -> new GgufValue.I32(c.i32(f));
            case GgufValue.FLOAT32 -> new GgufValue.F32(c.f32(f));
            case GgufValue.BOOL -> {
                int b = c.u8(f);
                if (b > 1) throw c.error(f, "bool byte " + b + " is neither 0 nor 1");
                yield new GgufValue.Bool(b == 1);
            }
            case GgufValue.STRING -> new GgufValue.Str(string(c, f));
            case GgufValue.UINT64 -> new GgufValue.U64(c.i64(f));
            case GgufValue.INT64 -> new GgufValue.I64(c.i64(f));
            case GgufValue.FLOAT64 -> new GgufValue.F64(c.f64(f));
            case GgufValue.ARRAY -> {
                if (depth >= MAX_ARRAY_DEPTH) throw c.error(f, "arrays nested deeper than " + MAX_ARRAY_DEPTH);
                int et = c.i32(f + " element type");
                long min = elementBytes(c, et, f + " element type");
                long n = c.count(f + " array length", min);
                if (n > budget[0])
                    throw c.error(
                            f + " array length",
                            n + " values exceed the file's metadata limit of " + MAX_METADATA_VALUES);
                budget[0] -= n;
                if (GgufNumbers.holds(et)) yield new GgufValue.Array(et, GgufNumbers.read(c, et, (int) min, n, f));
                List<GgufValue> vs = new ArrayList<>((int) Math.min(n, 1 << 20));
                if (et == GgufValue.STRING) { // a vocabulary: the errors' field names made once, not per string
                    String length = f + " length";
                    for (long i = 0; i < n; i++) vs.add(new GgufValue.Str(string(c, f, length)));
                } else {
                    for (long i = 0; i < n; i++) vs.add(value(c, et, f, depth + 1, budget));
                }
                yield new GgufValue.Array(et, vs);
            }
            default -> throw c.error(f + " type", "unknown gguf type " + type);
        };
    }

    /** GGUF version (2 or 3). */
    public int version() {
        return version;
    }

    /** Data alignment in bytes. */
    public long alignment() {
        return alignment;
    }

    /** File offset of the data section. */
    public long dataOffset() {
        return dataOffset;
    }

    /** Metadata in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Tensor infos in file (header) order. */
    public List<TensorInfo> tensorInfos() {
        return List.copyOf(tensors.values());
    }

    /** The info for {@code name}. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw Weights.missing("gguf", name, names);
        return t;
    }

    /** The raw stored bytes (blocks for quantized types): a zero-copy slice of the mapping. */
    public MemorySegment rawBlocks(String name) {
        TensorInfo t = info(name);
        origin.check(name);
        return data.asSlice(t.offset(), t.byteSize());
    }

    /**
     * A 2-D tensor kept in its stored blocks (ggml dims [in, out]) as a {@link QuantizedWeight} [out, in] over the
     * mapping: no copy and no F32 expansion, for {@code QuantizedMatmul}. Valid while this file is open.
     */
    public QuantizedWeight quantizedWeight(String name) {
        TensorInfo t = info(name);
        if (t.dims().length != 2) {
            throw new IllegalArgumentException(
                    "gguf: '" + name + "' has shape " + Arrays.toString(t.shape()) + "; a quantized weight is 2-D");
        }
        return new QuantizedWeight(name, t.type(), t.dims()[1], t.dims()[0], rawBlocks(name));
    }

    /** {@code name} converted to F32 values on the heap (at most 2^31 - 1 weights). */
    public float[] dequantize(String name) {
        TensorInfo t = info(name);
        if (t.numel() > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("gguf: '" + name + "' is too large for a float[]");
        float[] out = new float[(int) t.numel()];
        return origin.read(name, () -> {
            GgmlQuants.dequantize(t.type(), rawBlocks(name), MemorySegment.ofArray(out), t.numel());
            return out;
        });
    }

    /**
     * Bytes this reader has allocated beside the file image: the F32 copies of quantized tensors and the aligned
     * copies of misaligned ones made by {@link #tensor}. A model that keeps its quantized tensors as blocks adds
     * almost nothing here; one that dequantizes them adds four bytes a weight.
     */
    public long convertedBytes() {
        long n = 0, from = data.address(), to = from + data.byteSize();
        for (MemorySegment s : dequantized.values()) {
            boolean inFile = s.address() >= from && s.address() < to; // a zero-copy slice cached by name
            if (!inFile) n += s.byteSize();
        }
        return n;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public long[] shape(String name) {
        return info(name).shape();
    }

    /**
     * F32/F16/BF16/I8/I32/I64/F64 tensors zero-copy; quantized ones dequantized to F32 once (on first request, then
     * reused) in this file's arena.
     */
    @Override
    public Tensor tensor(String name) {
        TensorInfo t = info(name);
        DType dtype = switch (t.type()) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            case I8 -> DType.I8;
            case I32 -> DType.I32;
            case I64 -> DType.I64;
            case F64 -> DType.F64;
            default -> null;
        };
        Shape shape = Shape.of(t.shape());
        if (dtype != null)
            return origin.tensor(
                            origin.read(
                                    name,
                                    () -> dequantized.computeIfAbsent(
                                            name, n -> origin.place(rawBlocks(n), dtype, arena))),
                            dtype,
                            shape,
                            source)
                    .name(name);
        if (t.type() == GgmlType.I16)
            throw new IllegalArgumentException("gguf: '" + name + "' is I16, which has no tensor dtype; use rawBlocks");
        MemorySegment out = origin.read(
                name,
                () -> dequantized.computeIfAbsent(name, n -> {
                    MemorySegment f = origin.allocate(t.numel() * 4, DType.F32, arena), raw = rawBlocks(n);
                    GgmlQuants.dequantize(t.type(), raw, f, t.numel());
                    // the F32 copy is read from now on: give a read-only mapping's pages of the blocks back
                    if (raw.isMapped() && raw.isReadOnly()) raw.unload();
                    return f;
                }));
        return origin.tensor(out, DType.F32, shape, source).name(name);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) arena.close();
    }
}
