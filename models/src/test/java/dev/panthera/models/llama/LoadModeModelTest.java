package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.models.io.LoadMode;
import dev.panthera.models.tokenizer.TestFiles;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model on the Java heap ({@link LoadMode#HEAP}: F32 decode rows read by array loads) against the same file mapped
 * (segment loads), and which mode {@link LlamaModel#load(Path)} picks.
 */
class LoadModeModelTest {
    @TempDir
    Path dir;

    /**
     * stories260K (llama2.c, shared data folder), a prompt and 24 greedy decode steps: the same logits, bit for bit.
     * Its rows (64 and 172 floats, 4-byte aligned in the file) are too short or too unevenly placed for the mapped
     * dot to take a head vector ({@code RowHeads.alignedHead}), so both paths sum every row in the same order.
     */
    @Test
    void heapAndMappedStories260KGiveTheSameLogits() throws Exception {
        Path bin = TestFiles.sharedData("stories260K.bin");
        TestFiles.require(bin);
        try (LlamaModel heap = LlamaModel.load(bin, LoadMode.HEAP);
                LlamaModel mapped = LlamaModel.load(bin, LoadMode.MAP);
                var ng = Autograd.noGrad()) {
            KvCache ch = heap.newCache(64), cm = mapped.newCache(64);
            int[] prompt = GeneratorTest.PROMPT;
            float[] a, b;
            try (var s = MemoryScope.open()) {
                a = heap.forward(Tensor.of(prompt, 1, prompt.length), 0, ch, null, true)
                        .toFloatArray();
                b = mapped.forward(Tensor.of(prompt, 1, prompt.length), 0, cm, null, true)
                        .toFloatArray();
            }
            assertArrayEquals(b, a, "prefill logits");
            for (int i = 0; i < 24; i++) {
                int next = argmax(a);
                assertEquals(argmax(b), next, "step " + i);
                try (var s = MemoryScope.open()) {
                    a = heap.forward(Tensor.of(new int[] {next}, 1, 1), prompt.length + i, ch, null, true)
                            .toFloatArray();
                    b = mapped.forward(Tensor.of(new int[] {next}, 1, 1), prompt.length + i, cm, null, true)
                            .toFloatArray();
                }
                assertArrayEquals(b, a, "decode step " + i);
            }
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    @Test
    void loadPutsStoredWeightsThatFitOnTheHeap() throws Exception {
        Path small = Files.write(dir.resolve("m.gguf"), new byte[1024]);
        assertEquals(LoadMode.HEAP, LlamaLoader.chosenMode(small, true));
        assertEquals(LoadMode.MAP, LlamaLoader.chosenMode(small, false), "converted at load: mapped");
        Path folder = Files.createDirectories(dir.resolve("hf"));
        Files.write(folder.resolve("model.safetensors"), new byte[2048]);
        assertEquals(LoadMode.HEAP, LlamaLoader.chosenMode(folder, true));
        long max = Runtime.getRuntime().maxMemory();
        // a sparse file larger than half of the whole heap: mapped
        Path big = dir.resolve("big.gguf");
        try (var ch = java.nio.channels.FileChannel.open(
                big, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[1]), max / 2 + 1);
        }
        assertEquals(LoadMode.MAP, LlamaLoader.chosenMode(big, true));
    }
}
