package dev.panthera.models.llama;

import dev.panthera.nn.Module;
import dev.panthera.quant.Int4Weight;
import dev.panthera.quant.Int8Weight;
import dev.panthera.quant.QuantizedLinear;
import dev.panthera.quant.SmoothQuant;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link LinearMaker}s that run a Llama's block projections in the formats GGUF does not hold, by round-to-nearest:
 * int8 per output channel (weight-only or W8A8), group-wise int4, NF4 (block 64, double-quantized absmax); and
 * SmoothQuant's W8A8 after calibration. The head and the token table stay in float, as bitsandbytes and SmoothQuant
 * leave them; a projection whose rows an int4 group size does not divide stays in float too.
 */
public final class LlamaQuantizers {
    private LlamaQuantizers() {}

    private static final Pattern BLOCK =
            Pattern.compile("model\\.layers\\.(\\d+)\\.(self_attn|mlp)\\.(\\w+)_proj\\.weight");

    /** True for a projection inside a decoder block (not the head). */
    static boolean inBlock(String name) {
        return BLOCK.matcher(name).matches();
    }

    /** Int8 per output channel, weight-only: activations stay F32. */
    public static LinearMaker int8() {
        return (name, w, out, in, bias) ->
                inBlock(name) ? QuantizedLinear.of(Int8Weight.quantize(name, w, out, in), bias) : null;
    }

    /** W8A8: int8 weights per output channel, activations int8 per token at run time. */
    public static LinearMaker w8a8() {
        return (name, w, out, in, bias) ->
                inBlock(name) ? QuantizedLinear.w8a8(Int8Weight.quantize(name, w, out, in), bias) : null;
    }

    /** Asymmetric int4 in groups of {@code group} (32, 64 or 128). */
    public static LinearMaker int4(int group) {
        return (name, w, out, in, bias) -> inBlock(name) && in % group == 0
                ? QuantizedLinear.of(Int4Weight.quantize(name, w, out, in, group), bias)
                : null;
    }

    /** bitsandbytes NF4, block 64, absmax double-quantized (QLoRA's storage). */
    public static LinearMaker nf4() {
        return (name, w, out, in, bias) -> inBlock(name)
                ? QuantizedLinear.of(Bnb4Bit.quantize(w, FourBitCode.NF4, 64, true), out, in, bias)
                : null;
    }

    /**
     * SmoothQuant statistics of one model: per layer, max|x| per channel at the attention input (after
     * input_layernorm, shared by q, k and v) and at the MLP input (after post_attention_layernorm, shared by gate and
     * up), and the column maxima of those weights.
     */
    public record Calibration(Map<String, float[]> activationMax, Map<String, float[]> weightMax) {
        /** s for the input named {@code "<layer>.attn"} or {@code "<layer>.mlp"}. */
        float[] factors(String input, double alpha) {
            float[] a = activationMax.get(input), w = weightMax.get(input);
            if (a == null || w == null)
                throw new IllegalArgumentException("SmoothQuant: no calibration statistics for " + input);
            return SmoothQuant.factors(a, w, alpha);
        }
    }

    /** "<layer>.attn" for q/k/v, "<layer>.mlp" for gate/up, null for o/down (no norm precedes them). */
    private static String smoothedInput(String name) {
        Matcher m = BLOCK.matcher(name);
        if (!m.matches()) return null;
        return switch (m.group(3)) {
            case "q", "k", "v" -> m.group(1) + ".attn";
            case "gate", "up" -> m.group(1) + ".mlp";
            default -> null;
        };
    }

    /** "<layer>.attn" for input_layernorm, "<layer>.mlp" for post_attention_layernorm, else null. */
    private static String normInput(String name) {
        Matcher m = Pattern.compile("model\\.layers\\.(\\d+)\\.(input|post_attention)_layernorm\\.weight")
                .matcher(name);
        return m.matches() ? m.group(1) + (m.group(2).equals("input") ? ".attn" : ".mlp") : null;
    }

    /** A float layer y = x·Wᵀ + b. */
    static Module dense(float[] w, int out, int in, Tensor bias) {
        Tensor wt = MemoryScope.unscoped(() -> Tensor.of(w, out, in));
        return new Module() {
            @Override
            public Tensor forward(Tensor x) {
                Tensor y = x.matmul(wt.t());
                return bias == null ? y : y.add(bias);
            }
        };
    }

    /**
     * Runs {@code sequences} through the float model at {@code path} and records SmoothQuant's statistics at every
     * smoothable input (the sequences are calibration text: not the text later evaluated).
     */
    public static Calibration calibrate(Path path, Path tokenizer, int[][] sequences) throws IOException {
        Map<String, SmoothQuant.ChannelMax> acts = new HashMap<>();
        Map<String, float[]> weights = new HashMap<>();
        LinearMaker recorder = (name, w, out, in, bias) -> {
            String input = smoothedInput(name);
            if (input == null) return null;
            SmoothQuant.ChannelMax cm = acts.computeIfAbsent(input, k -> new SmoothQuant.ChannelMax(in));
            weights.merge(input, SmoothQuant.columnAbsMax(w, out, in), SmoothQuant::max);
            Module inner = dense(w, out, in, bias);
            return new Module() {
                @Override
                public Tensor forward(Tensor x) {
                    cm.observe(x);
                    return inner.forward(x);
                }
            };
        };
        try (LlamaModel m = LlamaModel.load(path, tokenizer, recorder);
                var ng = Autograd.noGrad()) {
            for (int[] s : sequences) {
                if (s.length == 0) continue;
                if (s.length > m.config().maxSeq())
                    throw new IllegalArgumentException("SmoothQuant calibration: a sequence of " + s.length
                            + " tokens exceeds the context of " + m.config().maxSeq());
                try (var scope = MemoryScope.open()) {
                    m.forward(Tensor.of(s, 1, s.length));
                }
            }
        }
        if (acts.isEmpty()) throw new IllegalArgumentException("SmoothQuant calibration: no tokens to calibrate on");
        Map<String, float[]> a = new HashMap<>();
        acts.forEach((k, v) -> a.put(k, v.values()));
        return new Calibration(a, weights);
    }

    /**
     * The model with SmoothQuant folded in (norm weights divided by s, q/k/v and gate/up columns multiplied by s) and
     * every block projection in W8A8, or, with {@code quantize} false, the folded model in float (equal to the
     * original up to rounding: the check that the folding is right).
     */
    public static LinearMaker smoothQuant(Calibration cal, double alpha, boolean quantize) {
        Map<String, float[]> s = new HashMap<>();
        return new LinearMaker() {
            private float[] factors(String input) {
                return s.computeIfAbsent(input, k -> cal.factors(k, alpha));
            }

            @Override
            public Module linear(String name, float[] w, int out, int in, Tensor bias) {
                if (!inBlock(name)) return null;
                String input = smoothedInput(name);
                float[] ws = w;
                if (input != null) {
                    ws = w.clone();
                    SmoothQuant.scaleColumns(ws, out, in, factors(input));
                }
                return quantize
                        ? QuantizedLinear.w8a8(Int8Weight.quantize(name, ws, out, in), bias)
                        : dense(ws, out, in, bias);
            }

            @Override
            public float[] vector(String name, float[] v) {
                String input = normInput(name);
                return input == null ? v : SmoothQuant.divide(v, factors(input));
            }
        };
    }
}
