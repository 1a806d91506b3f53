package dev.panthera.bench.llama;

import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.Llama2cToGguf;
import dev.panthera.models.llama.GgufConvert;
import dev.panthera.quant.ggml.GgmlType;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The models the Llama speed benchmarks run: stories260K from the shared data folder, a random-weight Llama of the
 * stories110M shape (dim 768, 12 layers, 12 heads, FFN 2048, vocab 32000, tied head, context 1024), and random-weight
 * Llamas of TinyLlama 1.1B's shape (dim 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocab 32000, tied head,
 * context 2048), each written as a llama2.c checkpoint. They are converted to a GGUF by {@link Llama2cToGguf} (F32,
 * or for "1.1B-F16" / "1.1B-BF16" the matrices in that type), so that Panthera and llama.cpp read the same weights
 * from the same file. Files go to a temporary folder outside the repository; the 1.1B checkpoint takes 4.4 GB there,
 * its F32 GGUF ("1.1B") as much and its F16/BF16 ones 2.2 GB each, and the conversion holds one GGUF's bytes on the
 * heap (run with -Xmx4g or more, -Xmx10g for "1.1B" and the types converted from it, as "1.1B:Q4_0").
 *
 * <p>Other GGML types are the F32 file converted by {@link GgufConvert} (what {@code ./panthera convert} writes). As a
 * program it prints the path of each model named, writing it first where absent: {@code LlamaFixtures stories260K 110M
 * 110M:F16 110M:Q4_K ...} (name:TYPE for a type other than F32).
 */
public final class LlamaFixtures {
    private LlamaFixtures() {}

    public static void main(String[] args) {
        for (String a : args) {
            String[] p = a.split(":");
            System.out.println(p.length == 1 ? gguf(p[0]) : gguf(p[0], GgmlType.valueOf(p[1])));
        }
    }

    /** The GGUF of {@code model} with its matrices of {@code type}, converted from the F32 one. */
    static Path gguf(String model, GgmlType type) {
        Path f32 = gguf(model);
        if (type == GgmlType.F32) return f32;
        Path out = f32.resolveSibling(model + "-" + type.name().toLowerCase(java.util.Locale.ROOT) + ".gguf");
        if (Files.exists(out)) return out;
        try {
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            GgufConvert.convert(f32, null, type, tmp);
            Files.move(tmp, out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The GGUF for {@code model}: "stories260K", "110M" or "1.1B" (F32), "1.1B-F16" or "1.1B-BF16"; or "80L", a small
     * Llama of 80 layers with grouped keys (dim 256, 4 heads, 2 KV heads, FFN 256, vocab 512), the layer count
     * llama.cpp's K-quant mixes treat as a 70B model's.
     */
    static Path gguf(String model) {
        try {
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "panthera-llama-bench");
            Files.createDirectories(dir);
            GgmlType type = switch (model) {
                case "1.1B-F16" -> GgmlType.F16;
                case "1.1B-BF16" -> GgmlType.BF16;
                default -> GgmlType.F32;
            };
            String file = type == GgmlType.F32 ? model + "-f32.gguf" : model + ".gguf";
            Path gguf = dir.resolve(file);
            if (Files.exists(gguf)) return gguf;
            Path bin = switch (model) {
                case "stories260K" -> stories260K();
                case "110M" -> random(dir.resolve("110M.bin"), 768, 2048, 12, 12, 12, 32000, 1024);
                case "1.1B", "1.1B-F16", "1.1B-BF16" ->
                    random(dir.resolve("1.1B.bin"), 2048, 5632, 22, 32, 4, 32000, 2048);
                case "80L" -> random(dir.resolve("80L.bin"), 256, 256, 80, 4, 2, 512, 256);
                default -> throw new IllegalArgumentException("LlamaFixtures: unknown model " + model);
            };
            Path tmp = dir.resolve(file + ".tmp");
            try (Llama2cCheckpoint c = Llama2cCheckpoint.open(bin)) {
                Llama2cToGguf.convert(c, type, tmp);
            }
            Files.move(tmp, gguf);
            return gguf;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path stories260K() {
        Path p = Path.of(System.getProperty("panthera.data", "/work/shared/data"), "stories260K.bin");
        if (!Files.exists(p))
            throw new IllegalStateException(
                    "LlamaFixtures: " + p + " is absent (set -Dpanthera.data to the folder holding stories260K.bin)");
        return p;
    }

    /**
     * A llama2.c checkpoint (7-int header, then the weights in run.c's order) with weights uniform in ±0.05 and norm
     * weights 1, so activations stay in the range of a trained model's and no kernel meets NaN or denormals.
     */
    private static Path random(Path out, int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seq)
            throws IOException {
        if (Files.exists(out)) return out;
        int hs = dim / heads, kv = kvHeads * hs;
        SplittableRandom r = new SplittableRandom(110);
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        try (OutputStream o = Files.newOutputStream(tmp)) {
            ByteBuffer h = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : new int[] {dim, hidden, layers, heads, kvHeads, vocab, seq}) h.putInt(v);
            o.write(h.array());
            floats(o, r, (long) vocab * dim, false);
            floats(o, r, (long) layers * dim, true); // rms_att
            floats(o, r, (long) layers * dim * dim, false); // wq
            floats(o, r, (long) layers * kv * dim, false); // wk
            floats(o, r, (long) layers * kv * dim, false); // wv
            floats(o, r, (long) layers * dim * dim, false); // wo
            floats(o, r, (long) layers * dim, true); // rms_ffn
            floats(o, r, 3L * layers * hidden * dim, false); // w1, w2, w3
            floats(o, r, dim, true); // rms_final
            floats(o, r, (long) seq * hs, false); // freq_cis_real and _imag (unused)
        }
        Files.move(tmp, out);
        return out;
    }

    private static void floats(OutputStream o, SplittableRandom r, long n, boolean ones) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) {
            b.putFloat(ones ? 1f : (float) (r.nextDouble() * 0.1 - 0.05));
            if (!b.hasRemaining()) {
                o.write(b.array(), 0, b.position());
                b.clear();
            }
        }
        o.write(b.array(), 0, b.position());
    }
}
