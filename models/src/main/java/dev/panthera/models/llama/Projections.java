package dev.panthera.models.llama;

import dev.panthera.quant.QuantizedLinear;
import dev.panthera.tensor.Tensor;

/**
 * Linear maps of one input, as a Llama block uses them (q/k/v, gate/up): {@code apply(x)[i]} is x·W_iᵀ (+ b_i). Either
 * one {@link Projection} per map, or one stacked quantized layer ({@link QuantizedLinear#stacked}) whose output is
 * split into views along its last dimension.
 */
interface Projections {
    /** x [..., in] → one tensor [..., out_i] per map. */
    Tensor[] apply(Tensor x);

    /** SwiGLU of two maps, gate then up: silu(apply(x)[0])·apply(x)[1]. */
    default Tensor swiGlu(Tensor x) {
        Tensor[] gu = apply(x);
        return gu[0].silu().mul(gu[1]);
    }

    /** Each map on its own. */
    static Projections separate(Projection... maps) {
        Projection[] ps = maps.clone();
        return x -> {
            Tensor[] out = new Tensor[ps.length];
            for (int i = 0; i < ps.length; i++) out[i] = ps[i].apply(x);
            return out;
        };
    }

    /** One product over stacked rows, split into parts of {@code widths} output features (summing to its rows). */
    static Projections stacked(QuantizedLinear layer, long... widths) {
        long total = 0;
        for (long w : widths) total += w;
        if (total != layer.outFeatures())
            throw new IllegalArgumentException(
                    "Projections: parts of " + java.util.Arrays.toString(widths) + " features do not split " + layer);
        long[] ws = widths.clone();
        return new Projections() {
            @Override
            public Tensor[] apply(Tensor x) {
                Tensor y = layer.forward(x);
                Tensor[] out = new Tensor[ws.length];
                long at = 0;
                for (int i = 0; i < ws.length; i++) {
                    out[i] = y.narrow(-1, at, ws[i]);
                    at += ws[i];
                }
                return out;
            }

            /** Two halves, gate over up: the layer gates its own product ({@link QuantizedLinear#forwardSwiGlu}). */
            @Override
            public Tensor swiGlu(Tensor x) {
                if (ws.length != 2 || ws[0] != ws[1])
                    throw new IllegalStateException("Projections: SwiGLU of parts " + java.util.Arrays.toString(ws));
                return layer.forwardSwiGlu(x);
            }
        };
    }
}
