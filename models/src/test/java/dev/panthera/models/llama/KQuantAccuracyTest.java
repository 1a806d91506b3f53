package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.GgufFile;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * K-quant accuracy on a model whose every row is a multiple of 256 (KeepQuantizedTest's random Llama: dim 256, FFN
 * 512, vocab 300), so convert applies Q4_K/Q5_K/Q6_K themselves and not llama.cpp's fallbacks. Expected from the
 * formats alone: each extra bit halves the step of the grid, so the KL of the quantized model to the F32 one must fall
 * strictly from Q4_K to Q5_K to Q6_K, and Q6_K (6.56 bits a weight) must agree with F32 on most top-1 tokens.
 */
class KQuantAccuracyTest {
    @TempDir
    Path dir;

    @Test
    void moreBitsAreCloserToFloat() throws Exception {
        Path f32 = dir.resolve("f32.gguf");
        KeepQuantizedTest.writeRandom(f32, GgmlType.F32, false, 11);
        Random r = new Random(5);
        int[] ids = new int[KeepQuantizedTest.CTX];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(KeepQuantizedTest.VOCAB);
        GgmlType[] types = {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};
        double[] kl = new double[types.length];
        double[] top1 = new double[types.length];
        try (LlamaModel ref = LlamaModel.load(f32)) {
            for (int i = 0; i < types.length; i++) {
                Path q = dir.resolve(types[i] + ".gguf");
                GgufConvert.convert(f32, null, types[i], q);
                try (GgufFile g = GgufFile.open(q)) {
                    for (GgufFile.TensorInfo t : g.tensorInfos())
                        if (t.shape().length == 2) assertEquals(types[i], t.type(), t.name() + " kept its K-quant");
                }
                try (LlamaModel m = LlamaModel.load(q)) {
                    Perplexity.Comparison c = Perplexity.compare(ref, m, ids);
                    kl[i] = c.meanKl();
                    top1[i] = c.top1Agreement();
                }
            }
        }
        String all = java.util.Arrays.toString(kl) + " top-1 " + java.util.Arrays.toString(top1);
        assertTrue(kl[0] > kl[1] && kl[1] > kl[2] && kl[2] > 0, "mean KL Q4_K > Q5_K > Q6_K > 0: " + all);
        assertTrue(top1[2] >= 0.9, "Q6_K top-1 agreement: " + all);
    }
}
