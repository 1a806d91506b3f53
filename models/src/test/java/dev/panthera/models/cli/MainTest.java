package dev.panthera.models.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.Perplexity;
import dev.panthera.models.llama.SamplingParams;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generate/perplexity commands on a transformers fixture: output, the two stderr timing lines, exit codes. */
class MainTest {
    @TempDir
    Path tmp;

    static final Path GQA =
            Path.of("src", "test", "resources", "llama", "llama-gqa").toAbsolutePath();

    record Run(int rc, String out, String err) {}

    static Run run(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int rc = Main.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void generateIdsPrintsTheGreedyIdsAndTimingLines() throws Exception {
        Path dump = tmp.resolve("logits.bin");
        Run r = run("generate", GQA.toString(), "--ids", "--max-new-tokens", "12", "--dump-logits", dump.toString());
        assertEquals(0, r.rc(), r.err());
        int[] want;
        int vocab;
        try (LlamaModel m = LlamaModel.load(GQA)) {
            want = new Generator(m)
                    .generate(new int[0], SamplingParams.greedy(12), null)
                    .tokens();
            vocab = m.config().vocab();
        }
        StringBuilder sb = new StringBuilder();
        for (int id : want) sb.append(sb.isEmpty() ? "" : " ").append(id);
        assertEquals(sb.toString(), r.out().strip());
        String[] lines = r.err().strip().split("\n");
        assertTrue(lines.length >= 2, r.err());
        assertTrue(lines[lines.length - 2].matches("prefill 1 tokens [0-9.]+ tok/s"), lines[lines.length - 2]);
        assertTrue(
                lines[lines.length - 1].matches("decode " + (want.length - 1) + " tokens [0-9.]+ tok/s"),
                lines[lines.length - 1]);
        assertEquals((long) want.length * vocab * 4, Files.size(dump));
    }

    /**
     * --cache-type f16 gives, bit for bit, the logits of the API's Generator with an F16 cache, and not those of the
     * default F32 cache (the fixture's keys and values are not all F16 numbers, so rounding them changes the logits).
     */
    @Test
    void cacheTypeF16GivesTheApisF16CacheLogits() throws Exception {
        Path dump = tmp.resolve("f16.bin");
        Run r = run(
                "generate",
                GQA.toString(),
                "--ids",
                "--max-new-tokens",
                "6",
                "--cache-type",
                "f16",
                "--dump-logits",
                dump.toString());
        assertEquals(0, r.rc(), r.err());
        java.nio.FloatBuffer got = java.nio.ByteBuffer.wrap(Files.readAllBytes(dump))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        float[][] f16 = new float[6][], f32 = new float[6][];
        try (LlamaModel m = LlamaModel.load(GQA)) {
            new Generator(m, dev.panthera.tensor.DType.F16)
                    .generate(
                            new int[0], SamplingParams.greedy(6), step -> (f16[step.index()] = step.logits()) != null);
            new Generator(m)
                    .generate(
                            new int[0], SamplingParams.greedy(6), step -> (f32[step.index()] = step.logits()) != null);
        }
        boolean differs = false;
        for (int i = 0; i < 6; i++) {
            float[] row = new float[f16[i].length];
            got.get(row);
            assertArrayEquals(f16[i], row, "step " + i);
            differs |= !java.util.Arrays.equals(f32[i], row);
        }
        assertTrue(differs, "the F16 cache gave the F32 cache's logits at every step");
    }

    @Test
    void perplexityMatchesTheApi() throws Exception {
        int[] ids = {1, 5, 9, 30, 4, 77, 12, 60, 3, 3, 8};
        Path f = tmp.resolve("ids.txt");
        Files.writeString(f, "1 5 9 30\n4 77 12 60 3 3 8\n");
        Run r = run("perplexity", GQA.toString(), "--ids", f.toString());
        assertEquals(0, r.rc(), r.err());
        double want;
        try (LlamaModel m = LlamaModel.load(GQA)) {
            want = Perplexity.score(m, ids).perplexity();
        }
        assertEquals(want, Double.parseDouble(r.out().strip()), 1e-6 * want);
    }

    /** Text mode on stories260K as GGUF (placeholder vocabulary): streamed text, and a prompt over the context. */
    @Test
    void textModeAndTooLongPrompt() throws Exception {
        Path bin = dev.panthera.models.llama.LlamaCppGreedyTest.data("stories260K.bin");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(bin), "skipped: " + bin + " is absent");
        Path gguf = tmp.resolve("s.gguf");
        try (var c = dev.panthera.models.io.Llama2cCheckpoint.open(bin)) {
            dev.panthera.models.io.Llama2cToGguf.convert(c, dev.panthera.quant.ggml.GgmlType.F32, gguf);
        }
        Run r = run("generate", gguf.toString(), "--prompt", "Once upon a time", "--max-new-tokens", "8");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().strip().startsWith("t"), r.out());
        Run ids = run("generate", gguf.toString(), "--prompt", "Once upon a time", "--max-new-tokens", "8", "--ids");
        String[] got = ids.out().strip().split(" ");
        assertEquals(8, got.length);
        try (LlamaModel m = LlamaModel.load(gguf)) {
            int[] parsed =
                    java.util.Arrays.stream(got).mapToInt(Integer::parseInt).toArray();
            assertEquals(r.out().strip(), m.tokenizer().decode(parsed, true).strip());
        }
        Run tooLong = run("generate", gguf.toString(), "--prompt", "x".repeat(600));
        assertEquals(2, tooLong.rc());
        assertTrue(tooLong.err().contains("longer than the context"), tooLong.err());
    }

    @Test
    void badInputIsOneLineAndExitCode2() throws Exception {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        Path gpt2 = Files.createDirectory(tmp.resolve("gpt2"));
        Files.writeString(gpt2.resolve("config.json"), "{\"architectures\": [\"GPT2LMHeadModel\"]}");
        Path mamba = Files.createDirectory(tmp.resolve("mamba"));
        Files.writeString(mamba.resolve("config.json"), "{\"architectures\": [\"MambaForCausalLM\"]}");
        String[][] cases = {
            {"generate", tmp.resolve("nope.gguf").toString(), "--ids"},
            {"generate", empty.toString()},
            {"generate", gpt2.toString()},
            {"generate", mamba.toString()},
            {"generate", GQA.toString(), "--ids", "--bogus"},
            {"generate", GQA.toString(), "--ids", "--top-p", "x"},
            {"generate", GQA.toString(), "--prompt", "hello"},
            {"perplexity", GQA.toString()},
            {"generate", GQA.toString(), "--ids", "--cache-type", "q8_0"},
        };
        String[] expect = {
            "nope.gguf",
            "no config.json",
            "'n_embd'",
            "MambaForCausalLM",
            "--bogus",
            "--top-p",
            "tokenizer",
            "--ids",
            "--cache-type must be f32, f16 or bf16, got 'q8_0'"
        };
        for (int i = 0; i < cases.length; i++) {
            Run r = run(cases[i]);
            assertEquals(2, r.rc(), String.join(" ", cases[i]));
            assertTrue(r.err().startsWith("error: ") && r.err().contains(expect[i]), r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
        }
    }

    /**
     * convert on the transformers fixture (an HF folder): the F32 GGUF gives the folder's logits (q/k rows permuted
     * to adjacent pairs reorder each q·k sum only: float rounding, ≪ 1e-4 at these sizes, as in
     * HuggingFaceReferenceTest), and a Q8_0 GGUF loads with its matrices in Q8_0.
     */
    @Test
    void convertWritesGgufsThatLoad() throws Exception {
        Path f32 = tmp.resolve("gqa-f32.gguf"), q8 = tmp.resolve("gqa-q8.gguf");
        Run r = run("convert", GQA.toString(), f32.toString(), "--type", "F32");
        assertEquals(0, r.rc(), r.err());
        Run r8 = run("convert", GQA.toString(), "--type", "q8_0", q8.toString());
        assertEquals(0, r8.rc(), r8.err());
        int[] ids = {1, 5, 9, 30, 4, 77, 12, 60, 3, 3, 8};
        try (LlamaModel hf = LlamaModel.load(GQA);
                LlamaModel g = LlamaModel.load(f32);
                var file = dev.panthera.models.io.GgufFile.open(q8)) {
            assertEquals(hf.config().layers(), g.config().layers());
            assertEquals(hf.config().kvHeads(), g.config().kvHeads());
            float[] a = hf.forward(dev.panthera.tensor.Tensor.of(ids, 1, ids.length))
                    .toFloatArray();
            float[] b =
                    g.forward(dev.panthera.tensor.Tensor.of(ids, 1, ids.length)).toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4, "logit " + i);
            assertEquals(
                    dev.panthera.quant.ggml.GgmlType.Q8_0,
                    file.info("blk.1.ffn_down.weight").type());
        }
    }

    /**
     * convert --type Q4_K_M writes llama.cpp's file type 15 and every matrix in the type {@link
     * dev.panthera.models.llama.GgufConvert#mixTypes} gives it (whose rules GgufConvertMixTest holds to llama.cpp's
     * own choices), and the file loads.
     */
    @Test
    void convertWritesTheQ4KMMix() throws Exception {
        Path f32 = tmp.resolve("gqa-mix-f32.gguf"), mixed = tmp.resolve("gqa-q4km.gguf");
        assertEquals(
                0,
                run("convert", GQA.toString(), f32.toString(), "--type", "F32").rc());
        Run r = run("convert", f32.toString(), mixed.toString(), "--type", "q4_k_m");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("Q4_K_M"), r.out());
        try (var in = dev.panthera.models.io.GgufFile.open(f32);
                var out = dev.panthera.models.io.GgufFile.open(mixed);
                LlamaModel source = LlamaModel.load(f32);
                LlamaModel loaded = LlamaModel.load(mixed)) {
            var shapes = new java.util.ArrayList<dev.panthera.models.llama.GgufConvert.TensorShape>();
            for (var t : in.tensorInfos())
                shapes.add(new dev.panthera.models.llama.GgufConvert.TensorShape(t.name(), t.shape()));
            var cfg = source.config();
            assertEquals(cfg.layers(), loaded.config().layers());
            var want = dev.panthera.models.llama.GgufConvert.mixTypes(
                    dev.panthera.models.llama.GgufConvert.Mix.Q4_K_M,
                    shapes,
                    cfg.layers(),
                    cfg.heads(),
                    cfg.kvHeads(),
                    "llama");
            assertEquals(15L, out.metadata().get("general.file_type").asLong());
            for (var t : out.tensorInfos()) {
                var type = want.getOrDefault(t.name(), dev.panthera.quant.ggml.GgmlType.F32);
                assertEquals(type, t.type(), t.name());
            }
        }
    }

    @Test
    void convertBadInputIsOneLineAndExitTwo() {
        String out = tmp.resolve("o.gguf").toString();
        String[][] cases = {
            {"convert", GQA.toString(), out, "--type", "Q3_K"},
            {"convert", GQA.toString(), out},
            {"convert", GQA.toString(), "--type", "Q8_0"},
            {"convert", tmp.resolve("absent").toString(), out, "--type", "Q8_0"},
            {"convert", GQA.toString(), tmp.resolve("o.bin").toString(), "--type", "F16"},
            {"convert", GQA.toString(), out, "--type", "F16", "--bogus"},
            {"convert", GQA.resolveSibling("llama-dynamic").toString(), out, "--type", "F16"}
        };
        String[] expect = {
            "Q3_K", "--type", "MODEL and OUT.gguf", "absent", ".gguf", "--bogus", "rope_scaling.rope_type 'dynamic'"
        };
        for (int i = 0; i < cases.length; i++) {
            Run r = run(cases[i]);
            assertEquals(2, r.rc(), String.join(" ", cases[i]));
            assertTrue(r.err().startsWith("error: ") && r.err().contains(expect[i]), r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
        }
    }
}
