package dev.panthera.nn.distill;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Embedding;
import dev.panthera.nn.layers.LayerNorm;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.layers.ModuleList;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A small BERT-style encoder for sequence classification, built from nn's layers, that exposes what TinyBERT distils:
 * learned token and position embeddings followed by LayerNorm; per layer, bidirectional multi-head self-attention
 * with scores q·kᵀ/√d_head plus BERT's additive padding mask (1 − mask)·(−10000), then post-LayerNorm residuals
 * around the attention output and a GELU feed-forward; a tanh pooler over the first token and a linear classifier.
 * No dropout, so a forward pass is deterministic. A teacher or student for {@link TinyBertDistillation} when no
 * pretrained encoder is at hand.
 */
public final class SmallEncoder extends Module implements Distillable {
    /** Sizes of a {@link SmallEncoder}. */
    public record Config(int vocab, int dim, int heads, int ffn, int layers, int maxSeq, int classes) {
        public Config {
            if (vocab < 1 || dim < 1 || heads < 1 || ffn < 1 || layers < 1 || maxSeq < 1 || classes < 1)
                throw new IllegalArgumentException("SmallEncoder.Config: every size must be positive, got " + this);
            if (dim % heads != 0)
                throw new IllegalArgumentException(
                        "SmallEncoder.Config: dim " + dim + " is not a multiple of heads " + heads);
        }
    }

    private static final double LN_EPS = 1e-12; // BERT's layer_norm_eps

    private final Config config;
    private final ModuleList<EncoderLayer> layers;

    public SmallEncoder(Config c, RandomGenerator rng) {
        this.config = c;
        registerModule("word_embeddings", new Embedding(c.vocab(), c.dim(), rng));
        registerModule("position_embeddings", new Embedding(c.maxSeq(), c.dim(), rng));
        registerModule("embeddings_norm", new LayerNorm(c.dim(), LN_EPS));
        List<EncoderLayer> ls = new ArrayList<>();
        for (int i = 0; i < c.layers(); i++) ls.add(new EncoderLayer(c, rng));
        layers = registerModule("layer", new ModuleList<>(ls));
        registerModule("pooler", new Linear(c.dim(), c.dim(), true, rng));
        registerModule("classifier", new Linear(c.dim(), c.classes(), true, rng));
    }

    public Config config() {
        return config;
    }

    /** The logits [batch, classes] for ids [batch, seq] without padding. */
    @Override
    public Tensor forward(Tensor ids) {
        return forwardWithIntermediates(ids, null).logits();
    }

    @Override
    public EncoderOutputs forwardWithIntermediates(Tensor ids, Tensor attentionMask) {
        if (ids.rank() != 2)
            throw new IllegalArgumentException("SmallEncoder: ids must be [batch, seq], got " + ids.shape());
        long b = ids.size(0), t = ids.size(1);
        if (t > config.maxSeq())
            throw new IllegalArgumentException("SmallEncoder: sequence of " + t + " exceeds maxSeq " + config.maxSeq());
        Tensor additive = null;
        if (attentionMask != null) {
            if (attentionMask.rank() != 2 || attentionMask.size(0) != b || attentionMask.size(1) != t)
                throw new IllegalArgumentException(
                        "SmallEncoder: attention mask " + attentionMask.shape() + " must match ids " + ids.shape());
            // BERT's extended mask: 0 where a key is a token, −10000 where it is padding, broadcast over heads/queries
            additive = attentionMask.to(DType.F32).neg().add(1).mul(-10000.0).reshape(b, 1, 1, t);
        }
        Tensor pos = Tensor.arange(t).reshape(1, t).expand(b, t).contiguous();
        Tensor h = call("embeddings_norm", call("word_embeddings", ids).add(call("position_embeddings", pos)));
        List<Tensor> hidden = new ArrayList<>(List.of(h));
        List<Tensor> scores = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            Tensor[] out = layers.get(i).forward(h, additive);
            h = out[0];
            hidden.add(h);
            scores.add(out[1]);
        }
        Tensor pooled = call("pooler", h.select(1, 0)).tanh();
        return new EncoderOutputs(hidden, scores, call("classifier", pooled));
    }

    /** One post-LayerNorm encoder layer; returns {output, attention scores}. */
    static final class EncoderLayer extends Module {
        private final int heads;
        private final int headDim;

        EncoderLayer(Config c, RandomGenerator rng) {
            this.heads = c.heads();
            this.headDim = c.dim() / c.heads();
            registerModule("query", new Linear(c.dim(), c.dim(), true, rng));
            registerModule("key", new Linear(c.dim(), c.dim(), true, rng));
            registerModule("value", new Linear(c.dim(), c.dim(), true, rng));
            registerModule("attention_output", new Linear(c.dim(), c.dim(), true, rng));
            registerModule("attention_norm", new LayerNorm(c.dim(), LN_EPS));
            registerModule("intermediate", new Linear(c.dim(), c.ffn(), true, rng));
            registerModule("output", new Linear(c.ffn(), c.dim(), true, rng));
            registerModule("output_norm", new LayerNorm(c.dim(), LN_EPS));
        }

        @Override
        public Tensor forward(Tensor x) {
            return forward(x, null)[0];
        }

        Tensor[] forward(Tensor x, Tensor additiveMask) {
            long b = x.size(0), t = x.size(1);
            Tensor q = call("query", x).reshape(b, t, heads, headDim).transpose(1, 2);
            Tensor k = call("key", x).reshape(b, t, heads, headDim).transpose(1, 2);
            Tensor v = call("value", x).reshape(b, t, heads, headDim).transpose(1, 2);
            Tensor scores = q.matmul(k.transpose(2, 3)).mul(1 / Math.sqrt(headDim));
            if (additiveMask != null) scores = scores.add(additiveMask);
            Tensor ctx = scores.softmax(-1).matmul(v).transpose(1, 2).reshape(b, t, (long) heads * headDim);
            Tensor a = call("attention_norm", x.add(call("attention_output", ctx)));
            Tensor f = call("output", call("intermediate", a).gelu());
            return new Tensor[] {call("output_norm", a.add(f)), scores};
        }
    }
}
