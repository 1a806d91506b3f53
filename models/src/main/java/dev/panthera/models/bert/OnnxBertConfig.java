package dev.panthera.models.bert;

import dev.panthera.models.io.OnnxWeights;
import dev.panthera.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link BertConfig} read from an ONNX export of a HuggingFace BERT, for files that come without config.json.
 * Sizes come from the initializers' shapes. The head count lives only in the graph: the constant that the first
 * attention's score MatMul is divided by (√headDim) or multiplied with (1/√headDim) just before the mask is added
 * and the Softmax taken. The LayerNorm epsilon is the constant added to the variance in the decomposed
 * LayerNorm after the embeddings (ReduceMean, Sub, Pow, ReduceMean, Add ε, Sqrt, Div, Mul weight); where the export
 * uses a fused LayerNormalization node instead, BERT's default 1e-12 is taken. Erf in the graph means GELU (erf),
 * Tanh without Erf its tanh approximation.
 */
final class OnnxBertConfig {
    private OnnxBertConfig() {}

    static BertConfig read(OnnxWeights w) {
        long[] word = shape(w, "embeddings.word_embeddings.weight");
        long[] pos = shape(w, "embeddings.position_embeddings.weight");
        long[] type = shape(w, "embeddings.token_type_embeddings.weight");
        int layers = 0;
        while (w.contains("encoder.layer." + layers + ".attention.self.query.weight")) layers++;
        if (layers == 0) throw missing("encoder.layer.0.attention.self.query.weight");
        String inter = "encoder.layer.0.intermediate.dense.weight";
        long[] is = shape(w, inter);
        long intermediate = w.isTransposed(inter) ? is[1] : is[0];
        List<OnnxWeights.Node> nodes = w.nodes();
        Map<String, OnnxWeights.Node> producer = new HashMap<>();
        Map<String, OnnxWeights.Node> consumer = new HashMap<>();
        boolean erf = false, tanh = false;
        for (OnnxWeights.Node n : nodes) {
            for (String o : n.outputs()) producer.put(o, n);
            for (String i : n.inputs()) consumer.putIfAbsent(i, n);
            erf |= n.opType().equals("Erf");
            tanh |= n.opType().equals("Tanh");
        }
        int hidden = Math.toIntExact(word[1]);
        int headDim = headDim(w, nodes, producer);
        if (headDim <= 0 || hidden % headDim != 0)
            throw new IllegalArgumentException(
                    "onnx BERT: attention scale gives head size " + headDim + ", which does not divide " + hidden);
        return new BertConfig(
                Math.toIntExact(word[0]),
                hidden,
                layers,
                hidden / headDim,
                Math.toIntExact(intermediate),
                Math.toIntExact(pos[0]),
                Math.toIntExact(type[0]),
                epsilon(w, producer, consumer),
                erf || !tanh ? "gelu" : "gelu_new");
    }

    private static long[] shape(OnnxWeights w, String name) {
        if (!w.contains(name)) throw missing(name);
        long[] s = w.shape(name);
        if (s.length != 2 && !name.endsWith("bias"))
            throw new IllegalArgumentException("onnx BERT: '" + name + "' is not 2-D: " + java.util.Arrays.toString(s));
        return s;
    }

    private static IllegalArgumentException missing(String name) {
        return new IllegalArgumentException("onnx BERT: no initializer '" + name
                + "' (neither by name nor as a MatMul weight under that module path); not a HuggingFace BERT export?");
    }

    /** √headDim from the scale applied to the first Softmax's scores. */
    private static int headDim(OnnxWeights w, List<OnnxWeights.Node> nodes, Map<String, OnnxWeights.Node> producer) {
        OnnxWeights.Node softmax = nodes.stream()
                .filter(n -> n.opType().equals("Softmax"))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("onnx BERT: no Softmax node (attention) in the graph"));
        // walk back from the Softmax a few nodes (the mask Add, maybe a Cast) to the Div or Mul by a constant
        List<String> frontier = softmax.inputs();
        for (int depth = 0; depth < 4; depth++) {
            List<String> next = new java.util.ArrayList<>();
            for (String in : frontier) {
                OnnxWeights.Node n = producer.get(in);
                if (n == null) continue;
                if ((n.opType().equals("Div") || n.opType().equals("Mul"))
                        && n.inputs().size() == 2) {
                    Double s = scalar(w, n.inputs().get(1));
                    if (s == null && n.opType().equals("Mul"))
                        s = scalar(w, n.inputs().get(0));
                    if (s != null && s > 0) {
                        double d = n.opType().equals("Div") ? s * s : 1 / (s * s);
                        return (int) Math.round(d);
                    }
                }
                next.addAll(n.inputs());
            }
            frontier = next;
        }
        throw new IllegalArgumentException("onnx BERT: cannot find the attention scale (a Div or Mul by a constant"
                + " before Softmax '" + softmax.name() + "'), so the head count is unknown; put a config.json beside"
                + " the .onnx file");
    }

    /** The value of a one-element constant or initializer, or null. */
    private static Double scalar(OnnxWeights w, String name) {
        Tensor t = w.constant(name);
        if (t == null || t.numel() != 1 || !t.dtype().isFloatingPoint()) return null;
        return t.toDoubleArray()[0];
    }

    private static double epsilon(
            OnnxWeights w, Map<String, OnnxWeights.Node> producer, Map<String, OnnxWeights.Node> consumer) {
        OnnxWeights.Node mul = consumer.get("embeddings.LayerNorm.weight");
        if (mul == null || !mul.opType().equals("Mul")) return 1e-12;
        for (String in : mul.inputs()) {
            OnnxWeights.Node div = producer.get(in);
            if (div == null || !div.opType().equals("Div") || div.inputs().size() != 2) continue;
            OnnxWeights.Node sqrt = producer.get(div.inputs().get(1));
            if (sqrt == null || !sqrt.opType().equals("Sqrt")) continue;
            OnnxWeights.Node add = producer.get(sqrt.inputs().get(0));
            if (add == null || !add.opType().equals("Add")) continue;
            for (String a : add.inputs()) {
                Double eps = scalar(w, a);
                if (eps != null && eps > 0) return eps;
            }
        }
        return 1e-12;
    }
}
