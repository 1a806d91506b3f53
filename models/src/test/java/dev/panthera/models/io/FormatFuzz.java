package dev.panthera.models.io;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Mutation fuzzing of the weight-file readers: small valid files of each format, mutated by {@link ByteEdit}s (bit
 * flips, byte and length-field overwrites with boundary values, truncation, insertion and deletion). The contract
 * checked: the reader either throws {@link ModelFormatException} or returns an object all of whose tensors can be made
 * and read in full (and, for GGUF, dequantized) without any exception. Anything else (another exception, an Error
 * such as OutOfMemoryError) is a failure reported with the edits that made the file.
 */
public final class FormatFuzz {
    private FormatFuzz() {}

    /** The formats fuzzed. */
    public enum Format {
        SAFETENSORS,
        GGUF,
        ONNX,
        LLAMA2C
    }

    /** Outcome counts of a run. */
    public record Counts(long accepted, long rejected) {}

    private static final Map<Format, byte[]> SEEDS = new LinkedHashMap<>();

    /** A small valid file of {@code f}. */
    public static synchronized byte[] seed(Format f) {
        return SEEDS.computeIfAbsent(f, FormatFuzz::build).clone();
    }

    private static byte[] build(Format f) {
        try {
            return switch (f) {
                case SAFETENSORS -> {
                    ByteArrayOutputStream o = new ByteArrayOutputStream();
                    try (Arena a = Arena.ofConfined()) {
                        List<SafetensorsWriter.Item> items = SafetensorsTest.allDtypes(a, new Random(3));
                        SafetensorsWriter.write(o, Map.of("format", "pt"), items);
                    }
                    yield o.toByteArray();
                }
                case GGUF -> {
                    float[] v = new float[64];
                    for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i);
                    GgufWriter w = new GgufWriter()
                            .put("general.architecture", "llama")
                            .put("tokenizer.ggml.model", "llama")
                            .put("llama.rope.freq_base", 10000f)
                            .put(
                                    "tokenizer.ggml.tokens",
                                    new GgufValue.Array(
                                            GgufValue.STRING, List.of(new GgufValue.Str("a"), new GgufValue.Str("b"))))
                            .put(
                                    "tokenizer.ggml.scores",
                                    new GgufValue.Array(
                                            GgufValue.FLOAT32, List.of(new GgufValue.F32(0), new GgufValue.F32(-1))))
                            .put("n", new GgufValue.U64(7))
                            .put("ok", new GgufValue.Bool(true));
                    w.tensor("a", GgmlType.F32, new long[] {2, 32}, v)
                            .tensor("b", GgmlType.Q8_0, new long[] {2, 32}, v)
                            .tensor("c", GgmlType.Q4_0, new long[] {64}, v)
                            .tensor("d", GgmlType.F16, new long[] {4, 16}, v);
                    ByteArrayOutputStream o = new ByteArrayOutputStream();
                    w.write(o);
                    yield o.toByteArray();
                }
                case ONNX -> onnx();
                case LLAMA2C -> {
                    int dim = 8, hidden = 12, layers = 2, heads = 2, kv = 1, vocab = 16, seq = 4, hs = dim / heads;
                    long floats = (long) vocab * dim
                            + layers
                                    * (2L * dim
                                            + (long) dim * dim
                                            + 2L * dim * kv * hs
                                            + (long) dim * dim
                                            + 3L * dim * hidden)
                            + dim
                            + (long) seq * hs
                            + (long) vocab * dim;
                    ByteBuffer b = ByteBuffer.allocate((int) (28 + 4 * floats)).order(ByteOrder.LITTLE_ENDIAN);
                    b.putInt(dim)
                            .putInt(hidden)
                            .putInt(layers)
                            .putInt(heads)
                            .putInt(kv)
                            .putInt(-vocab)
                            .putInt(seq);
                    for (int i = 0; i < floats; i++) b.putFloat(i * 0.01f);
                    yield b.array();
                }
            };
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        o.write((int) v);
    }

