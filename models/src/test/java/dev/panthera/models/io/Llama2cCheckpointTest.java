package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The real stories260K checkpoint from llama2.c; offsets are recomputed here from run.c's memory_map_weights. */
class Llama2cCheckpointTest {
    static Path data(String name) {
        return Path.of(System.getProperty("panthera.shared.data", "../shared/data"))
                .resolve(name);
    }

    @Test
    void readsStories260K() throws Exception {
        Path p = data("stories260K.bin");
        Assumptions.assumeTrue(Files.exists(p), "skipped: " + p.toAbsolutePath() + " is absent");
        byte[] raw = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int dim = 64, hidden = 172, layers = 5, heads = 8, kv = 4, vocab = 512, seq = 512, hs = dim / heads;
        // run.c: token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq_cis_real/imag
        long floats = (long) vocab * dim
                + layers
                        * ((long) dim
                                + (long) dim * heads * hs
                                + 2L * dim * kv * hs
                                + (long) heads * hs * dim
                                + dim
                                + 3L * dim * hidden)
                + dim
                + (long) seq * hs;
        assertEquals(28 + 4 * floats, raw.length, "shared-classifier file size from run.c's layout");
        try (Llama2cCheckpoint c = (Llama2cCheckpoint) Weights.open(p)) {
            assertEquals(new Llama2cCheckpoint.Config(dim, hidden, layers, heads, kv, vocab, seq, true), c.config());
            assertEquals(2 + 9 * layers + 1, c.names().size());
            assertArrayEquals(new long[] {vocab, dim}, c.shape("model.embed_tokens.weight"));
            assertArrayEquals(new long[] {kv * hs, dim}, c.shape("model.layers.4.self_attn.k_proj.weight"));
            assertArrayEquals(new long[] {dim, hidden}, c.shape("model.layers.0.mlp.down_proj.weight"));
            float[] emb = c.tensor("model.embed_tokens.weight").toFloatArray();
            for (int i = 0; i < 50; i++) assertEquals(b.getFloat(28 + 4 * i), emb[i]);
            assertArrayEquals(emb, c.tensor("lm_head.weight").toFloatArray(), "shared classifier");
            long wqL2 = 28 + 4L * ((long) vocab * dim + layers * dim + 2L * dim * dim); // wq of layer 2
            float[] wq2 = c.tensor("model.layers.2.self_attn.q_proj.weight").toFloatArray();
            assertEquals(b.getFloat((int) wqL2), wq2[0]);
            assertEquals(b.getFloat((int) wqL2 + 4 * (dim * dim - 1)), wq2[dim * dim - 1]);
            long norm = 28 + 4 * (floats - dim - (long) seq * hs);
            float[] n = c.tensor("model.norm.weight").toFloatArray();
            assertEquals(b.getFloat((int) norm), n[0]);
            assertEquals(b.getFloat((int) norm + 4 * (dim - 1)), n[dim - 1]);
            assertThrows(IllegalArgumentException.class, () -> c.tensor("model.layers.5.mlp.up_proj.weight"));
        }
        // a truncated copy and an absurd layer count are format errors, not crashes or huge allocations
        try (Arena a = Arena.ofConfined()) {
            byte[] cut = java.util.Arrays.copyOf(raw, raw.length - 4);
            assertTrue(assertThrows(
                            ModelFormatException.class, () -> Llama2cCheckpoint.parse(MemorySegment.ofArray(cut), a))
                    .getMessage()
                    .contains("weights"));
            byte[] many = raw.clone();
            ByteBuffer.wrap(many).order(ByteOrder.LITTLE_ENDIAN).putInt(8, Integer.MAX_VALUE);
            assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.parse(MemorySegment.ofArray(many), a));
            byte[] heads3 = raw.clone();
            ByteBuffer.wrap(heads3).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 3);
            assertTrue(assertThrows(
                            ModelFormatException.class, () -> Llama2cCheckpoint.parse(MemorySegment.ofArray(heads3), a))
                    .getMessage()
                    .contains("n_heads"));
        }
    }
}
