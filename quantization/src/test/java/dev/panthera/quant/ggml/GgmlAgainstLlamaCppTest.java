package dev.panthera.quant.ggml;

import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlDequantizeRow;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlFromFloat;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlQuantizeRow;
import static dev.panthera.quant.oracle.LlamaCppGgml.ggmlToFloat;
import static dev.panthera.quant.oracle.LlamaCppGgml.testValues;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Our block dequantizers and quantizers against ggml's own row converters (see {@code LlamaCppGgml}). */
class GgmlAgainstLlamaCppTest {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void kQuantDequantizersAgreeWithGgml() throws Throwable {
        Random r = new Random(5);
        for (GgmlType t : new GgmlType[] {
            GgmlType.Q4_1,
            GgmlType.Q4_K,
            GgmlType.Q6_K,
            GgmlType.Q8_0,
            GgmlType.Q4_0,
            GgmlType.BF16,
            GgmlType.Q5_0,
            GgmlType.Q5_1,
            GgmlType.Q5_K,
            GgmlType.Q8_K
        }) {
            int blocks = 40, n = blocks * t.blockSize();
            byte[] raw = new byte[blocks * t.typeSize()];
            r.nextBytes(raw);
            var seg = MemorySegment.ofArray(raw);
            for (int b = 0; b < blocks; b++) { // keep the fp16 scales finite: random bits would give inf/NaN
                long base = (long) b * t.typeSize();
                switch (t) {
                    case Q4_1, Q4_K, Q5_1, Q5_K -> {
                        seg.set(LE16, base, Float.floatToFloat16((float) r.nextGaussian()));
                        seg.set(LE16, base + 2, Float.floatToFloat16((float) r.nextGaussian()));
                    }
                    case Q6_K -> seg.set(LE16, base + 208, Float.floatToFloat16((float) r.nextGaussian()));
                    case Q8_K ->
                        seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), base, (float)
                                r.nextGaussian());
                    case Q8_0, Q4_0, Q5_0 -> seg.set(LE16, base, Float.floatToFloat16((float) r.nextGaussian()));
                    default -> {}
                }
            }
            // Q8_K lives in ggml's CPU backend, whose traits are not exported: call its row function by name
            float[] theirs =
                    t == GgmlType.Q8_K ? ggmlDequantizeRow("dequantize_row_q8_K", raw, n) : ggmlToFloat(t.id(), raw, n);
            assertNotNull(theirs, t + ": ggml has no to_float");
            float[] ours = new float[n];
            GgmlQuants.dequantize(t, seg, MemorySegment.ofArray(ours), n);
            for (int i = 0; i < n; i++) {
                // a compiler may fuse ggml's d1*q - m1 into one FMA: allow that single rounding difference
                assertEquals(
                        theirs[i],
                        ours[i],
                        Math.ulp(Math.abs(theirs[i])) + 1e-6f * Math.abs(theirs[i]) + 1e-30f,
                        t + " element " + i);
            }
        }
    }

    @Test
    void ourQuantizersProduceGgmlReferenceBytes() throws Throwable {
        float[] x = testValues(new Random(9), 256 * 8);
        for (GgmlType t : new GgmlType[] {
            GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.F16, GgmlType.BF16
        }) { // F32 has no converter
            assertArrayEquals(ggmlFromFloat(t.id(), x), GgmlQuants.quantize(t, x), t + " bytes");
        }
        // the K-quants' traits live in ggml's CPU backend: their reference quantizers are called by name
        for (String t : new String[] {"Q8_K", "Q6_K", "Q5_K", "Q4_K"}) {
            GgmlType type = GgmlType.valueOf(t);
            assertArrayEquals(
                    ggmlQuantizeRow(
                            "quantize_row_" + t.toLowerCase().replace("_k", "_K") + "_ref", x, type.bytesFor(x.length)),
                    GgmlQuants.quantize(type, x),
                    t + " bytes");
        }
    }
}
