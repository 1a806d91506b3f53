package dev.panthera.models.llama;

import dev.panthera.models.io.GptqCheckpoint;
import dev.panthera.models.io.GwqCheckpoint;
import dev.panthera.models.io.ModelFormatException;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.qlora.Bnb4Safetensors;
import dev.panthera.nn.Module;
import dev.panthera.quant.QuantizedLinear;
import dev.panthera.quant.gptq.GptqInt4;
import dev.panthera.quant.gptq.GwqInt4;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Runs a Llama-family HuggingFace folder whose projections are stored quantized, with each layer kept in its stored
 * form: a GPTQ checkpoint (transformers' layout, 4 bits: {@link GptqInt4} through the GPTQ matmul), a GWQ checkpoint
 * ({@link GwqCheckpoint}, 4-bit dense part plus outliers) or a bitsandbytes 4-bit checkpoint (NF4/FP4, transformers'
 * layout). The method comes from config.json's {@code quantization_config.quant_method}; every other tensor loads as
 * usual. A quantized layer the model does not use, or one whose shape disagrees with the config, is refused by name.
 */
public final class QuantizedCheckpoint {
    private QuantizedCheckpoint() {}

    /** Loads {@code dir} (one model.safetensors) with its quantized layers as {@link QuantizedLinear}s. */
    public static LlamaModel load(Path dir) throws IOException {
        Path config = dir.resolve("config.json"), weights = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(config)) throw new IllegalArgumentException(dir + ": no config.json in this folder");
        if (!Files.isRegularFile(weights))
            throw new IllegalArgumentException(dir + ": no model.safetensors (quantized checkpoints are one file)");
        Object method = GptqCheckpoint.quantizationConfig(config).get("quant_method");
        Map<String, Function<Tensor, Module>> layers = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            switch (String.valueOf(method)) {
                case "gptq" -> {
                    var c = GptqCheckpoint.readConfig(config);
                    if (c.bits() != 4)
                        throw new ModelFormatException(
                                "config.json", "quantization_config.bits", c.bits() + " (the GPTQ kernel runs 4 bits)");
                    for (var e : GptqCheckpoint.read(f, c).entrySet()) {
                        GptqInt4 w = GptqInt4.of(e.getValue().weight());
                        layers.put(e.getKey(), bias -> QuantizedLinear.of(w, bias));
                        shapes.put(e.getKey(), new long[] {w.out(), w.in()});
                    }
                }
                case "gwq" -> {
                    var c = GwqCheckpoint.readConfig(config);
                    if (c.dense().bits() != 4)
                        throw new ModelFormatException(
                                "config.json",
                                "quantization_config.bits",
                                c.dense().bits() + " (the GWQ layer runs a 4-bit dense part)");
                    for (var e : GwqCheckpoint.read(f, c).entrySet()) {
                        GwqInt4 w = GwqInt4.of(e.getValue().weight());
                        layers.put(e.getKey(), bias -> QuantizedLinear.of(w, bias));
                        shapes.put(
                                e.getKey(),
                                new long[] {w.dense().out(), w.dense().in()});
                    }
                }
                case "bitsandbytes" -> {
                    for (String p : Bnb4Safetensors.layers(f)) {
                        var r = Bnb4Safetensors.read(f, p);
                        int out = Math.toIntExact(r.out()), in = Math.toIntExact(r.in());
                        layers.put(p, bias -> QuantizedLinear.of(r.weight(), out, in, bias));
                        shapes.put(p, new long[] {r.out(), r.in()});
                    }
                }
                default ->
                    throw new ModelFormatException(
                            "config.json",
                            "quantization_config.quant_method",
                            "'" + method + "' (read: gptq, gwq, bitsandbytes)");
            }
        }
        Set<String> unused = new LinkedHashSet<>(layers.keySet());
        LinearMaker maker = new LinearMaker() {
            @Override
            public Module linear(String name, float[] w, int out, int in, Tensor bias) {
                return null;
            }

            @Override
            public Module stored(String name, int out, int in, Tensor bias) {
                String p = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : name;
                Function<Tensor, Module> make = layers.get(p);
                if (make == null) return null;
                long[] s = shapes.get(p);
                if (s[0] != out || s[1] != in)
                    throw new IllegalArgumentException("quantized checkpoint: layer '" + p + "' is [" + s[0] + ", "
                            + s[1] + "], the config needs [" + out + ", " + in + "]");
                unused.remove(p);
                return make.apply(bias);
            }
        };
        LlamaModel m = LlamaModel.load(dir, null, maker);
        if (!unused.isEmpty()) {
            m.close();
            throw new IllegalArgumentException(
                    "quantized checkpoint " + dir + ": layers " + unused + " are not projections of the model");
        }
        return m;
    }
}
