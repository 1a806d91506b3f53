package dev.panthera.models.demo;

import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.Pretrained;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.tensor.Backends;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The main demo ({@code ./panthera demo}), all real computation on the CPU: semantic search with all-MiniLM-L6-v2; a
 * small Llama trained from scratch on a built-in text, fine-tuned with LoRA on a second text, saved and reloaded as a
 * HuggingFace folder, quantized to GGUF block formats, and sampled at each stage with its decode speed; then
 * stories260K when ../shared/data holds it.
 */
public final class Demo {
    private Demo() {}

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        System.out.println("Panthera demo — backends: " + Backends.available());
        Path work = Files.createTempDirectory("panthera-demo");
        try {
            Search.run();
            trainAndFineTune(work);
            Stories.run();
        } finally {
            try (Stream<Path> s = Files.walk(work)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        System.out.printf(Locale.ROOT, "%ndemo finished in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    static void trainAndFineTune(Path work) throws Exception {
        TinyLlama tl = new TinyLlama();
        DecoderConfig cfg = DecoderConfig.of(64, 192, 4, 2, tl.vocab(), 3, 128);
        CausalLm lm = new CausalLm(cfg, new SplittableRandom(2026));
        System.out.printf(
                Locale.ROOT,
                "%n2. A small Llama trained from scratch on a built-in story (%d characters, vocabulary %d)%n"
                        + "   dim %d, %d layers, %d heads (%d KV heads, GQA), FFN %d: %,d parameters; AdamW, cosine"
                        + " schedule%n",
                tl.story.length(),
                tl.vocab(),
                cfg.dim(),
                cfg.layers(),
                cfg.heads(),
                cfg.kvHeads(),
                cfg.hidden(),
                lm.parameterCount());
        long t = System.nanoTime();
        double[] l = tl.train(lm, tl.story, 200, 16, 64, 3e-3, 1, "   training");
        System.out.printf(
                Locale.ROOT,
                "   loss %.3f → %.3f nats/char in %.1f s (ln %d = %.3f is chance)%n",
                l[0],
                l[1],
                (System.nanoTime() - t) / 1e9,
                tl.vocab(),
                Math.log(tl.vocab()));
        Path base = work.resolve("base");
        Pretrained.save(lm, base, 0, -1);
        try (LlamaModel m = LlamaModel.load(base)) {
            System.out.println(
                    "   saved as a HuggingFace folder and loaded back; sampling (temperature 0.7, top-k 20):");
            tl.sample(m, "The fox", 120, 7);
        }

        System.out.printf(
                Locale.ROOT,
                "%n3. LoRA fine-tuning on a ship's log (%d characters): r 8, alpha 16 on every projection%n",
                tl.log.length());
        lm.freeze();
        Lora.apply(
                lm,
                LoraConfig.of(
                        8, 16, 0, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
                "log");
        System.out.printf(
                Locale.ROOT, "   %,d trainable of %,d parameters%n", lm.trainableParameterCount(), lm.parameterCount());
        t = System.nanoTime();
        l = tl.train(lm, tl.log, 120, 16, 64, 1e-2, 3, "   fine-tuning");
        System.out.printf(Locale.ROOT, "   loss %.3f → %.3f in %.1f s%n", l[0], l[1], (System.nanoTime() - t) / 1e9);
        Lora.mergeAndUnload(lm);
        Path tuned = work.resolve("tuned");
        Pretrained.save(lm, tuned, 0, -1);
        try (LlamaModel before = LlamaModel.load(base);
                LlamaModel after = LlamaModel.load(tuned)) {
            System.out.printf(
                    Locale.ROOT,
                    "   loss on the log: %.3f before, %.3f after; on the story: %.3f before, %.3f after%n",
                    tl.loss(before, tl.log),
                    tl.loss(after, tl.log),
                    tl.loss(before, tl.story),
                    tl.loss(after, tl.story));
            System.out.println("   merged, saved and sampled:");
            tl.sample(after, "Day 11.", 120, 7);
        }
        Quantize.run(tl, tuned, work);
    }
}
