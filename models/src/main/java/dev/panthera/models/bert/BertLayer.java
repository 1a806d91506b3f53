package dev.panthera.models.bert;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.UnaryOp;

/**
 * One post-norm BERT encoder layer: the attention block, then LayerNorm(h + output(act(intermediate(h)))) with the
 * config's activation (GELU with erf for BERT).
 */
final class BertLayer {
    private final BertConfig c;
    private final BertSelfAttention attention;
    private final Projection intermediate, output;
    private final Tensor normWeight, normBias;
    /** The intermediate map's activation: GELU with erf for BERT, or the config's ReLU or tanh GELU. */
    private final UnaryOp activation;

    BertLayer(BertConfig c, BertWeights w, int index, BertLinearMaker maker) {
        this.c = c;
        String p = "encoder.layer." + index + ".";
        attention = new BertSelfAttention(c, w, p, maker);
        intermediate = projection(w, maker, p + "intermediate.dense", c.intermediate(), c.hidden());
        output = projection(w, maker, p + "output.dense", c.hidden(), c.intermediate());
        normWeight = w.vector(p + "output.LayerNorm.weight", c.hidden());
        normBias = w.vector(p + "output.LayerNorm.bias", c.hidden());
        activation = switch (c.activation()) {
            case "gelu" -> UnaryOp.GELU_ERF;
            case "relu" -> UnaryOp.RELU;
            default -> UnaryOp.GELU_TANH;
        };
    }

    /** x [B, T, hidden] → [B, T, hidden]; see {@link BertSelfAttention#forward} for the masks and {@code probs}. */
    Tensor forward(Tensor x, Tensor keep, Tensor pad, Tensor[] probs) {
        Tensor h = attention.forward(x, keep, pad, probs);
        Tensor a = intermediate.apply(h, null, activation);
        return output.apply(a, h, null).layerNorm(normWeight, normBias, c.layerNormEps());
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
     * A biased linear map of x, plus {@code residual} (of the output's shape) where it is not null, then
     * {@code activation} where it is not null.
     */
    interface Projection {
        Tensor apply(Tensor x, Tensor residual, UnaryOp activation);
    }

    /**
     * act(x·W + b (+ residual)) for the linear map {@code prefix}.weight / .bias ([out, in] in HF terms): the float product
     * over the [in, out] weight with the bias and residual added as the product is written
     * ({@link Tensor#matmulAdd}), or what {@code maker} builds from the weight as [out, in] floats.
     */
    static Projection projection(BertWeights w, BertLinearMaker maker, String prefix, int out, int in) {
        Tensor wt = w.linear(prefix + ".weight", out, in), b = w.vector(prefix + ".bias", out);
        if (maker != null) {
            var q = maker.linear(prefix + ".weight", wt.t().contiguous().toFloatArray(), out, in, b);
            if (q != null)
                return (x, r, act) -> {
                    Tensor y = q.forward(x);
                    if (r != null) y = plus(y, r);
                    return act == null ? y : activate(y, act);
                };
        }
        return (x, r, act) -> x.matmulAdd(wt, b, r, act);
    }

    /** {@code act} of y through the tensor op it names (the activations a BERT config can name). */
    private static Tensor activate(Tensor y, UnaryOp act) {
        return switch (act) {
            case GELU_ERF -> y.gelu();
            case RELU -> y.relu();
            case GELU_TANH -> y.geluTanh();
            default -> throw new IllegalArgumentException("BERT: no activation " + act);
        };
    }
}