    static void len(ByteArrayOutputStream o, int field, byte[] b) {
        varint(o, (long) field << 3 | 2);
        varint(o, b.length);
        o.writeBytes(b);
    }

    static void num(ByteArrayOutputStream o, int field, long v) {
        varint(o, (long) field << 3);
        varint(o, v);
    }

    /** A ModelProto with raw_data, packed float_data and packed int64_data initializers and a named MatMul node. */
    static byte[] onnx() {
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        ByteArrayOutputStream node = new ByteArrayOutputStream();
        len(node, 1, "x".getBytes());
        len(node, 1, "onnx::MatMul_1".getBytes());
        len(node, 2, "y".getBytes());
        len(node, 3, "/encoder/layer.0/attention/self/query/MatMul".getBytes());
        len(node, 4, "MatMul".getBytes());
        len(g, 1, node.toByteArray());
        ByteArrayOutputStream t1 = new ByteArrayOutputStream();
        num(t1, 1, 2);
        num(t1, 1, 3);
        num(t1, 2, 1);
        len(t1, 8, "onnx::MatMul_1".getBytes());
        ByteBuffer raw = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) raw.putFloat(i);
        len(t1, 9, raw.array());
        len(g, 5, t1.toByteArray());
        ByteArrayOutputStream t2 = new ByteArrayOutputStream();
        len(t2, 1, new byte[] {4});
        num(t2, 2, 1);
        ByteBuffer fd = ByteBuffer.allocate(16)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(1)
                .putFloat(2)
                .putFloat(3)
                .putFloat(4);
        len(t2, 4, fd.array());
        len(t2, 8, "encoder.layer.0.attention.self.query.bias".getBytes());
        len(g, 5, t2.toByteArray());
        ByteArrayOutputStream t3 = new ByteArrayOutputStream();
        num(t3, 1, 3);
        num(t3, 2, 7);
        len(t3, 7, new byte[] {1, (byte) 0x80, 0x01, 0x7F});
        len(t3, 8, "shape".getBytes());
        len(g, 5, t3.toByteArray());
        ByteArrayOutputStream t4 = new ByteArrayOutputStream(); // unpacked float_data: one fixed32 tag per value
        num(t4, 1, 2);
        num(t4, 2, 1);
        for (float v : new float[] {0.5f, -1.5f}) {
            varint(t4, 4L << 3 | 5);
            int bits = Float.floatToRawIntBits(v);
            for (int k = 0; k < 4; k++) t4.write(bits >>> (8 * k));
        }
        len(t4, 8, "unpacked".getBytes());
        len(g, 5, t4.toByteArray());
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        num(m, 1, 7);
        len(m, 2, "fuzz".getBytes());
        len(m, 7, g.toByteArray());
        return m.toByteArray();
    }

    /**
     * Parses {@code file} as {@code f}: returns true when accepted (and every tensor read in full; GGUF's I16 tensors,
     * which have no tensor dtype, through their blocks, after {@code tensor()} refused them by name), false when
     * rejected with {@link ModelFormatException}; throws AssertionError naming {@code what} (the edits that made the
     * file) for any other outcome.
     */
    public static boolean check(Format f, byte[] file, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(1, file.length)).asSlice(0, file.length);
            seg.copyFrom(MemorySegment.ofArray(file));
            Weights w = switch (f) {
                case SAFETENSORS -> SafetensorsFile.parse(seg, Arena.ofConfined());
                case GGUF -> GgufFile.parse(seg, Arena.ofConfined());
                case ONNX -> OnnxWeights.parse(seg, Arena.ofConfined());
                case LLAMA2C -> Llama2cCheckpoint.parse(seg, Arena.ofConfined());
            };
            try (w) {
                if (w instanceof GgufFile g) vocab(g);
                for (String name : w.names()) {
                    MemorySegment s;
                    long bytes, sum = 0;
                    if (w instanceof GgufFile g && g.info(name).type() == GgmlType.I16) {
                        // a legal GGUF type with no tensor dtype: tensor() refuses it by name, the blocks are read
                        try {
                            w.tensor(name);
                            throw new AssertionError(f + " " + what + ": an I16 tensor came back as a tensor");
                        } catch (IllegalArgumentException e) {
                            if (!e.getMessage().contains("'" + name + "'"))
                                throw new AssertionError(f + " " + what + ": the refusal names no tensor: " + e, e);
                        }
                        s = g.rawBlocks(name);
                        bytes = s.byteSize();
                    } else {
                        Tensor t = w.tensor(name);
                        s = t.storage().segment();
                        bytes = t.numel() * t.dtype().byteSize();
                        if (t.dtype() == DType.F32 && t.numel() < 1 << 20) sum += t.toFloatArray().length;
                    }
                    for (long i = 0; i < bytes; i++) sum += s.get(ValueLayout.JAVA_BYTE, i);
                    if (w instanceof GgufFile g && g.info(name).numel() < 1 << 20) sum += g.dequantize(name).length;
                    if (sum == Long.MIN_VALUE) throw new AssertionError();
                }
            }
            return true;
        } catch (ModelFormatException e) {
            if (!e.format().equals(f.name().toLowerCase(java.util.Locale.ROOT))
                    || e.field().isEmpty())
                throw new AssertionError(f + " " + what + ": the error names no format or field: " + e, e);
            return false;
        } catch (Throwable t) {
            throw new AssertionError(f + " " + what + ": " + t, t);
        }
    }

    /**
     * The seed file with one name duplicated, which every reader with names must reject: a safetensors header member
     * repeated, a GGUF tensor renamed to the one before it, an ONNX initializer listed twice (llama2.c files have no
     * names).
     */
    public static byte[] duplicated(Format f) {
        byte[] b = seed(f);
        return switch (f) {
            case SAFETENSORS -> {
                int n = (int) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
                String h = new String(b, 8, n, java.nio.charset.StandardCharsets.UTF_8);
                String first = h.substring(1, h.indexOf("},") + 1); // the first member, an object without nesting
                yield withHeader(b, n, "{" + first + "," + h.substring(1));
            }
            case GGUF -> { // the last one-byte name "b" is the second tensor's: rename it "a"
                int at = -1;
                for (int i = 0; i + 8 < b.length; i++)
                    if (b[i] == 1 && isZero(b, i + 1, 7) && b[i + 8] == 'b') at = i + 8;
                b[at] = 'a';
                yield b;
            }
            case ONNX -> {
                ByteArrayOutputStream g = new ByteArrayOutputStream(); // the seed's graph plus its raw_data initializer
                ByteArrayOutputStream t = new ByteArrayOutputStream();
                num(t, 1, 1);
                num(t, 2, 1);
                len(t, 8, "shape".getBytes());
                len(t, 9, new byte[4]);
                byte[] model = onnx();
                g.writeBytes(model);
                len(g, 7, graphOf(t.toByteArray()));
                yield g.toByteArray(); // a second graph field: protobuf merges it, so "shape" appears twice
            }
            case LLAMA2C -> throw new IllegalArgumentException("llama2.c files have no names");
        };
    }

    private static byte[] graphOf(byte[] initializer) {
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        len(g, 5, initializer);
        return g.toByteArray();
    }

    private static boolean isZero(byte[] b, int from, int n) {
        for (int i = from; i < from + n; i++) if (b[i] != 0) return false;
        return true;
    }

    private static byte[] withHeader(byte[] file, int oldLength, String header) {
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(file.length - oldLength + h.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h).put(file, 8 + oldLength, file.length - 8 - oldLength);
        return out.array();
    }

    /** Values a hostile dimension or length takes: each too large for the file it is in. */
    static final long[] HUGE = {1L << 31, 1L << 32, 1L << 40, 1L << 62, Long.MAX_VALUE, 0xFFFFFFFFL, Integer.MAX_VALUE};

    /**
     * The seed with one dimension or length set to the huge value {@code v}, which every reader must reject: a
     * safetensors shape entry, a GGUF tensor dimension, an ONNX dims varint (re-encoded), a llama2.c header field;
     * {@code which} (modulo the number of such places in the format's seed) says which entry, dimension or field.
     */
    public static byte[] huge(Format f, long v, int which) {
        byte[] b = seed(f);
        return switch (f) {
            case SAFETENSORS -> {
                int n = (int) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
                String h = new String(b, 8, n, java.nio.charset.StandardCharsets.UTF_8);
                List<Integer> shapes = new java.util.ArrayList<>();
                for (int i = h.indexOf("\"shape\":["); i >= 0; i = h.indexOf("\"shape\":[", i + 1)) shapes.add(i + 9);
                int at = shapes.get(which % shapes.size());
                int end = at;
                while (Character.isDigit(h.charAt(end))) end++;
                yield withHeader(b, n, h.substring(0, at) + v + h.substring(end));
            }
            case GGUF -> { // tensor "a" (the first, [2, 32] F32): ne[0] or ne[1], innermost first
                int at = -1;
                for (int i = 0; i + 12 < b.length && at < 0; i++)
                    if (b[i] == 1 && isZero(b, i + 1, 7) && b[i + 8] == 'a' && b[i + 9] == 2 && isZero(b, i + 10, 3))
                        at = i + 13;
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at + 8 * (which % 2), v);
                yield b;
            }
            case ONNX -> onnxWithDims(v);
            case LLAMA2C -> {
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4 * (which % 7), (int)
                        Math.min(v, Integer.MAX_VALUE));
                yield b;
            }
        };
    }

    /** The ONNX seed with its raw_data initializer's first dimension set to {@code d}. */
    static byte[] onnxWithDims(long d) {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        num(t, 1, d);
        num(t, 1, 3);
        num(t, 2, 1);
        len(t, 8, "big".getBytes());
        len(t, 9, new byte[24]);
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        m.writeBytes(onnx());
        len(m, 7, graphOf(t.toByteArray()));
        return m.toByteArray();
    }

    /** The embedded tokenizer of an accepted GGUF file: it builds and encodes, or is rejected as a format error. */
    private static void vocab(GgufFile g) throws ModelFormatException {
        dev.panthera.models.tokenizer.Tokenizer t;
        try {
            t = GgufVocab.tokenizer(g);
        } catch (ModelFormatException e) {
            throw e;
        } catch (dev.panthera.models.tokenizer.TokenizerFormatException e) {
            if (!e.field().startsWith("tokenizer.ggml")) throw new AssertionError("field not named: " + e, e);
            return;
        } catch (java.io.IOException e) {
            throw new AssertionError("undocumented " + e, e);
        }
        t.decode(t.encode("ab ba"), false);
    }

    /**
     * Runs {@code n} mutated inputs of {@code f}, their edits sampled by jqwik ({@link ByteEdit#edits()}); a failure
     * names the edits, which replay through {@link ByteEdit#apply}.
     */
    public static Counts run(Format f, long n) {
        byte[] base = seed(f);
        if (!check(f, base, "unmutated")) throw new AssertionError(f + ": the unmutated seed file is rejected");
        long ok = ByteEdit.edits()
                .sampleStream()
                .limit(n)
                .filter(e -> check(f, ByteEdit.apply(base, e), e.toString()))
                .count();
        return new Counts(ok, n - ok);
    }

    /** The long run: {@code args[0]} mutated inputs per format (default 100,000); prints counts and time. */
    public static void main(String[] args) {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 100_000;
        for (Format f : Format.values()) {
            long t0 = System.nanoTime();
            Counts c = run(f, n);
            System.out.printf(
                    "%-11s %,d inputs: %,d accepted, %,d rejected with ModelFormatException, 0 other outcomes, %.1f s%n",
                    f, n, c.accepted(), c.rejected(), (System.nanoTime() - t0) / 1e9);
        }
    }
}
