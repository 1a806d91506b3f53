package dev.panthera.models.io;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
    private final MemorySegment file;
    private final Config config;
    private final Map<String, Slot> slots;
    private final List<String> names;

    private Llama2cCheckpoint(Arena arena, MemorySegment file, Config config, Map<String, Slot> slots) {
        this.arena = arena;
        this.file = file;
        this.config = config;
        this.slots = slots;
        this.names = List.copyOf(slots.keySet());
    }

    /** Maps {@code path}; the returned object owns the mapping. */
    public static Llama2cCheckpoint open(Path path) throws IOException {
        return Mapped.open(path, Llama2cCheckpoint::parse);
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
        Map<String, Slot> slots = new LinkedHashMap<>();
        long[] at = {28};
        String p = "model.layers.";
        add(slots, at, "model.embed_tokens.weight", v, dim);
        for (String[] w : new String[][] {
            {"input_layernorm"},
            {"self_attn.q_proj"},
            {"self_attn.k_proj"},
            {"self_attn.v_proj"},
            {"self_attn.o_proj"},
            {"post_attention_layernorm"},
            {"mlp.gate_proj"},
            {"mlp.down_proj"},
            {"mlp.up_proj"}
        }) {
            for (int l = 0; l < layers; l++) {
                String n = p + l + "." + w[0] + ".weight";
                switch (w[0]) {
                    case "input_layernorm", "post_attention_layernorm" -> add(slots, at, n, dim);
                    case "self_attn.q_proj" -> add(slots, at, n, (long) heads * hs, dim);
                    case "self_attn.k_proj", "self_attn.v_proj" -> add(slots, at, n, kv, dim);
                    case "self_attn.o_proj" -> add(slots, at, n, dim, (long) heads * hs);
                    case "mlp.gate_proj", "mlp.up_proj" -> add(slots, at, n, hidden, dim);
                    default -> add(slots, at, n, dim, hidden);
                }
            }
        }
        add(slots, at, "model.norm.weight", dim);
        at[0] += 4L * seqLen * hs; // freq_cis_real and freq_cis_imag: seq_len * head_size / 2 each
        if (cfg.sharedClassifier()) {
            slots.put("lm_head.weight", slots.get("model.embed_tokens.weight"));
        } else {
            add(slots, at, "lm_head.weight", v, dim);
        }
        if (at[0] > file.byteSize()) {
            throw c.error(
                    "weights", "the header " + cfg + " needs " + at[0] + " bytes but the file has " + file.byteSize());
        }
        return new Llama2cCheckpoint(arena, file, cfg, slots);
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

    private static void add(Map<String, Slot> slots, long[] at, String name, long... shape) {
        long n = 4;
        for (long d : shape) n = Math.multiplyExact(n, d); // header fields are ints: products stay far below 2^63
        slots.put(name, new Slot(at[0], shape));
        at[0] = Math.addExact(at[0], n);
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
        return slots.containsKey(name);
    }

    private Slot slot(String name) {
        Slot s = slots.get(name);
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
        MemorySegment bytes = Mapped.aligned(file.asSlice(s.offset(), shape.numel() * 4), 4, arena);
        return Tensor.fromSegment(bytes, DType.F32, shape).name(name);
    }

    @Override
    public void close() {
        arena.close();
    }
}
