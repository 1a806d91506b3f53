package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.tokenizer.Tokenizer;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GGUF carrying the Llama 2 vocabulary in {@code tokenizer.ggml.*} (built here from llama2.c's tokenizer.bin),
 * written, read back and turned into a tokenizer. Expected ids are the Llama 2 tokenizer's published ids for
 * "Hello world" (BOS 1, "▁Hello" 15043, "▁world" 3186).
 */
class GgufVocabTest {
    @TempDir
    Path dir;

    @Test
    void llama2VocabRoundTripsThroughGguf() throws Exception {
        Path bin = Llama2cCheckpointTest.data("llama2-tokenizer.bin");
        Assumptions.assumeTrue(Files.exists(bin), "skipped: " + bin.toAbsolutePath() + " is absent");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(bin)).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt(); // max_token_length
        List<GgufValue> tokens = new ArrayList<>(), scores = new ArrayList<>(), types = new ArrayList<>();
        for (int i = 0; i < 32000; i++) {
            float score = b.getFloat();
            byte[] s = new byte[b.getInt()];
            b.get(s);
            String t = new String(s, StandardCharsets.UTF_8);
            if (i >= 3) t = t.replace(' ', '\u2581'); // tokenizer.bin stores "▁" as a space
            tokens.add(new GgufValue.Str(t));
            scores.add(new GgufValue.F32(score));
            int type = i == 0 ? 2 : i < 3 ? 3 : t.matches("<0x[0-9A-F]{2}>") ? 6 : 1;
            types.add(new GgufValue.I32(type));
        }
        GgufWriter w = new GgufWriter()
                .put("general.architecture", "llama")
                .put("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", new GgufValue.Array(GgufValue.STRING, tokens))
                .put("tokenizer.ggml.scores", new GgufValue.Array(GgufValue.FLOAT32, scores))
                .put("tokenizer.ggml.token_type", new GgufValue.Array(GgufValue.INT32, types))
                .putU32("tokenizer.ggml.bos_token_id", 1)
                .putU32("tokenizer.ggml.eos_token_id", 2)
                .tensor("x", GgmlType.F32, new long[] {32}, new float[32]);
        Path p = dir.resolve("vocab.gguf");
        w.write(p);
        try (GgufFile g = GgufFile.open(p)) {
            Tokenizer t = GgufVocab.tokenizer(g);
            assertArrayEquals(new int[] {1, 15043, 3186}, t.encode("Hello world"));
            assertEquals("Hello world", t.decode(t.encode("Hello world"), true));
        }
        var bad = new java.util.LinkedHashMap<String, GgufValue>();
        bad.put("tokenizer.ggml.model", new GgufValue.Str("llama"));
        bad.put("tokenizer.ggml.tokens", new GgufValue.Array(GgufValue.INT32, List.of()));
        assertTrue(assertThrows(ModelFormatException.class, () -> GgufVocab.tokenizer(bad))
                .getMessage()
                .contains("tokenizer.ggml.tokens"));
    }
}
