package dev.panthera.models.bert;

import dev.panthera.quant.Int8Weight;
import dev.panthera.quant.QuantizedLinear;
import dev.panthera.tensor.Tensor;

/**
 * Builds an encoder's linear maps (query, key, value, attention output, intermediate, output of every layer) from
 * their float weights, e.g. quantized; null keeps a map in float. The embeddings and LayerNorms stay float.
 */
@FunctionalInterface
public interface BertLinearMaker {
    /**
     * @param name the weight's HuggingFace name ({@code encoder.layer.0.attention.self.query.weight}, ...)
     * @param w the weight [out, in] row-major
     * @param bias [out]
     * @return the layer, or null for the float product
     */
    QuantizedLinear linear(String name, float[] w, int out, int in, Tensor bias);

    /**
     * W8A8: int8 weights per output channel ({@link Int8Weight}), activations quantized to int8 per token at run time,
     * int32 accumulation ({@link QuantizedLinear#w8a8}); what ONNX Runtime's dynamic quantization does to these layers.
     */
    static BertLinearMaker w8a8() {
        return (name, w, out, in, bias) -> QuantizedLinear.w8a8(Int8Weight.quantize(name, w, out, in), bias);
    }
}
