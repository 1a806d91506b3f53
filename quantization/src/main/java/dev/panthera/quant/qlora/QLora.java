package dev.panthera.quant.qlora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prepares a model for QLoRA the way transformers' bitsandbytes 4-bit loading and peft's {@code get_peft_model} do
 * together: every nn {@link Linear} except the skipped ones (by default {@code lm_head}, as transformers keeps the
 * output layer in full precision) becomes a frozen {@link Linear4bit}; LoRA adapters then wrap the targeted 4-bit
 * layers ({@link QLoraLinear}); the model is frozen except the active adapter's A and B.
 */
public final class QLora {
    private QLora() {}

    /** The modules transformers leaves unquantized by default. */
    public static final List<String> DEFAULT_SKIP = List.of("lm_head");

    /**
     * Replaces every Linear of {@code model} whose dotted name does not end with an entry of {@code skip} by a
     * {@link Linear4bit} of its weight; returns the names replaced.
     */
    public static List<String> quantize(
            Module model, FourBitCode code, int blockSize, boolean doubleQuant, List<String> skip) {
        List<String> done = new ArrayList<>();
        for (var e : new ArrayList<>(model.namedModules().entrySet())) {
            String path = e.getKey();
            if (!(e.getValue() instanceof Linear lin) || path.isEmpty() || insideLora(path, model)) continue;
            if (skip.stream().anyMatch(s -> path.equals(s) || path.endsWith("." + s))) continue;
            parentOf(model, path).replaceChild(leaf(path), Linear4bit.quantize(lin, code, blockSize, doubleQuant));
            done.add(path);
        }
        if (done.isEmpty()) throw new IllegalArgumentException("QLora.quantize: the model has no Linear to quantize");
        return done;
    }

    private static boolean insideLora(String path, Module model) {
        for (var e : layers(model).keySet()) if (path.startsWith(e + ".")) return true;
        return false;
    }

    /**
     * Adds adapter {@code name} to every 4-bit layer whose dotted name the config targets (wrapping it on first use),
     * activates it everywhere, freezes the model and unfreezes that adapter's weights.
     *
     * @return the names of the layers adapted
     */
    public static List<String> apply(Module model, LoraConfig config, String name) {
        if (config.useDora())
            throw new IllegalArgumentException(
                    "QLora.apply: DoRA (use_dora) over a 4-bit base is not supported; it would train plain LoRA");
        List<String> done = new ArrayList<>();
        for (var e : new ArrayList<>(model.namedModules().entrySet())) {
            String path = e.getKey();
            if (path.isEmpty() || !config.matches(path)) continue;
            QLoraLinear q;
            if (e.getValue() instanceof QLoraLinear l) q = l;
            else if (e.getValue() instanceof Linear4bit b && !(parentOf(model, path) instanceof QLoraLinear)) {
                q = new QLoraLinear(b);
                parentOf(model, path).replaceChild(leaf(path), q);
            } else continue;
            q.addAdapter(
                    name,
                    config.rankFor(path),
                    config.scalingFor(path),
                    config.dropout(),
                    config.init(),
                    config.seed() + path.hashCode() * 31L);
            done.add(path);
        }
        if (done.isEmpty())
            throw new IllegalArgumentException("QLora.apply: no 4-bit layer matched the target modules of " + config);
        setActive(model, name);
        return done;
    }

    /** {@link #quantize} with {@link #DEFAULT_SKIP}, then {@link #apply}: QLoRA's usual set-up in one call. */
    public static List<String> prepare(
            Module model, FourBitCode code, int blockSize, boolean doubleQuant, LoraConfig config, String name) {
        quantize(model, code, blockSize, doubleQuant, DEFAULT_SKIP);
        return apply(model, config, name);
    }

    /** Activates adapter {@code name} on every QLoRA layer, freezes the model and unfreezes that adapter only. */
    public static void setActive(Module model, String name) {
        Map<String, QLoraLinear> layers = layers(model);
        if (layers.values().stream().noneMatch(l -> l.hasAdapter(name)))
            throw new IllegalArgumentException("QLora.setActive: no layer has adapter '" + name + "'");
        model.freeze();
        for (QLoraLinear l : layers.values()) {
            l.setActive(name);
            if (l.hasAdapter(name)) {
                l.loraA(name).weight().requiresGrad(true);
                l.loraB(name).weight().requiresGrad(true);
            }
        }
    }

    /** Every QLoRA layer of the model by dotted name. */
    public static Map<String, QLoraLinear> layers(Module model) {
        Map<String, QLoraLinear> out = new LinkedHashMap<>();
        for (var e : model.namedModules().entrySet()) if (e.getValue() instanceof QLoraLinear l) out.put(e.getKey(), l);
        return out;
    }

    /** Every 4-bit layer of the model (wrapped or not) by dotted name. */
    public static Map<String, Linear4bit> fourBitLayers(Module model) {
        Map<String, Linear4bit> out = new LinkedHashMap<>();
        for (var e : model.namedModules().entrySet()) if (e.getValue() instanceof Linear4bit l) out.put(e.getKey(), l);
        return out;
    }

    /**
     * Adapter {@code name}'s weights under peft's saved names, {@code base_model.model.<path>.lora_A.weight} and
     * {@code .lora_B.weight}, as {@code Lora.adapterStateDict} gives them for float layers.
     */
    public static Map<String, Tensor> adapterStateDict(Module model, String name) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : layers(model).entrySet()) {
            if (!e.getValue().hasAdapter(name)) continue;
            out.put(
                    "base_model.model." + e.getKey() + ".lora_A.weight",
                    e.getValue().loraA(name).weight());
            out.put(
                    "base_model.model." + e.getKey() + ".lora_B.weight",
                    e.getValue().loraB(name).weight());
        }
        return out;
    }

    /**
     * peft's merge_and_unload over a 4-bit base: each QLoRA layer is replaced by a layer holding W_dq + scaling·B·A
     * of its active adapter (or W_dq alone when it has none), a float {@link Linear} when {@code requantize} is null,
     * else a {@link Linear4bit} quantized again with that code, block size 64 and double quantization.
     */
    public static void mergeAndUnload(Module model, FourBitCode requantize) {
        for (var e : layers(model).entrySet()) {
            QLoraLinear l = e.getValue();
            String a = l.activeAdapter();
            Module merged;
            if (a != null && l.hasAdapter(a)) {
                merged = requantize == null ? l.mergeToLinear(a) : l.mergeToLinear4bit(a, requantize, 64, true);
            } else if (requantize == null) {
                merged = dequantized(l.base());
            } else merged = l.base();
            parentOf(model, e.getKey()).replaceChild(leaf(e.getKey()), merged);
        }
    }

    private static Linear dequantized(Linear4bit b) {
        Linear l = new Linear(b.inFeatures(), b.outFeatures(), b.bias() != null, new java.util.SplittableRandom(0));
        try (var _ = dev.panthera.tensor.Autograd.noGrad()) {
            l.weight().copy_(b.dequantizedWeight());
            if (b.bias() != null) l.bias().copy_(b.bias());
        }
        return l;
    }

    static Module parentOf(Module model, String path) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? model : model.namedModules().get(path.substring(0, dot));
    }

    static String leaf(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }
}
