package dev.panthera.models.llama;

import dev.panthera.models.io.Weights;
import dev.panthera.quant.gptq.Gptq;
import dev.panthera.quant.gptq.GptqConfig;
import dev.panthera.quant.gptq.GptqWeight;
import dev.panthera.quant.gptq.Gwq;
import dev.panthera.quant.gptq.GwqWeight;
import dev.panthera.quant.gptq.Hessian;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Quantizes the seven linear layers of every decoder layer of a Llama model (q/k/v/o, gate/up/down; the embedding, the
 * head and the norms stay as they are, as GPTQ's reference does) with round-to-nearest, GPTQ or GWQ, and makes float
 * copies of a model with some weights replaced, to evaluate a quantized model by its dequantized weights.
 *
 * <p>GPTQ runs layer by layer as the paper's reference does for Llama: the calibration sequences go through the
 * already quantized layers; each layer's seven inputs are collected in one pass of that layer with its float weights
 * (q/k/v share one Hessian, gate/up another), its linears are quantized, and the layer is run again with them to make
 * the next layer's input. GWQ takes ∂L/∂W of the calibration loss (mean next-token negative log-likelihood over all
 * calibration tokens, one backward through the float model with our autograd), keeps the top {@code outlierFraction}
 * of each weight by |gradient| in float16 and quantizes the rest with the same sequential GPTQ.
 */
public final class LlamaQuantizer {
    private LlamaQuantizer() {}

    public enum Method {
        RTN,
        GPTQ,
        GWQ
    }

    /** A quantized linear layer: its dense GPTQ-grid part and, for GWQ, the float16 outliers (else null). */
    public record Layer(GptqWeight dense, GwqWeight withOutliers) {
        public float[] dequantize() {
            return withOutliers != null ? withOutliers.dequantize() : dense.dequantize();
        }
    }

    /**
     * Quantizes {@code model}'s linear layers; {@code calibration} holds equal-length token sequences (unused by RTN).
     * Returns the layers by HF weight name ({@code model.layers.N.self_attn.q_proj.weight}, …) in forward order.
     */
    public static Map<String, Layer> quantize(
            LlamaModel model, int[][] calibration, Method method, GptqConfig config, double outlierFraction) {
        LlamaConfig c = model.config();
        Map<String, Tensor> replaced = new HashMap<>();
        Function<String, Tensor> weights = lookup(model, replaced);
        Map<String, Layer> out = new LinkedHashMap<>();
        if (method == Method.RTN) {
            for (int i = 0; i < c.layers(); i++) {
                for (String l : LlamaCalibration.LINEARS) {
                    String name = "model.layers." + i + "." + l + ".weight";
                    Tensor w = weights.apply(name);
                    GptqWeight q = Gptq.rtn(name, floats(w), (int) w.size(0), (int) w.size(1), config);
                    out.put(name, new Layer(q, null));
                }
            }
            return out;
        }
        Tensor ids = ids(calibration, c);
        Map<String, float[]> grads = method == Method.GWQ ? gradients(model, ids) : Map.of();
        LlamaCalibration run = new LlamaCalibration(c, weights);
        Tensor h;
        try (var ng = Autograd.noGrad()) {
            h = run.embed(ids);
            for (int i = 0; i < c.layers(); i++) {
                Map<String, Hessian> hs = new HashMap<>();
                run.layer(i, h, (layer, linear, x) -> {
                    Hessian hh = new Hessian("model.layers." + layer + "." + linear, (int) x.size(-1));
                    hh.add(x.contiguous().toFloatArray(), Math.toIntExact(x.numel() / x.size(-1)));
                    hs.put(linear, hh);
                });
                for (String l : LlamaCalibration.LINEARS) {
                    String name = "model.layers." + i + "." + l + ".weight";
                    Hessian hh = hs.get(
                            switch (l) {
                                case "self_attn.k_proj", "self_attn.v_proj" -> "self_attn.q_proj";
                                case "mlp.up_proj" -> "mlp.gate_proj";
                                default -> l;
                            });
                    Tensor w = weights.apply(name);
                    int rows = (int) w.size(0), cols = (int) w.size(1);
                    float[] wf = floats(w);
                    Layer q;
                    if (method == Method.GPTQ) {
                        q = new Layer(Gptq.quantize(name, wf, rows, cols, hh, config), null);
                    } else {
                        GwqWeight g = Gwq.quantize(name, wf, rows, cols, grads.get(name), outlierFraction, hh, config);
                        q = new Layer(g.dense(), g);
                    }
                    out.put(name, q);
                    replaced.put(name, Tensor.of(q.dequantize(), rows, cols));
                }
                h = run.layer(i, h, null);
            }
        }
        return out;
    }

