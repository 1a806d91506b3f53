package dev.panthera.models.bert;

import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * What one encoder pass returns, as HuggingFace's {@code BaseModelOutput} holds it.
 *
 * @param lastHiddenState [B, T, hidden], padded positions included
 * @param hiddenStates when requested: the embedding output then every layer's output (layers + 1 tensors of
 *     [B, T, hidden]); else empty
 * @param attentions when requested: every layer's attention probabilities [B, heads, T, T] (rows sum to 1, padded
 *     keys get 0); else empty
 * @param attentionMask the [B, T] mask the pass ran with (1 for a real token), as pooling needs it
 * @param attentionScores when requested: every layer's attention scores before the softmax [B, heads, T, T], the
 *     additive mask included (torch.finfo(float32).min at padded keys, as transformers' eager attention); else empty
 */
public record EncoderOutput(
        Tensor lastHiddenState,
        List<Tensor> hiddenStates,
        List<Tensor> attentions,
        int[][] attentionMask,
        List<Tensor> attentionScores) {
    /** Without attention scores. */
    public EncoderOutput(
            Tensor lastHiddenState, List<Tensor> hiddenStates, List<Tensor> attentions, int[][] attentionMask) {
        this(lastHiddenState, hiddenStates, attentions, attentionMask, List.of());
    }
}
