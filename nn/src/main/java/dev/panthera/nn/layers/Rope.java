package dev.panthera.nn.layers;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;

/**
 * Rotary position embedding. Frequency i (0 ≤ i < d/2) is base^(-2i/d); position p rotates by angle p·freq_i.
 * {@link Layout#INTERLEAVED} rotates adjacent pairs (x[2i], x[2i+1]) as llama2.c's run.c and llama.cpp's llama arch do;
 * {@link Layout#HALF} rotates (x[i], x[i+d/2]) as HuggingFace's Llama does.
 */
public final class Rope {
    /** Which elements form a rotated pair. */
    public enum Layout {
        INTERLEAVED,
        HALF
    }

    private final Layout layout;
    private final int headDim;
    private final Tensor cos; // [maxPos, d/2]
    private final Tensor sin;

    public Rope(int headDim, int maxPositions, double base, Layout layout) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("Rope: head dimension must be even, got " + headDim);
        this.layout = layout;
        this.headDim = headDim;
        int half = headDim / 2;
        float[] c = new float[maxPositions * half];
        float[] s = new float[maxPositions * half];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(base, -2.0 * i / headDim);
                c[p * half + i] = (float) Math.cos(angle);
                s[p * half + i] = (float) Math.sin(angle);
            }
        }
        this.cos = MemoryScope.unscoped(() -> Tensor.of(c, maxPositions, half));
        this.sin = MemoryScope.unscoped(() -> Tensor.of(s, maxPositions, half));
    }

    public Layout layout() {
        return layout;
    }

    /** Rotates x [..., T, headDim] whose T positions start at {@code start}. */
    public Tensor apply(Tensor x, long start) {
        if (x.size(-1) != headDim)
            throw new IllegalArgumentException(
                    "Rope: last dimension of " + x.shape() + " must be the head dimension " + headDim);
        long t = x.size(-2);
        if (start < 0 || start + t > cos.size(0))
            throw new IllegalArgumentException(
                    "Rope: positions [" + start + ", " + (start + t) + ") exceed the table of " + cos.size(0));
        return x.rope(cos.narrow(0, start, t), sin.narrow(0, start, t), layout == Layout.INTERLEAVED);
    }
}
