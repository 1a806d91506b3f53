package dev.panthera.models.llama;

/**
 * RoPE frequency scaling as HuggingFace's {@code rope_scaling} defines it ({@code modeling_rope_utils.py}): NONE keeps
 * inv_freq[i] = θ^(-2i/d); LINEAR divides every frequency by {@code factor}; DYNAMIC (NTK) raises the base to
 * θ·(factor·L/L₀ − (factor − 1))^(d/(d−2)) once the sequence length L exceeds L₀; LLAMA3 divides low frequencies
 * (wavelength above L₀/lowFreqFactor) by {@code factor}, keeps high ones (below L₀/highFreqFactor) and blends between.
 * FACTORS divides frequency i by {@code freqFactors[i]}: how GGUF files carry llama3 scaling (llama.cpp's
 * {@code rope_freqs.weight}). Every type here has attention factor 1, so only the frequencies change.
 */
public record RopeScaling(
        Type type,
        double factor,
        double lowFreqFactor,
        double highFreqFactor,
        int originalMaxPositions,
        double[] freqFactors) {
    public enum Type {
        NONE,
        LINEAR,
        DYNAMIC,
        LLAMA3,
        FACTORS
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 1, 4, 0, null);

    public RopeScaling(
            Type type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        this(type, factor, lowFreqFactor, highFreqFactor, originalMaxPositions, null);
    }

    /** Per-frequency divisors, as a GGUF's rope_freqs.weight holds them. */
    public static RopeScaling factors(double[] freqFactors) {
        return new RopeScaling(Type.FACTORS, 1, 1, 4, 0, freqFactors);
    }

    public RopeScaling {
        if (type != Type.NONE && !(factor > 0))
            throw new IllegalArgumentException("rope_scaling: factor must be positive, got " + factor);
        if ((type == Type.FACTORS) != (freqFactors != null))
            throw new IllegalArgumentException("rope_scaling: per-frequency factors go with type FACTORS only");
        freqFactors = freqFactors == null ? null : freqFactors.clone();
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
        if (type == Type.FACTORS && freqFactors.length != inv.length)
            throw new IllegalArgumentException("rope_freqs: " + freqFactors.length + " factors for head dimension " + d
                    + " (needs " + inv.length + ")");
        for (int i = 0; i < inv.length; i++) {
            double f = 1 / Math.pow(base, 2.0 * i / d);
            inv[i] = switch (type) {
                case NONE, DYNAMIC -> f;
                case LINEAR -> f / factor;
                case LLAMA3 -> llama3(f);
                case FACTORS -> f / freqFactors[i];
            };
        }
        return inv;
    }

    /**
     * The llama3 scaling of this record as the per-frequency divisors llama.cpp's convert_hf_to_gguf writes to
     * {@code rope_freqs.weight}: unscaled frequency θ^(-2i/d) in float32 (as torch computes it there), then 1 above
     * the high-frequency wavelength bound, {@code factor} below the low one, and 1 / ((1 − s)/factor + s) between.
     */
    public float[] llamaCppFreqFactors(int d, double theta) {
        if (type != Type.LLAMA3)
            throw new IllegalStateException("rope_freqs are written for llama3 scaling, not " + this);
        float[] out = new float[d / 2];
        double lowWavelen = originalMaxPositions / lowFreqFactor, highWavelen = originalMaxPositions / highFreqFactor;
        for (int i = 0; i < out.length; i++) {
            float freq = 1f / (float) Math.pow((float) theta, (float) (2 * i) / d);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) out[i] = 1;
            else if (wavelen > lowWavelen) out[i] = (float) factor;
            else {
                double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return out;
    }

    @Override
    public double[] freqFactors() {
        return freqFactors == null ? null : freqFactors.clone();
    }

    @Override
    public String toString() {
        return type == Type.NONE
                ? "rope_scaling none"
                : "rope_scaling " + type.name().toLowerCase(java.util.Locale.ROOT) + " factor=" + factor
                        + (type == Type.LLAMA3 ? " low=" + lowFreqFactor + " high=" + highFreqFactor : "")
                        + (originalMaxPositions > 0 ? " original=" + originalMaxPositions : "");
    }

    /** HF's llama3 rule for one frequency. */
    private double llama3(double f) {
        double wavelen = 2 * Math.PI / f;
        double lowWavelen = originalMaxPositions / lowFreqFactor, highWavelen = originalMaxPositions / highFreqFactor;
        if (wavelen > lowWavelen) return f / factor;
        if (wavelen < highWavelen) return f;
        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * f / factor + smooth * f;
    }
}
