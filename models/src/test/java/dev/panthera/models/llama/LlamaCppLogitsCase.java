package dev.panthera.models.llama;

import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.Llama2cToGguf;
import dev.panthera.models.tokenizer.TestFiles;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One model of {@link LlamaCppNativeLogitsTest}: how its GGUF is made, where llama.cpp's per-position logits for it
 * lie, and the tolerance its comparison derives from its shape (see {@link #tolerance}).
 *
 * <p>stories260K is converted from ../shared/data/stories260K.bin; the random configs are {@link
 * LlamaCppPromptTest#writeRandom} (2 layers, dim 64, 4 query / 2 KV heads of head size 16, FFN width 96) with a
 * vocabulary of {@value #RANDOM_VOCAB} ids so that each fixture of 96 rows stays under 100 KB: "gqa" with rope_theta
 * 10000, "theta500k" with rope_theta 500000, "llama3" with rope_theta 500000 and llama3 scaling carried as
 * {@code rope_freqs.weight}; each with its matrices in F32 and in F16.
 *
 * <p>As a program it writes the random GGUFs into a folder, named {@code <kind>-<type>.gguf}, for
 * models/src/test/llamacpp-random-logits.sh, which runs the native llama.cpp anchor on them.
 *
 * @param kind "stories" or a kind of {@link LlamaCppPromptTest#writeRandom}
 * @param type the matrices' file type, F32 or F16
 */
public record LlamaCppLogitsCase(String kind, GgmlType type) {
    static final int RANDOM_VOCAB = 260;

    /** Every case the test runs: stories260K, then each random kind in F32 and F16. */
    static List<LlamaCppLogitsCase> all() {
        return List.of(
                new LlamaCppLogitsCase("stories", GgmlType.F32),
                new LlamaCppLogitsCase("gqa", GgmlType.F32),
                new LlamaCppLogitsCase("gqa", GgmlType.F16),
                new LlamaCppLogitsCase("theta500k", GgmlType.F32),
                new LlamaCppLogitsCase("theta500k", GgmlType.F16),
                new LlamaCppLogitsCase("llama3", GgmlType.F32),
                new LlamaCppLogitsCase("llama3", GgmlType.F16));
    }

    boolean stories() {
        return kind.equals("stories");
    }

    /** The fixture folder under src/test/resources/llama (logits.f32 and ids.txt). */
    Path fixture() {
        String name = stories() ? "stories260K-llamacpp" : "random-llamacpp/" + kind + "-" + type;
        return Path.of("src", "test", "resources", "llama").resolve(name).toAbsolutePath();
    }

    /** Writes this case's GGUF to {@code out}; stories260K needs ../shared/data (skipped or, with CI=true, failed). */
    void writeGguf(Path out) throws Exception {
        if (stories()) {
            Path bin = llama2c();
            try (Llama2cCheckpoint c = Llama2cCheckpoint.open(bin)) {
                Llama2cToGguf.convert(c, type, out);
            }
        } else {
            LlamaCppPromptTest.writeRandom(out, kind, type, RANDOM_VOCAB);
        }
    }

    /** stories260K.bin, after {@link TestFiles#require} (only for the stories case). */
    Path llama2c() {
        Path bin = TestFiles.sharedData("stories260K.bin");
        TestFiles.require(bin);
        return bin;
    }

    /**
     * Tolerance on each logit relative to the largest |logit| of its row. F32 part, as derived in {@link
     * LlamaCppNativeLogitsTest}: 2·((4L + 2)·K + L·P·r)·u with u = 2⁻²⁴, L layers, K the longest dot product, P = 95
     * the last position, r the F32 products that form a RoPE angle (d/2 for head size d; one more where llama.cpp
     * divides the frequency by a rope_freqs factor). stories260K: L = 5, K = 172 (FFN width), d = 8. Random configs:
     * L = 2, K = 96 (FFN width, and the attention · v dot over up to 96 positions), d = 16.
     *
     * <p>F16 part: both sides read the same halves, which widen to F32 exactly, so the weights agree; but llama.cpp's
     * CPU matmul for F16 weights first rounds its activations to F16 (2⁻¹¹ relative each), where we multiply the F32
     * activations. Each such matmul stage (q|k|v, o, gate|up, down per layer, and the head) is then off by up to 2⁻¹¹
     * relative to the sum of its terms' magnitudes: (4L + 1)·2⁻¹¹, doubled as the F32 part is.
     */
    double tolerance() {
        double u = Math.scalb(1.0, -24);
        int layers = stories() ? 5 : 2, k = stories() ? 172 : 96, head = stories() ? 8 : 16, last = 95;
        int rope = head / 2 + (kind.equals("llama3") ? 1 : 0);
        double f32 = 2.0 * ((4 * layers + 2) * k + layers * last * rope) * u;
        double f16 = type == GgmlType.F16 ? 2.0 * (4 * layers + 1) * Math.scalb(1.0, -11) : 0;
        return f32 + f16;
    }

    @Override
    public String toString() {
        return kind + "-" + type;
    }

    /** Writes every random case's GGUF into the folder {@code args[0]}, as {@code <kind>-<type>.gguf}. */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) throw new IllegalArgumentException("usage: LlamaCppLogitsCase OUT_FOLDER");
        Path dir = Files.createDirectories(Path.of(args[0]));
        for (LlamaCppLogitsCase c : all()) {
            if (c.stories()) continue;
            Path out = dir.resolve(c + ".gguf");
            c.writeGguf(out);
            System.out.println(out);
        }
    }
}
