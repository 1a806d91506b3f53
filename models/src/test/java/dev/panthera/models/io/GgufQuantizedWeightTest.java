package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.QuantizedMatmul;
import dev.panthera.quant.QuantizedWeight;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GGUF tensors kept in their blocks: the quantized weight reads the mapping and multiplies like the F32 tensor. */
class GgufQuantizedWeightTest {
    @TempDir
    Path dir;

    @Test
    void quantizedTensorsStayInTheirBlocksAndMultiplyLikeTheirDequantizedValues() throws Exception {
        Random r = new Random(3);
        int out = 5, in = 96;
        float[] v = new float[out * in];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        GgmlType[] types = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0};
        GgufWriter w = new GgufWriter().put("general.architecture", "llama");
        for (GgmlType t : types) w.tensor(t.name(), t, new long[] {out, in}, v);
        w.tensor("norm", GgmlType.F32, new long[] {in}, new float[in]);
        Path p = dir.resolve("q.gguf");
        w.write(p);
        float[] x = new float[2 * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (GgufFile f = (GgufFile) Weights.open(p)) {
            for (GgmlType t : types) {
                QuantizedWeight q = f.quantizedWeight(t.name());
                assertEquals(t, q.type());
                assertEquals(out, q.out());
                assertEquals(in, q.in());
                assertEquals(f.rawBlocks(t.name()).address(), q.blocks().address(), "a view of the mapping");
                float[] wd = f.dequantize(t.name());
                float[] y = QuantizedMatmul.matmul(Tensor.of(x, 2, in), q).toFloatArray();
                for (int i = 0; i < 2; i++) {
                    for (int n = 0; n < out; n++) {
                        double s = 0, a = 0;
                        for (int k = 0; k < in; k++) {
                            s += (double) x[i * in + k] * wd[n * in + k];
                            a += Math.abs((double) x[i * in + k] * wd[n * in + k]);
                        }
                        // summation of in products in float: (in + 2)·2^-24·Σ|x·w| (QuantizedMatmulTest)
                        assertEquals(s, y[i * out + n], (in + 2) * 0x1p-24 * a, t + " y[" + i + ", " + n + "]");
                    }
                }
            }
            var e = assertThrows(IllegalArgumentException.class, () -> f.quantizedWeight("norm"));
            assertTrue(e.getMessage().contains("norm") && e.getMessage().contains("2-D"), e.getMessage());
        }
    }
}
