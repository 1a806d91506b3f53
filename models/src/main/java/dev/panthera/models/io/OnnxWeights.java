package dev.panthera.models.io;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The initializers (weights) of an ONNX model, read from the protobuf wire format without a protobuf library: only
 * ModelProto.graph (7), GraphProto.node (1) and initializer (5), NodeProto input/output/name/op_type (1-4) and
 * TensorProto dims (1), data_type (2), float_data (4), int32_data (5), int64_data (7), name (8), raw_data (9),
 * double_data (10) and data_location (14, external data is rejected). raw_data and packed float/double data are
 * zero-copy slices of the mapped file (copied only when unaligned).
 *
 * <p>Exporters from PyTorch name the Linear weights anonymously ({@code onnx::MatMul_1234}). Where such an
 * initializer feeds a MatMul node named like {@code /encoder/layer.0/attention/self/query/MatMul}, it is listed
 * under the HuggingFace name {@code encoder.layer.0.attention.self.query.weight}; both names work in
 * {@link #tensor}; a HuggingFace name that another initializer already has is a {@link ModelFormatException}
 * naming both, never a silent choice. Those tensors are stored [in, out]: the transpose of HuggingFace's Linear.weight
 * ({@link #isTransposed}).
 */
public final class OnnxWeights implements Weights {
    /**
     * One initializer: its values are {@code [start, end)} of the file in field {@code field}'s encoding, or, when the
     * writer used the unpacked encoding of a repeated field, {@code unpacked} (raw bits: float/double bits or varints).
     */
    public record Initializer(
            String name, int dataType, long[] dims, long start, long end, int field, long count, long[] unpacked) {}

    /** One graph node (the fields this reader keeps). */
    public record Node(String name, String opType, List<String> inputs, List<String> outputs) {}

    /**
     * Most graph entries (nodes, initializers and node input/output names together) one file may hold: far above
     * real models, and it bounds the heap a hostile file of tiny messages can claim.
     */
    public static final long MAX_GRAPH_ENTRIES = 1 << 22;

    private final Arena arena;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final MemorySegment file;
    private final Map<String, Initializer> inits;
    private final Map<String, String> hfToOnnx;
    /** The GraphProto byte ranges ({start, end}) of the file, re-read by {@link #nodes()}. */
    private final List<long[]> graphs;

    private final List<String> names;
    /** Tensor data that had to be copied (unaligned) or decoded, made once per tensor and owned by the arena. */
    private final Map<String, MemorySegment> converted = new java.util.concurrent.ConcurrentHashMap<>();

    /** What this reader was opened from, named when a tensor of it is used after {@link #close()}. */
    private String source = "onnx image in memory";
    /** The mapped file, checked before a tensor of it is handed out; nothing to check for an owned image. */
    private Mapped.Origin origin = Mapped.Origin.IN_MEMORY;

    private OnnxWeights(
            Arena arena,
            MemorySegment file,
            Map<String, Initializer> inits,
            List<long[]> graphs,
            Map<String, String> hfToOnnx) {
        this.arena = arena;
        this.file = file;
        this.inits = Collections.unmodifiableMap(inits);
        this.graphs = List.copyOf(graphs);
        this.hfToOnnx = Collections.unmodifiableMap(hfToOnnx);
        Map<String, List<String>> onnxToHf = new LinkedHashMap<>();
        hfToOnnx.forEach(
                (h, o) -> onnxToHf.computeIfAbsent(o, k -> new ArrayList<>()).add(h));
        List<String> all = new ArrayList<>();
        for (String n : inits.keySet()) all.addAll(onnxToHf.getOrDefault(n, List.of(n)));
        this.names = List.copyOf(all);
    }

    /**
     * HuggingFace name → ONNX name of each anonymous MatMul weight. A HuggingFace name that is already an
     * initializer's name, or that two different initializers would get, is an error naming both: the file then has
     * two candidates for one weight and either choice could load the wrong numbers. One initializer read by two
     * MatMul nodes (tied weights) gets both names.
     */
    private static Map<String, String> renames(Map<String, Initializer> inits, List<Node> nodes)
            throws ModelFormatException {
        Map<String, String> hf = new LinkedHashMap<>();
        for (Node n : nodes) {
            String base = matMulScope(n);
            if (base == null) continue;
            for (String in : n.inputs()) {
                if (!in.startsWith("onnx::") || !inits.containsKey(in)) continue;
                String h = base + ".weight";
                if (inits.containsKey(h)) {
                    throw new ModelFormatException(
                            "onnx",
                            "node '" + n.name() + "'",
                            "MatMul weight '" + in + "' would be listed as '" + h
                                    + "', the name of another initializer: two candidates for one weight");
                }
                String prev = hf.putIfAbsent(h, in);
                if (prev != null && !prev.equals(in)) {
                    throw new ModelFormatException(
                            "onnx",
                            "node '" + n.name() + "'",
                            "MatMul weights '" + prev + "' and '" + in + "' would both be listed as '" + h + "'");
                }
            }
        }
        return hf;
    }

    /**
     * The module path of a MatMul node named like {@code /encoder/layer.0/attention/self/query/MatMul}, with dots
     * for slashes ({@code encoder.layer.0.attention.self.query}); null for any other node or an empty path.
     */
    private static String matMulScope(Node n) {
        String name = n.name();
        if (!n.opType().equals("MatMul") || !name.startsWith("/") || !name.endsWith("/MatMul")) return null;
        if (name.length() <= 1 + "/MatMul".length()) return null; // "/MatMul", "//MatMul": no module path
        return name.substring(1, name.length() - "/MatMul".length()).replace('/', '.');
    }

    /** Maps {@code path} and reads its graph; the returned object owns the mapping (see {@link LoadMode#MAP}). */
    public static OnnxWeights open(Path path) throws IOException {
        return open(path, LoadMode.MAP);
    }

    /**
     * Maps or reads {@code path} as {@code mode} says and reads its graph; the returned object owns the file
     * image.
     */
    public static OnnxWeights open(Path path, LoadMode mode) throws IOException {
        Mapped.Opened<OnnxWeights> o = Mapped.open(path, mode, "onnx file " + path, OnnxWeights::parse);
        o.reader().source = o.origin().source();
        o.reader().origin = o.origin();
        return o.reader();
    }

    /** Reads a model in memory; the result takes {@code arena} (closed by {@link #close()}), which should own {@code file}. */
    public static OnnxWeights parse(MemorySegment file, Arena arena) throws ModelFormatException {
        Map<String, Initializer> inits = new LinkedHashMap<>();
        List<Node> matMuls = new ArrayList<>();
        List<long[]> graphs = new ArrayList<>();
        Protobuf model = new Protobuf(file, 0, file.byteSize(), "ModelProto");
        boolean graph = false;
        long[] budget = {MAX_GRAPH_ENTRIES};
        while (model.next()) {
            if (model.field == 7) {
                long n = model.length("graph");
                graph(new Protobuf(file, model.pos, model.pos + n, "GraphProto"), inits, matMuls, budget);
                graphs.add(new long[] {model.pos, model.pos + n});
                model.pos += n;
                graph = true;
            } else {
                model.skip();
            }
        }
        if (!graph) throw new ModelFormatException("onnx", "ModelProto.graph", "missing");
        return new OnnxWeights(arena, file, inits, graphs, renames(inits, matMuls));
    }

    /**
     * Reads one GraphProto: every initializer, and every node checked; only the MatMul nodes the renaming needs are
     * kept, so a flood of nodes costs no heap per node.
     */
    private static void graph(Protobuf g, Map<String, Initializer> inits, List<Node> matMuls, long[] budget)
            throws ModelFormatException {
        Protobuf nodeReader = new Protobuf(g.seg, 0, 0, "NodeProto"); // reused: a node costs no reader object
        while (g.next()) {
            if (g.field == 1 || g.field == 5) {
                if (--budget[0] < 0)
                    throw g.error(
                            g.field == 1 ? "node" : "initializer", "more than " + MAX_GRAPH_ENTRIES + " graph entries");
                long n = g.length(g.field == 1 ? "node" : "initializer");
                if (g.field == 1) {
                    Node node = node(nodeReader.reset(g.pos, g.pos + n));
                    budget[0] -= node.inputs().size() + node.outputs().size();
                    if (budget[0] < 0)
                        throw nodeReader.error("input", "more than " + MAX_GRAPH_ENTRIES + " graph entries");
                    if (matMulScope(node) != null) matMuls.add(node);
                } else {
                    Protobuf m = new Protobuf(g.seg, g.pos, g.pos + n, "TensorProto");
                    Initializer t = OnnxTensorProto.tensor(m);
                    if (inits.put(t.name(), t) != null)
                        throw m.error("name", "duplicate initializer '" + t.name() + "'");
                }
                g.pos += n;
            } else {
                g.skip();
            }
        }
    }

    private static final Node EMPTY_NODE = new Node("", "", List.of(), List.of());

    private static Node node(Protobuf m) throws ModelFormatException {
        String name = "", op = "";
        List<String> in = List.of(), out = List.of(); // allocated on the first name: an empty node costs nothing
        while (m.next()) {
            switch (m.field) {
                case 1 -> {
                    if (in.isEmpty()) in = new ArrayList<>();
                    in.add(m.string("input"));
                }
                case 2 -> {
                    if (out.isEmpty()) out = new ArrayList<>();
                    out.add(m.string("output"));
                }
                case 3 -> name = m.string("name");
                case 4 -> op = m.string("op_type");
                default -> m.skip();
            }
        }
        if (name.isEmpty() && op.isEmpty() && in.isEmpty() && out.isEmpty()) return EMPTY_NODE;
        return new Node(name, op, in, out);
    }

    /** Graph nodes in file order, read from the file on each call (they were checked when it was opened). */
    public List<Node> nodes() {
        return origin.read("graph nodes", this::readNodes);
    }

    private List<Node> readNodes() {
        List<Node> out = new ArrayList<>();
        try {
            for (long[] r : graphs) {
                Protobuf g = new Protobuf(file, r[0], r[1], "GraphProto");
                while (g.next()) {
                    if (g.field == 1) {
                        long n = g.length("node");
                        out.add(node(new Protobuf(file, g.pos, g.pos + n, "NodeProto")));
                        g.pos += n;
                    } else {
                        g.skip();
                    }
                }
            }
        } catch (ModelFormatException e) {
            throw new IllegalStateException(e); // checked at parse time
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * The value of graph value {@code output}: an initializer of that name, or the tensor a Constant node produces
     * under that name (its {@code value}, {@code value_float} or {@code value_int} attribute); null when neither
     * exists. Model loaders use it for numbers that live only in the graph (an attention scale, a LayerNorm epsilon).
     */
    public Tensor constant(String output) {
        if (inits.containsKey(output)) return tensor(output);
        return origin.read("graph constants", () -> readConstant(output));
    }

    private Tensor readConstant(String output) {
        try {
            for (long[] r : graphs) {
                Protobuf g = new Protobuf(file, r[0], r[1], "GraphProto");
                while (g.next()) {
                    if (g.field != 1) {
                        g.skip();
                        continue;
                    }
                    long n = g.length("node");
                    Protobuf m = new Protobuf(file, g.pos, g.pos + n, "NodeProto");
                    g.pos += n;
                    Node node = node(new Protobuf(file, m.pos, m.end, "NodeProto"));
                    if (!node.opType().equals("Constant") || !node.outputs().contains(output)) continue;
                    while (m.next()) {
                        if (m.field != 5) {
                            m.skip();
                            continue;
                        }
                        long an = m.length("attribute");
                        Tensor t = attributeValue(new Protobuf(file, m.pos, m.pos + an, "AttributeProto"), output);
                        m.pos += an;
                        if (t != null) return t;
                    }
                    return null;
                }
            }
        } catch (ModelFormatException e) {
            throw new IllegalArgumentException("onnx: Constant '" + output + "': " + e.getMessage(), e);
        }
        return null;
    }

    /** AttributeProto fields: name (1), f (2), i (3), t (5); null for any other attribute of a Constant. */
    private Tensor attributeValue(Protobuf a, String output) throws ModelFormatException {
        String name = "";
        Float f = null;
        Long i = null;
        Initializer t = null;
        while (a.next()) {
            switch (a.field) {
                case 1 -> name = a.string("name");
                case 2 -> {
                    if (a.wire != Protobuf.I32) throw a.error("f", "wire type " + a.wire);
                    a.fixed(4);
                    f = Float.intBitsToFloat(a.seg.get(Cursor.I32, a.pos - 4));
                }
                case 3 -> i = a.varint("i");
                case 5 -> {
                    long n = a.length("t");
                    t = OnnxTensorProto.tensor(new Protobuf(a.seg, a.pos, a.pos + n, "TensorProto"), output);
                    a.pos += n;
                }
                default -> a.skip();
            }
        }
        return switch (name) {
            case "value" ->
                t == null ? null : materialize(t, "constant:" + output, output).name(output);
            case "value_float" -> f == null ? null : Tensor.of(new float[] {f}, new long[0]);
            case "value_int" -> i == null ? null : Tensor.of(new long[] {i}, new long[0]);
            default -> null;
        };
    }

    /** Initializers under their ONNX names, in file order. */
    public Map<String, Initializer> initializers() {
        return inits;
    }

    /** HuggingFace name → anonymous ONNX name for the MatMul weights that were renamed. */
    public Map<String, String> hfNames() {
        return hfToOnnx;
    }

    /** True when {@code name} is a renamed MatMul weight, stored [in, out] (transposed relative to HuggingFace). */
    public boolean isTransposed(String name) {
        return hfToOnnx.containsKey(name);
    }

    private Initializer init(String name) {
        Initializer i = inits.get(hfToOnnx.getOrDefault(name, name));
        if (i == null) throw Weights.missing("onnx", name, names);
        return i;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return hfToOnnx.containsKey(name) || inits.containsKey(name);
    }

    @Override
    public long[] shape(String name) {
        return init(name).dims().clone();
    }

    @Override
    public Tensor tensor(String name) {
        Initializer i = init(name);
        return materialize(i, i.name(), name).name(name);
    }

    /**
     * The tensor of initializer {@code i}; decoded or aligned copies are made once, cached under {@code key}.
     * {@code what} is the name a refused read (file closed or truncated) reports: the one the caller asked for.
     */
    private Tensor materialize(Initializer i, String key, String what) {
        DType dtype;
        try {
            dtype = OnnxTensorProto.dtype(i.dataType(), null, i.name());
        } catch (ModelFormatException e) {
            throw new IllegalStateException(e); // checked at parse time
        }
        Shape shape = Shape.of(i.dims());
        MemorySegment data = origin.read(
                what,
                () -> converted.computeIfAbsent(
                        key,
                        n -> i.unpacked() != null
                                ? fromUnpacked(i, dtype)
                                : switch (i.field()) {
                                    case 9, 4, 10 ->
                                        origin.place(file.asSlice(i.start(), i.end() - i.start()), dtype, arena);
                                    default -> decodeVarints(i, dtype);
                                }));
        return origin.tensor(data, dtype, shape, source);
    }

    private MemorySegment fromUnpacked(Initializer i, DType dtype) {
        MemorySegment out = origin.allocate(Math.max(1, i.count() * dtype.byteSize()), dtype, arena);
        long[] v = i.unpacked();
        for (int k = 0; k < v.length; k++) {
            switch (dtype) {
                case F32 -> out.setAtIndex(ValueLayout.JAVA_FLOAT, k, Float.intBitsToFloat((int) v[k]));
                case F64 -> out.setAtIndex(ValueLayout.JAVA_DOUBLE, k, Double.longBitsToDouble(v[k]));
                case I64 -> out.setAtIndex(ValueLayout.JAVA_LONG, k, v[k]);
                case I32 -> out.setAtIndex(ValueLayout.JAVA_INT, k, (int) v[k]);
                case F16, BF16 -> out.setAtIndex(ValueLayout.JAVA_SHORT, k, (short) v[k]);
                default -> out.set(ValueLayout.JAVA_BYTE, k, (byte) v[k]);
            }
        }
        return out;
    }

    private MemorySegment decodeVarints(Initializer i, DType dtype) {
        MemorySegment out = origin.allocate(Math.max(1, i.count() * dtype.byteSize()), dtype, arena);
        Protobuf p = new Protobuf(file, i.start(), i.end(), "TensorProto");
        try {
            for (long k = 0; k < i.count(); k++) {
                long v = p.varint(i.name());
                switch (dtype) {
                    case I64 -> out.setAtIndex(ValueLayout.JAVA_LONG, k, v);
                    case I32 -> out.setAtIndex(ValueLayout.JAVA_INT, k, (int) v);
                    case F16, BF16 -> out.setAtIndex(ValueLayout.JAVA_SHORT, k, (short) v);
                    default -> out.set(ValueLayout.JAVA_BYTE, k, (byte) v);
                }
            }
        } catch (ModelFormatException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) arena.close();
    }
}
