package dev.panthera.models.io;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.List;
import java.util.Map;
import java.util.RandomAccess;

/**
 * A llama2.c checkpoint in {@code run.c}'s layout: seven little-endian int32s (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate classifier follows), then float32 weights
 * in run.c order, with the legacy freq_cis tables skipped. Tensors get HuggingFace-Llama-like names
 * ({@code model.embed_tokens.weight}, {@code model.layers.N.self_attn.q_proj.weight}, ..., {@code lm_head.weight})
 * and PyTorch Linear shapes [out, in]. The q/k rows are in llama2.c's order (RoPE on adjacent pairs), not
 * HuggingFace's permuted order.
 */
public final class Llama2cCheckpoint implements Weights {
    /** The header: a shared classifier when {@code sharedClassifier}. */
    public record Config(
            int dim,
            int hiddenDim,
            int nLayers,
            int nHeads,
            int nKvHeads,
            int vocabSize,
            int seqLen,
            boolean sharedClassifier) {
        /** dim / n_heads. */
        public int headSize() {
            return dim / nHeads;
        }
    }

    private record Slot(long offset, long[] shape) {}

    private final Arena arena;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final MemorySegment file;
    private final Config config;
    private final List<String> names = new Names();
    /** Tensor data that had to be copied (unaligned) or decoded, made once per tensor and owned by the arena. */
    private final Map<String, MemorySegment> converted = new java.util.concurrent.ConcurrentHashMap<>();

    /** What this reader was opened from, named when a tensor of it is used after {@link #close()}. */
    private String source = "llama2.c checkpoint image in memory";
    /** The mapped file, checked before a tensor of it is handed out; nothing to check for an owned image. */
    private Mapped.Origin origin = Mapped.Origin.IN_MEMORY;

    private Llama2cCheckpoint(Arena arena, MemorySegment file, Config config) {
        this.arena = arena;
        this.file = file;
        this.config = config;
    }

    /** Maps {@code path} and reads its header; the returned object owns the mapping (see {@link LoadMode#MAP}). */
    public static Llama2cCheckpoint open(Path path) throws IOException {
        return open(path, LoadMode.MAP);
    }

    /**
     * Maps or reads {@code path} as {@code mode} says and reads its header; the returned object owns the file
     * image.
     */
    public static Llama2cCheckpoint open(Path path, LoadMode mode) throws IOException {
        Mapped.Opened<Llama2cCheckpoint> o =
                Mapped.open(path, mode, "llama2.c checkpoint file " + path, Llama2cCheckpoint::parse);
        o.reader().source = o.origin().source();
        o.reader().origin = o.origin();
        return o.reader();
    }

    /** Reads a checkpoint in memory; the result takes {@code arena} (closed by {@link #close()}), which should own {@code file}. */
    public static Llama2cCheckpoint parse(MemorySegment file, Arena arena) throws ModelFormatException {
        Cursor c = new Cursor("llama2c", file, 0);
        int dim = c.i32("dim"), hidden = c.i32("hidden_dim"), layers = c.i32("n_layers"), heads = c.i32("n_heads");
        int kvHeads = c.i32("n_kv_heads"), vocab = c.i32("vocab_size"), seqLen = c.i32("seq_len");
        check(c, dim > 0, "dim", dim + " must be positive");
        check(c, hidden > 0, "hidden_dim", hidden + " must be positive");
        check(c, layers > 0, "n_layers", layers + " must be positive");
        check(c, heads > 0 && dim % heads == 0, "n_heads", heads + " must be positive and divide dim " + dim);
        check(
                c,
                kvHeads > 0 && heads % kvHeads == 0,
                "n_kv_heads",
                kvHeads + " must be positive and divide n_heads " + heads);
        check(c, vocab != 0 && vocab != Integer.MIN_VALUE, "vocab_size", vocab + " must be non-zero");
        check(c, seqLen > 0, "seq_len", seqLen + " must be positive");
        check(c, layers <= (Integer.MAX_VALUE - 3) / KINDS.length, "n_layers", layers + " layers are too many to list");
        int hs = dim / heads;
        check(c, hs % 2 == 0, "n_heads", "head size " + hs + " must be even");
        Config cfg = new Config(dim, hidden, layers, heads, kvHeads, Math.abs(vocab), seqLen, vocab > 0);
        long v = cfg.vocabSize(), kv = (long) kvHeads * hs;
        long perLayer = sum(
                mul(2, dim),
                mul(heads, mul(hs, dim)),
                mul(2, mul(kv, dim)),
                mul(dim, mul(heads, hs)),
                mul(3, mul(hidden, dim)));
        long total = mul(
                4,
                sum(
                        7,
                        mul(v, dim),
                        mul(layers, perLayer),
                        dim,
                        mul(seqLen, hs),
                        cfg.sharedClassifier() ? 0 : mul(v, dim)));
        if (total > file.byteSize()) {
            throw c.error(
                    "weights",
                    "the header " + cfg + " needs "
                            + (total == Long.MAX_VALUE ? "more than 2^63" : Long.toString(total))
                            + " bytes but the file has " + file.byteSize());
        }
        return new Llama2cCheckpoint(arena, file, cfg);
    }