    /** ∂(mean next-token NLL)/∂W for every linear weight, by one backward through the float model. */
    static Map<String, float[]> gradients(LlamaModel model, Tensor ids) {
        LlamaConfig c = model.config();
        Map<String, Tensor> leaves = new HashMap<>();
        Function<String, Tensor> base = lookup(model, Map.of());
        for (int i = 0; i < c.layers(); i++) {
            for (String l : LlamaCalibration.LINEARS) {
                String name = "model.layers." + i + "." + l + ".weight";
                Tensor w = base.apply(name);
                leaves.put(name, Tensor.of(floats(w), w.dims()).requiresGrad(true));
            }
        }
        Function<String, Tensor> weights = n -> leaves.containsKey(n) ? leaves.get(n) : base.apply(n);
        long b = ids.size(0), t = ids.size(1);
        Tensor logp = new LlamaCalibration(c, weights)
                .forward(ids, null)
                .narrow(1, 0, t - 1)
                .logSoftmax(-1);
        Tensor next = ids.narrow(1, 1, t - 1).to(DType.I64).contiguous().view(b, t - 1, 1);
        Tensor loss = logp.gather(2, next).sum().mul(-1.0 / (b * (t - 1)));
        loss.backward();
        Map<String, float[]> g = new HashMap<>();
        for (var e : leaves.entrySet()) g.put(e.getKey(), e.getValue().grad().toFloatArray());
        return g;
    }

    /**
     * A float copy of {@code base} whose tensors named in {@code replacements} (HF names, row-major floats of the same
     * shape) are replaced; every other tensor is {@code base}'s own. The copy reads {@code base}'s checkpoint: it is
     * valid while {@code base} is open, and closing it leaves {@code base} open.
     */
    public static LlamaModel withWeights(LlamaModel base, Map<String, float[]> replacements) {
        Weights w = base.weights();
        Map<String, String> byFile = new HashMap<>();
        for (String hf : replacements.keySet()) {
            String f = base.rename().apply(hf);
            if (!w.contains(f)) throw new IllegalArgumentException("withWeights: no tensor '" + hf + "' in the model");
            long n = 1;
            for (long d : w.shape(f)) n *= d;
            if (replacements.get(hf).length != n)
                throw new IllegalArgumentException("withWeights: '" + hf + "' has " + n + " elements, the replacement "
                        + replacements.get(hf).length);
            byFile.put(f, hf);
        }
        Weights overlay = new Weights() {
            @Override
            public List<String> names() {
                return w.names();
            }

            @Override
            public boolean contains(String name) {
                return w.contains(name);
            }

            @Override
            public long[] shape(String name) {
                return w.shape(name);
            }

            @Override
            public Tensor tensor(String name) {
                String hf = byFile.get(name);
                return hf == null ? w.tensor(name) : Tensor.of(replacements.get(hf), w.shape(name));
            }

            @Override
            public void close() {} // the mapping belongs to base
        };
        return new LlamaModel(base.config(), overlay, base.rename(), base.tokenizer());
    }

    /** HF name → tensor of {@code model}'s checkpoint (as LlamaWeights converts it), {@code replaced} first. */
    static Function<String, Tensor> lookup(LlamaModel model, Map<String, Tensor> replaced) {
        Map<String, Tensor> cache = new HashMap<>();
        return name -> {
            Tensor r = replaced.get(name);
            if (r != null) return r;
            return cache.computeIfAbsent(name, n -> {
                Tensor t = model.weights().tensor(model.rename().apply(n));
                DType d = t.dtype();
                if (t.rank() == 1)
                    return MemoryScope.unscoped(() -> t.to(DType.F32).contiguous());
                return d == DType.F32 || d == DType.F16 || d == DType.BF16
                        ? t
                        : MemoryScope.unscoped(() -> t.to(DType.F32));
            });
        };
    }

    private static float[] floats(Tensor w) {
        return w.to(DType.F32).contiguous().toFloatArray();
    }

    private static Tensor ids(int[][] seqs, LlamaConfig c) {
        if (seqs.length == 0 || seqs[0].length < 2)
            throw new IllegalArgumentException("calibration needs at least one sequence of 2 or more tokens");
        int t = seqs[0].length;
        int[] flat = new int[seqs.length * t];
        for (int s = 0; s < seqs.length; s++) {
            if (seqs[s].length != t)
                throw new IllegalArgumentException(
                        "calibration sequences must have equal lengths: " + seqs[s].length + " vs " + t);
            for (int j = 0; j < t; j++) {
                int id = seqs[s][j];
                if (id < 0 || id >= c.vocab())
                    throw new IllegalArgumentException("calibration token " + id + " outside [0, " + c.vocab() + ")");
                flat[s * t + j] = id;
            }
        }
        if (t > c.maxSeq())
            throw new IllegalArgumentException("calibration sequences of " + t + " exceed the context " + c.maxSeq());
        return Tensor.of(flat, seqs.length, t);
    }
}
