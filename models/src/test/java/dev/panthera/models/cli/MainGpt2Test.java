package dev.panthera.models.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.gpt2.Gpt2Gguf;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.quant.ggml.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate} on a GPT-2 GGUF (the transformers fixture, one character per token) and {@code perplexity} on the
 * transformers fixture's folder.
 */
class MainGpt2Test {
    @TempDir
    Path tmp;

    @Test
    void generateAndPerplexityRunOnGpt2() throws Exception {
        Path gguf = tmp.resolve("g.gguf");
        Gpt2Gguf.write(
                Path.of("src", "test", "resources", "gpt2", "gpt2-f32").toAbsolutePath(), GgmlType.F32, gguf, false);
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Main.run(
                new String[] {"generate", gguf.toString(), "--prompt", "Once upon", "--max-new-tokens", "8", "--ids"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        String[] ids = out.toString(StandardCharsets.UTF_8).trim().split(" ");
        assertEquals(8, ids.length, out.toString(StandardCharsets.UTF_8));
        String[] lines = err.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertTrue(lines[lines.length - 2].matches("prefill 9 tokens [0-9.]+ tok/s"), lines[lines.length - 2]);
        assertTrue(lines[lines.length - 1].matches("decode 7 tokens [0-9.]+ tok/s"), lines[lines.length - 1]);

        // perplexity on the HF folder over transformers' ids against exp(transformers' mean NLL); the mean NLL agrees
        // within 2·2e-3 (Gpt2HuggingFaceTest's derivation), so the perplexity within a factor exp(±4e-3)
        Path hf = Path.of("src", "test", "resources", "gpt2", "gpt2-f32").toAbsolutePath();
        StringBuilder stream = new StringBuilder();
        double nll;
        try (var ref = SafetensorsFile.open(hf.resolve("reference.safetensors"))) {
            for (long id : ref.tensor("ids").toLongArray()) stream.append(id).append(' ');
            nll = ref.tensor("nll").toFloatArray()[0];
        }
        Path idsFile = tmp.resolve("ids.txt");
        Files.writeString(idsFile, stream.toString());
        out.reset();
        rc = Main.run(
                new String[] {"perplexity", hf.toString(), "--ids", idsFile.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        double ppl = Double.parseDouble(out.toString(StandardCharsets.UTF_8).trim());
        assertEquals(nll, Math.log(ppl), 4e-3, "ln perplexity vs transformers' mean NLL");
    }
}