    /** The per-layer weights in run.c's order: all layers of one kind, then the next kind. */
    private static final String[] KINDS = {
        "input_layernorm",
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "post_attention_layernorm",
        "mlp.gate_proj",
        "mlp.down_proj",
        "mlp.up_proj"
    };

    private static final String LAYERS = "model.layers.";

    /** The shape of a layer's weight of kind {@code k} (an index into KINDS). */
    private long[] kindShape(int k) {
        Config c = config;
        long q = (long) c.nHeads() * c.headSize(), kv = (long) c.nKvHeads() * c.headSize();
        return switch (k) {
            case 0, 5 -> new long[] {c.dim()};
            case 1 -> new long[] {q, c.dim()};
            case 2, 3 -> new long[] {kv, c.dim()};
            case 4 -> new long[] {c.dim(), q};
            case 6, 8 -> new long[] {c.hiddenDim(), c.dim()};
            default -> new long[] {c.dim(), c.hiddenDim()};
        };
    }

    private static long bytes(long[] shape) {
        long n = 4;
        for (long d : shape) n *= d; // parse checked that the whole file's size fits in a long
        return n;
    }

    /**
     * The slot of {@code name}, or null: offsets follow from the header alone, so nothing is stored per layer and a
     * header with millions of layers costs no heap (parse checked the file holds every byte).
     */
    private Slot find(String name) {
        Config c = config;
        long[] embed = {c.vocabSize(), c.dim()};
        long layersStart = 28 + bytes(embed), at = layersStart;
        if (name.equals("model.embed_tokens.weight")) return new Slot(28, embed);
        for (int k = 0; k < KINDS.length; k++) at += c.nLayers() * bytes(kindShape(k));
        if (name.equals("model.norm.weight")) return new Slot(at, new long[] {c.dim()});
        if (name.equals("lm_head.weight")) {
            return c.sharedClassifier()
                    ? new Slot(28, embed)
                    : new Slot(at + 4L * c.dim() + 4L * c.seqLen() * c.headSize(), embed);
        }
        if (!name.startsWith(LAYERS) || !name.endsWith(".weight")) return null;
        int dot = name.indexOf('.', LAYERS.length());
        if (dot < 0) return null;
        int layer = layerIndex(name.substring(LAYERS.length(), dot));
        if (layer < 0 || layer >= c.nLayers()) return null;
        String kind = name.substring(dot + 1, name.length() - ".weight".length());
        at = layersStart;
        for (int k = 0; k < KINDS.length; k++) {
            long[] shape = kindShape(k);
            if (KINDS[k].equals(kind)) return new Slot(at + layer * bytes(shape), shape);
            at += c.nLayers() * bytes(shape);
        }
        return null;
    }

    /** A layer number written canonically (digits, no leading zero), or -1. */
    private static int layerIndex(String s) {
        if (s.isEmpty() || s.length() > 10 || (s.length() > 1 && s.charAt(0) == '0')) return -1;
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch < '0' || ch > '9') return -1;
            v = v * 10 + (ch - '0');
        }
        return v > Integer.MAX_VALUE ? -1 : (int) v;
    }

    /** Tensor names in file order, computed on access. */
    private final class Names extends AbstractList<String> implements RandomAccess {
        @Override
        public int size() {
            return 3 + KINDS.length * config.nLayers();
        }

        @Override
        public String get(int i) {
            int layers = config.nLayers();
            if (i < 0 || i >= size()) throw new IndexOutOfBoundsException(i);
            if (i == 0) return "model.embed_tokens.weight";
            if (i == size() - 2) return "model.norm.weight";
            if (i == size() - 1) return "lm_head.weight";
            return LAYERS + (i - 1) % layers + "." + KINDS[(i - 1) / layers] + ".weight";
        }
    }

    /** Saturating product of two non-negative longs. */
    private static long mul(long a, long b) {
        return SafetensorsFile.mulOrMax(a, b);
    }

    /** Saturating sum of non-negative longs. */
    private static long sum(long... terms) {
        long s = 0;
        for (long t : terms) s = (s > Long.MAX_VALUE - t) ? Long.MAX_VALUE : s + t;
        return s;
    }

    private static void check(Cursor c, boolean ok, String field, String detail) throws ModelFormatException {
        if (!ok) throw c.error(field, detail);
    }

    /** The header. */
    public Config config() {
        return config;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return find(name) != null;
    }

    private Slot slot(String name) {
        Slot s = find(name);
        if (s == null) throw Weights.missing("llama2c", name, names);
        return s;
    }

    @Override
    public long[] shape(String name) {
        return slot(name).shape().clone();
    }

    @Override
    public Tensor tensor(String name) {
        Slot s = slot(name);
        Shape shape = Shape.of(s.shape());
        MemorySegment bytes = origin.read(
                name,
                () -> converted.computeIfAbsent(
                        name, n -> origin.place(file.asSlice(s.offset(), shape.numel() * 4), DType.F32, arena)));
        return origin.tensor(bytes, DType.F32, shape, source).name(name);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) arena.close();
    }
}
