package dev.panthera.models.llama;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;

/**
 * cos/sin tables [positions, d/2] for a config's RoPE. Fixed frequencies are tabulated once for the whole context;
 * dynamic NTK scaling depends on the sequence length, so its tables are made per call for positions start..start+t
 * with the base that length gives (HuggingFace recomputes the frequencies the same way when a longer sequence comes).
 */
final class RopeTables {
    private final LlamaConfig c;
    private final Tensor cos;
    private final Tensor sin;

    RopeTables(LlamaConfig c) {
        this.c = c;
        boolean dynamic = c.ropeScaling().type() == RopeScaling.Type.DYNAMIC;
        Tensor[] t = dynamic ? null : MemoryScope.unscoped(() -> table(0, c.maxSeq(), c.maxSeq()));
        this.cos = t == null ? null : t[0];
        this.sin = t == null ? null : t[1];
    }

    /** {cos, sin} for positions [start, start + t). */
    Tensor[] at(long start, long t) {
        if (start < 0 || start + t > c.maxSeq())
            throw new IllegalArgumentException(
                    "RoPE: positions [" + start + ", " + (start + t) + ") exceed the context length " + c.maxSeq());
        if (cos != null) return new Tensor[] {cos.narrow(0, start, t), sin.narrow(0, start, t)};
        return table(start, t, start + t);
    }

    private Tensor[] table(long start, long t, long seqLen) {
        double[] inv = c.ropeScaling().inverseFrequencies(c.headDim(), c.ropeTheta(), seqLen);
        int half = inv.length;
        float[] cs = new float[Math.toIntExact(t * half)], sn = new float[cs.length];
        for (int p = 0; p < t; p++) {
            for (int i = 0; i < half; i++) {
                double angle = (start + p) * inv[i];
                cs[p * half + i] = (float) Math.cos(angle);
                sn[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new Tensor[] {Tensor.of(cs, t, half), Tensor.of(sn, t, half)};
    }
}
