package dev.panthera.models.qlora;

import dev.panthera.models.io.ModelFormatException;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.models.peft.AdapterConfigJson;
import dev.panthera.nn.Module;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.quant.qlora.Linear4bit;
import dev.panthera.quant.qlora.QLora;
import dev.panthera.quant.qlora.QLoraLinear;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A QLoRA checkpoint as transformers and peft lay it out: a directory with {@code config.json} (a Llama config with a
 * bitsandbytes 4-bit {@code quantization_config}, {@link BnbConfigJson}) and {@code model.safetensors} (the 4-bit
 * linear layers in {@link Bnb4Safetensors}' layout, the rest in float), and a peft adapter directory
 * ({@code adapter_config.json}, {@code adapter_model.safetensors}). The base loads into nn's {@link CausalLm} with
 * {@link Linear4bit} layers that stay packed; the adapter goes on top as {@link QLoraLinear}s.
 */
public final class QLoraCheckpoint {
    private QLoraCheckpoint() {}

    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String ADAPTER_WEIGHTS = "adapter_model.safetensors";
    public static final String ADAPTER_CONFIG = "adapter_config.json";

    /** Loads the 4-bit base in {@code dir}; every layer the file stores in 4 bits becomes a {@link Linear4bit}. */
    public static CausalLm loadBase(Path dir) throws IOException {
        BnbConfigJson.Config cfg = BnbConfigJson.read(dir.resolve(CONFIG));
        CausalLm model = new CausalLm(cfg.decoder(), new SplittableRandom(0));
        FourBitCode code = cfg.quantization().quantType().equals("nf4") ? FourBitCode.NF4 : FourBitCode.FP4;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(WEIGHTS))) {
            Set<String> quantized = new LinkedHashSet<>(Bnb4Safetensors.layers(f));
            Set<String> placed = new LinkedHashSet<>();
            for (var e : new ArrayList<>(model.namedModules().entrySet())) {
                String path = e.getKey();
                if (!(e.getValue() instanceof Linear lin) || !quantized.contains(path)) continue;
                Bnb4Safetensors.Read r = Bnb4Safetensors.read(f, path);
                if (r.out() != lin.outFeatures() || r.in() != lin.inFeatures())
                    throw bad(
                            path + ".weight",
                            "shape [" + r.out() + ", " + r.in() + "] but the config makes it [" + lin.outFeatures()
                                    + ", " + lin.inFeatures() + "]");
                if (r.weight().code() != code
                        || (r.weight().nested() != null) != cfg.quantization().doubleQuant())
                    throw bad(
                            path + ".weight",
                            r.weight().code() + (r.weight().nested() != null ? " nested" : "")
                                    + " disagrees with quantization_config (" + cfg.quantization() + ")");
                Tensor bias = f.contains(path + ".bias") ? Tensor.zeros(lin.outFeatures()) : null;
                parent(model, path).replaceChild(leaf(path), new Linear4bit(r.weight(), r.out(), r.in(), bias));
                placed.add(path);
            }
            quantized.removeAll(placed);
            if (!quantized.isEmpty()) throw bad("(4-bit layers)", "no Linear of the model is named " + quantized);
            Map<String, Tensor> rest = new HashMap<>();
            for (String k : f.names()) {
                if (placed.stream().noneMatch(p -> k.startsWith(p + ".weight"))) rest.put(k, f.tensor(k));
            }
            model.loadStateDict(rest, true);
        }
        model.freeze();
        return model;
    }

    /**
     * Writes {@code model}'s base (4-bit layers in bitsandbytes' layout, adapter weights left out) and a config.json
     * with {@code quantization} into {@code dir}.
     */
    public static void saveBase(Path dir, CausalLm model, BnbConfigJson.Quantization quantization) throws IOException {
        Files.createDirectories(dir);
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        List<String> fourBitPrefixes = new ArrayList<>();
        for (var e : model.namedModules().entrySet()) {
            if (!(e.getValue() instanceof Linear4bit l)) continue;
            String path = e.getKey();
            String name = path.endsWith(".base_layer") && parent(model, path) instanceof QLoraLinear
                    ? path.substring(0, path.length() - ".base_layer".length())
                    : path;
            items.addAll(Bnb4Safetensors.items(name, l.weight(), l.outFeatures(), l.inFeatures(), "float32"));
            if (l.bias() != null)
                items.add(SafetensorsWriter.Item.of(name + ".bias", l.bias().contiguous()));
            fourBitPrefixes.add(path + ".");
        }
        for (var e : model.stateDict().entrySet()) {
            String k = e.getKey();
            if (fourBitPrefixes.stream().anyMatch(k::startsWith) || isAdapterKey(k)) continue;
            items.add(SafetensorsWriter.Item.of(k, e.getValue().contiguous()));
        }
        SafetensorsWriter.write(dir.resolve(WEIGHTS), Map.of("format", "pt"), items);
        BnbConfigJson.write(dir.resolve(CONFIG), model.config(), quantization);
    }

    private static boolean isAdapterKey(String k) {
        return k.contains(".lora_A.") || k.contains(".lora_B.") || k.contains(".lora_dropout.");
    }

    /** Writes adapter {@code name} of a QLoRA model as peft's save_pretrained does. */
    public static void saveAdapter(Path dir, Module model, String name, LoraConfig config) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> weights = QLora.adapterStateDict(model, name);
        if (weights.isEmpty())
            throw new IllegalArgumentException("QLoraCheckpoint.saveAdapter: the model has no adapter '" + name + "'");
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (var e : weights.entrySet())
            items.add(SafetensorsWriter.Item.of(e.getKey(), e.getValue().contiguous()));
        SafetensorsWriter.write(dir.resolve(ADAPTER_WEIGHTS), Map.of("format", "pt"), items);
        AdapterConfigJson.write(
                dir.resolve(ADAPTER_CONFIG), config, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
    }

    /**
     * Adds the peft LoRA adapter in {@code dir} to a model whose base is 4-bit, as adapter {@code name}: the config's
     * targets get {@link QLoraLinear}s, every weight is copied in (missing, unexpected or mis-shaped keys fail, all
     * listed). With {@code trainable} the adapter's A and B require grad; without, the model is frozen and in eval
     * mode (dropout off), as peft's from_pretrained leaves it.
     */
    public static LoraConfig loadAdapter(Path dir, Module model, String name, boolean trainable) throws IOException {
        LoraConfig config = AdapterConfigJson.read(dir.resolve(ADAPTER_CONFIG));
        if (!config.modulesToSave().isEmpty())
            throw new IOException("QLoraCheckpoint.loadAdapter " + dir + ": modules_to_save is not supported over a"
                    + " 4-bit base: " + config.modulesToSave());
        QLora.apply(model, config, name);
        Map<String, Tensor> own = new LinkedHashMap<>(QLora.adapterStateDict(model, name));
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(ADAPTER_WEIGHTS))) {
            List<String> problems = new ArrayList<>();
            for (var e : own.entrySet()) {
                if (!file.contains(e.getKey())) problems.add("missing " + e.getKey());
                else if (!Arrays.equals(file.shape(e.getKey()), e.getValue().dims()))
                    problems.add("size mismatch " + e.getKey() + ": file " + Arrays.toString(file.shape(e.getKey()))
                            + " vs model " + e.getValue().shape());
            }
            for (String k : file.names()) if (!own.containsKey(k)) problems.add("unexpected " + k);
            if (!problems.isEmpty()) throw new IOException("QLoraCheckpoint.loadAdapter " + dir + ": " + problems);
            try (var _ = Autograd.noGrad()) {
                for (var e : own.entrySet()) e.getValue().copy_(file.tensor(e.getKey()));
            }
        }
        if (!trainable) {
            model.freeze();
            model.eval();
        }
        return config;
    }

    private static Module parent(Module model, String path) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? model : model.namedModules().get(path.substring(0, dot));
    }

    private static String leaf(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }

    private static ModelFormatException bad(String field, String why) {
        return new ModelFormatException("bitsandbytes 4-bit", field, why);
    }
}
