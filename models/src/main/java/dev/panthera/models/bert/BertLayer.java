package dev.panthera.models.bert;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.function.UnaryOperator;

/**
 * One post-norm BERT encoder layer: the attention block, then LayerNorm(h + output(act(intermediate(h)))) with the
 * config's activation (GELU with erf for BERT).
 */
final class BertLayer {
    private final BertConfig c;
    private final BertSelfAttention attention;
    private final UnaryOperator<Tensor> intermediate, output;
    private final Tensor normWeight, normBias;

    BertLayer(BertConfig c, BertWeights w, int index, BertLinearMaker maker) {
        this.c = c;
        String p = "encoder.layer." + index + ".";
        attention = new BertSelfAttention(c, w, p, maker);
        intermediate = projection(w, maker, p + "intermediate.dense", c.intermediate(), c.hidden());
        output = projection(w, maker, p + "output.dense", c.hidden(), c.intermediate());
        normWeight = w.vector(p + "output.LayerNorm.weight", c.hidden());
        normBias = w.vector(p + "output.LayerNorm.bias", c.hidden());
    }

    /** x [B, T, hidden] → [B, T, hidden]; see {@link BertSelfAttention#forward} for the masks and {@code probs}. */
    Tensor forward(Tensor x, Tensor keep, Tensor pad, Tensor[] probs) {
        Tensor h = attention.forward(x, keep, pad, probs);
        Tensor a = intermediate.apply(h);
        a = switch (c.activation()) {
            case "gelu" -> a.gelu();
            case "relu" -> a.relu();
            default -> a.geluTanh();
        };
        return plus(output.apply(a), h).layerNorm(normWeight, normBias, c.layerNormEps());
    }

    /**
     * {@code fresh + other}, written into {@code fresh} when nothing records it for autograd: fresh is an output this
     * layer just made (a projection's product) that nothing else holds, and other has its shape or is a vector along
     * its last dimension. In place the sum needs no new block (whose reuse from the pool zero-fills it first) and
     * reads and writes one tensor less.
     */
    static Tensor plus(Tensor fresh, Tensor other) {
        boolean recorded = Autograd.isGradEnabled() && (fresh.requiresGrad() || other.requiresGrad());
        boolean fits = other.shape().equals(fresh.shape())
                || (other.rank() == 1 && fresh.rank() >= 1 && other.size(0) == fresh.size(-1));
        if (recorded || !fits || other.dtype() != fresh.dtype() || !fresh.isContiguous()) return fresh.add(other);
        return fresh.add_(other);
    }

    /**
     * x·W + b for the linear map {@code prefix}.weight / .bias ([out, in] in HF terms): the float product over the
     * [in, out] weight, or what {@code maker} builds from the weight as [out, in] floats.
     */
    static UnaryOperator<Tensor> projection(BertWeights w, BertLinearMaker maker, String prefix, int out, int in) {
        Tensor wt = w.linear(prefix + ".weight", out, in), b = w.vector(prefix + ".bias", out);
        if (maker != null) {
            var q = maker.linear(prefix + ".weight", wt.t().contiguous().toFloatArray(), out, in, b);
            if (q != null) return q::forward;
        }
        return x -> plus(x.matmul(wt), b);
    }
}
