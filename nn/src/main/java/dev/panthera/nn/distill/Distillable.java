package dev.panthera.nn.distill;

import dev.panthera.tensor.Tensor;

/** An encoder that can run a forward pass exposing its intermediate layers for distillation. */
public interface Distillable {
    /**
     * Forward over token ids [batch, seq] with an optional key padding mask [batch, seq] (1 = token, 0 = padding; null
     * = no padding), returning every layer's hidden state and attention scores and the logits.
     */
    EncoderOutputs forwardWithIntermediates(Tensor ids, Tensor attentionMask);
}
