package dev.panthera.models.demo;

import dev.panthera.models.llama.GgufConvert;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.Perplexity;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The demo's quantization: the fine-tuned model written as GGUF files of llama.cpp's block types, loaded back with
 * the blocks kept as they are (matmuls read them directly), compared with the F32 model over the fine-tuning text
 * (KL divergence of the next-character distributions, top-1 agreement) and sampled.
 */
final class Quantize {
    private Quantize() {}

    static void run(TinyLlama tl, Path hfFolder, Path work) throws Exception {
        System.out.println("\n4. Quantized to llama.cpp's GGUF block formats and run without dequantizing the weights");
        Path f32 = work.resolve("tuned-f32.gguf");
        GgufConvert.convert(hfFolder, null, GgmlType.F32, f32);
        int[] ids = tl.encode(tl.log);
        try (LlamaModel ref = LlamaModel.load(f32)) {
            System.out.printf(Locale.ROOT, "   F32   %8.1f KiB%n", Files.size(f32) / 1024.0);
            for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q4_0)) {
                Path out = work.resolve("tuned-" + type.name().toLowerCase(Locale.ROOT) + ".gguf");
                GgufConvert.convert(hfFolder, null, type, out);
                try (LlamaModel q = LlamaModel.load(out)) {
                    var c = Perplexity.compare(ref, q, ids);
                    System.out.printf(
                            Locale.ROOT,
                            "   %-5s %8.1f KiB   mean KL %.5f nats, top-1 agreement %.1f%%, loss %.3f (F32 %.3f)%n",
                            type,
                            Files.size(out) / 1024.0,
                            c.meanKl(),
                            100 * c.top1Agreement(),
                            -c.candidate().logLikelihood() / (ids.length - 1),
                            -c.reference().logLikelihood() / (ids.length - 1));
                    tl.sample(q, "Day 11.", 120, 7);
                }
            }
        }
    }
}
