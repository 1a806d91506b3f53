package dev.panthera.models.bert;

import dev.panthera.tensor.Tensor;

/**
 * One post-norm BERT encoder layer: the attention block, then LayerNorm(h + output(act(intermediate(h)))) with the
 * config's activation (GELU with erf for BERT).
 */
final class BertLayer {
    private final BertConfig c;
    private final BertSelfAttention attention;
    private final Tensor wi, bi, wo, bo, normWeight, normBias;

    BertLayer(BertConfig c, BertWeights w, int index) {
        this.c = c;
        String p = "encoder.layer." + index + ".";
        attention = new BertSelfAttention(c, w, p);
        wi = w.linear(p + "intermediate.dense.weight", c.intermediate(), c.hidden());
        bi = w.vector(p + "intermediate.dense.bias", c.intermediate());
        wo = w.linear(p + "output.dense.weight", c.hidden(), c.intermediate());
        bo = w.vector(p + "output.dense.bias", c.hidden());
        normWeight = w.vector(p + "output.LayerNorm.weight", c.hidden());
        normBias = w.vector(p + "output.LayerNorm.bias", c.hidden());
    }

    /** x [B, T, hidden] → [B, T, hidden]; see {@link BertSelfAttention#forward} for the masks and {@code probs}. */
    Tensor forward(Tensor x, Tensor keep, Tensor pad, Tensor[] probs) {
        Tensor h = attention.forward(x, keep, pad, probs);
        Tensor a = h.matmul(wi).add(bi);
        a = switch (c.activation()) {
            case "gelu" -> a.gelu();
            case "relu" -> a.relu();
            default -> a.geluTanh();
        };
        return a.matmul(wo).add(bo).add(h).layerNorm(normWeight, normBias, c.layerNormEps());
    }
}
