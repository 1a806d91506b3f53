package dev.panthera.models.llama;

/**
 * RoPE frequency scaling as HuggingFace's {@code rope_scaling} defines it ({@code modeling_rope_utils.py}): NONE keeps
 * inv_freq[i] = θ^(-2i/d); LINEAR divides every frequency by {@code factor}; DYNAMIC (NTK) raises the base to
 * θ·(factor·L/L₀ − (factor − 1))^(d/(d−2)) once the sequence length L exceeds L₀; LLAMA3 divides low frequencies
 * (wavelength above L₀/lowFreqFactor) by {@code factor}, keeps high ones (below L₀/highFreqFactor) and blends between.
 * Every type here has attention factor 1, so only the frequencies change.
 */
public record RopeScaling(
        Type type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
    public enum Type {
        NONE,
        LINEAR,
        DYNAMIC,
        LLAMA3
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 1, 4, 0);

    public RopeScaling {
        if (type != Type.NONE && !(factor > 0))
            throw new IllegalArgumentException("rope_scaling: factor must be positive, got " + factor);
        if (type == Type.LLAMA3 && (!(highFreqFactor > lowFreqFactor) || originalMaxPositions <= 0))
            throw new IllegalArgumentException("rope_scaling llama3: need high_freq_factor > low_freq_factor and"
                    + " original_max_position_embeddings > 0, got " + this);
    }

    /** The d/2 inverse frequencies for head dimension {@code d}, base {@code theta} and a sequence of {@code seqLen}. */
    public double[] inverseFrequencies(int d, double theta, long seqLen) {
        double base = theta;
        if (type == Type.DYNAMIC && seqLen > originalMaxPositions) {
            base = theta * Math.pow(factor * seqLen / originalMaxPositions - (factor - 1), d / (d - 2.0));
        }
        double[] inv = new double[d / 2];
        for (int i = 0; i < inv.length; i++) {
            double f = 1 / Math.pow(base, 2.0 * i / d);
            inv[i] = switch (type) {
                case NONE, DYNAMIC -> f;
                case LINEAR -> f / factor;
                case LLAMA3 -> llama3(f);
            };
        }
        return inv;
    }

    private double llama3(double f) {
        double wavelen = 2 * Math.PI / f;
        double lowWavelen = originalMaxPositions / lowFreqFactor, highWavelen = originalMaxPositions / highFreqFactor;
        if (wavelen > lowWavelen) return f / factor;
        if (wavelen < highWavelen) return f;
        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * f / factor + smooth * f;
    }
}
