package dev.panthera.quant;

import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlDequantizeRow;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlFromFloat;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlQuantizeRow;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlToFloat;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Mean |error| of every format on the same seeded randn(1024 × 1024) (the BENCHMARKS.md table): ours beside
 * llama.cpp's own quantizers for the GGML types (byte-identical, checked here over all 2^20 values) and
 * beside bitsandbytes' published NF4/FP4 figures (checked in Bnb4BitTest).
 */
class ReconstructionErrorTest {
    static double meanAbs(float[] x, float[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += Math.abs((double) x[i] - y[i]);
        return s / x.length;
    }

    @Test
    void reconstructionErrorPerFormatOnRandn() throws Throwable {
        Random r = new Random(1234);
        int n = 1024 * 1024;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        StringBuilder table = new StringBuilder("| format | bits/weight | ours | reference |\n|---|---|---|---|\n");
        for (GgmlType t : new GgmlType[] {
            GgmlType.Q8_0,
            GgmlType.Q5_1,
            GgmlType.Q5_0,
            GgmlType.Q4_1,
            GgmlType.Q4_0,
            GgmlType.Q8_K,
            GgmlType.Q6_K,
            GgmlType.Q5_K,
            GgmlType.Q4_K
        }) {
            // the K-quant traits live in ggml's CPU backend: their reference quantizers are called by name
            byte[] theirBytes = t.blockSize() == 256
                    ? ggmlQuantizeRow(
                            "quantize_row_" + t.name().toLowerCase().replace("_k", "_K") + "_ref", x, t.bytesFor(n))
                    : ggmlFromFloat(t.id(), x);
            float[] theirs = t == GgmlType.Q8_K
                    ? ggmlDequantizeRow("dequantize_row_q8_K", theirBytes, n)
                    : ggmlToFloat(t.id(), theirBytes, n);
            double ref = meanAbs(x, theirs);
            byte[] ourBytes = GgmlQuants.quantize(t, x);
            assertArrayEquals(theirBytes, ourBytes, t + ": our quantizer writes ggml's bytes for all 2^20 values");
            float[] y = new float[n];
            GgmlQuants.dequantize(t, MemorySegment.ofArray(ourBytes), MemorySegment.ofArray(y), n);
            String mine = String.format("%.5f", meanAbs(x, y));
            table.append(String.format(
                    "| %s | %.2f | %s | llama.cpp %.5f |%n", t, 8.0 * t.typeSize() / t.blockSize(), mine, ref));
        }
        for (boolean dq : new boolean[] {false, true}) {
            for (FourBitCode c : FourBitCode.values()) {
                Bnb4Bit q = Bnb4Bit.quantize(x, c, 64, dq);
                table.append(String.format(
                        "| %s block 64%s | %.3f | %.5f | bitsandbytes %s |%n",
                        c,
                        dq ? " + double quant" : "",
                        8.0 * q.byteSize() / n,
                        meanAbs(x, q.dequantize()),
                        c == FourBitCode.NF4 ? "0.0728" : "0.0965"));
            }
        }
        for (int g : new int[] {32, 64, 128}) {
            Int4Weight q = Int4Weight.quantize("randn", x, 1024, 1024, g);
            table.append(String.format(
                    "| int4 asymmetric, group %d | %.3f | %.5f | — |%n", g, 4 + 40.0 / g, meanAbs(x, q.dequantize())));
        }
        Int8Weight q8 = Int8Weight.quantize("randn", x, 1024, 1024);
        table.append(String.format(
                "| int8 per output channel | %.3f | %.5f | — |%n", 8 + 32.0 / 1024, meanAbs(x, q8.dequantize())));
        System.out.print(table);
    }
}
