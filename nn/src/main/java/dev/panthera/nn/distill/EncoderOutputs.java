package dev.panthera.nn.distill;

import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * What a transformer encoder exposes for TinyBERT distillation: {@code hiddenStates} is the embedding layer's output
 * followed by each layer's output, each [batch, seq, dim] (L + 1 tensors for L layers, as HuggingFace's
 * output_hidden_states); {@code attentionScores} is each layer's attention scores before the softmax, [batch, heads,
 * seq, seq], masked keys carrying the additive mask (TinyBERT fits these unnormalised scores, paper section 3.1);
 * {@code logits} is the prediction head's output, [batch, classes].
 */
public record EncoderOutputs(List<Tensor> hiddenStates, List<Tensor> attentionScores, Tensor logits) {
    public EncoderOutputs {
        hiddenStates = List.copyOf(hiddenStates);
        attentionScores = List.copyOf(attentionScores);
        if (hiddenStates.size() != attentionScores.size() + 1)
            throw new IllegalArgumentException("EncoderOutputs: " + hiddenStates.size() + " hidden states for "
                    + attentionScores.size() + " layers; expected the embedding output plus one per layer");
    }

    /** Number of transformer layers. */
    public int layers() {
        return attentionScores.size();
    }
}
