package dev.panthera.models.bert;

import dev.panthera.tensor.Tensor;
import java.util.Locale;

/** How a sentence embedding is made from an encoder's last hidden state. */
public enum Pooling {
    /** The mean of the real tokens' vectors (the attention mask weights them), as sentence-transformers does. */
    MEAN,
    /** The first token's vector ([CLS]). */
    CLS;

    /** {@code mean} or {@code cls} (any case). */
    public static Pooling parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "mean" -> MEAN;
            case "cls" -> CLS;
            default -> throw new IllegalArgumentException("pooling must be mean or cls, got '" + s + "'");
        };
    }

    /**
     * Pools {@code hidden} [B, T, H] under {@code mask} [B][T] (1 for a real token) into [B, H]. MEAN divides the
     * masked sum by max(count, 1e-9), sentence-transformers' clamp.
     */
    public Tensor pool(Tensor hidden, int[][] mask) {
        if (this == CLS) return hidden.select(1, 0);
        long b = hidden.size(0), t = hidden.size(1);
        float[] m = new float[Math.toIntExact(b * t)];
        float[] counts = new float[(int) b];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                m[(int) (r * t + j)] = mask[r][j];
                counts[r] += mask[r][j];
            }
            counts[r] = Math.max(counts[r], 1e-9f);
        }
        Tensor sum = hidden.mul(Tensor.of(m, b, t, 1)).sum(1);
        return sum.div(Tensor.of(counts, b, 1));
    }

    /** Each row of {@code x} [B, H] divided by max(‖row‖₂, 1e-12), as torch.nn.functional.normalize does. */
    public static Tensor normalize(Tensor x) {
        Tensor norm = x.mul(x).sum(new int[] {1}, true).sqrt();
        return x.div(norm.maximum(Tensor.full(norm.dtype(), 1e-12, 1)));
    }
}
