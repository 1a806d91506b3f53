package dev.panthera.models.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.panthera.quant.gptq.GptqWeight;
import dev.panthera.quant.gptq.GwqWeight;
import dev.panthera.tensor.DType;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Panthera's GWQ checkpoint: a HuggingFace-style folder whose layers hold a low-bit dense part in the GPTQ layout and a
 * sparse set of 16-bit outliers. Version 1 of the layout:
 *
 * <ul>
 *   <li>config.json's {@code quantization_config}: {@code quant_method} "gwq", {@code format_version} 1, {@code bits}
 *       (2, 3, 4 or 8), {@code group_size} (32, 64, 128 or −1), {@code desc_act}, {@code sym}, {@code
 *       outlier_fraction} (the share of each weight kept in 16 bits, 0.01 in the paper) and {@code damp_percent};
 *   <li>model.safetensors, metadata {@code format} "pt" and {@code quant_method} "gwq"; for each quantized linear layer
 *       {@code P} (e.g. {@code model.layers.0.self_attn.q_proj}):
 *       <ul>
 *         <li>{@code P.qweight} I32 [in·bits/32, out], {@code P.qzeros} I32 [groups, out·bits/32] (zero − 1), {@code
 *             P.scales} F16 [groups, out], {@code P.g_idx} I32 [in], optionally {@code P.bias} F16 [out]: exactly
 *             {@link GptqCheckpoint}'s tensors (AutoGPTQ's v1 packing), the outlier positions holding whatever the
 *             grid gave them;
 *         <li>{@code P.outlier_idx} I32 [n]: the outliers' row-major positions {@code r·in + c} in the [out, in]
 *             weight, strictly ascending;
 *         <li>{@code P.outlier_val} F16 [n]: their values, which replace the dense value at those positions;
 *       </ul>
 *   <li>every other tensor (embeddings, norms, the head) as in the float checkpoint.
 * </ul>
 *
 * Weight [r, c] = outlier_val[i] where outlier_idx[i] = r·in + c, else scales[g, r]·(q[c, r] − zero[g, r]) with g =
 * g_idx[c]. A reader refuses, naming the tensor: a missing or mistyped tensor, counts that disagree, a position outside
 * the weight or out of order, a non-finite value.
 */
public final class GwqCheckpoint {
    private GwqCheckpoint() {}

    public static final int FORMAT_VERSION = 1;

    /** The GPTQ settings of the dense part and the outlier share. */
    public record Config(GptqCheckpoint.QuantConfig dense, double outlierFraction, double dampPercent) {
        /** The quantization_config object. */
        public String json() {
            try {
                StringWriter s = new StringWriter();
                try (JsonGenerator g = new JsonFactory().createGenerator(s)) {
                    g.useDefaultPrettyPrinter();
                    g.writeStartObject();
                    g.writeStringField("quant_method", "gwq");
                    g.writeNumberField("format_version", FORMAT_VERSION);
                    g.writeNumberField("bits", dense.bits());
                    g.writeNumberField("group_size", dense.groupSize());
                    g.writeBooleanField("desc_act", dense.descAct());
                    g.writeBooleanField("sym", dense.sym());
                    g.writeNumberField("outlier_fraction", outlierFraction);
                    g.writeNumberField("damp_percent", dampPercent);
                    g.writeEndObject();
                }
                return s.toString();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A GWQ layer and its bias (or null). */
    public record Layer(GwqWeight weight, float[] bias) {}

    /** Reads a GWQ {@code quantization_config}; another method or version is refused naming the field. */
    public static Config readConfig(Path configJson) throws IOException {
        Map<String, Object> q = GptqCheckpoint.quantizationConfig(configJson);
        if (!"gwq".equals(q.get("quant_method")))
            throw new ModelFormatException(
                    "config.json", "quantization_config.quant_method", "'" + q.get("quant_method") + "', not 'gwq'");
        if (!(q.get("format_version") instanceof Long v) || v != FORMAT_VERSION)
            throw new ModelFormatException(
                    "config.json",
                    "quantization_config.format_version",
                    q.get("format_version") + " (this reader knows version " + FORMAT_VERSION + ")");
        if (!(q.get("bits") instanceof Long bits) || !(q.get("group_size") instanceof Long group))
            throw new ModelFormatException(
                    "config.json", "quantization_config", "bits and group_size must be integers");
        boolean descAct = q.get("desc_act") instanceof Boolean b && b;
        boolean sym = q.get("sym") instanceof Boolean b && b;
        double fraction = q.get("outlier_fraction") instanceof Number n ? n.doubleValue() : Double.NaN;
        if (!(fraction >= 0 && fraction <= 1))
            throw new ModelFormatException(
                    "config.json",
                    "quantization_config.outlier_fraction",
                    q.get("outlier_fraction") + ", not in [0, 1]");
        double damp = q.get("damp_percent") instanceof Number n ? n.doubleValue() : 0.01;
        return new Config(
                new GptqCheckpoint.QuantConfig(Math.toIntExact(bits), Math.toIntExact(group), descAct, sym),
                fraction,
                damp);
    }

    /** Every GWQ layer of {@code file} (prefix → layer), found by its {@code .qweight} tensor. */
    public static Map<String, Layer> read(SafetensorsFile file, Config c) throws ModelFormatException {
        Map<String, Layer> out = new LinkedHashMap<>();
        for (String name : file.names()) {
            if (!name.endsWith(".qweight")) continue;
            String p = name.substring(0, name.length() - ".qweight".length());
            out.put(p, readLayer(file, p, c));
        }
        return out;
    }

    /** Layer {@code p}: its GPTQ tensors and its outliers. */
    public static Layer readLayer(SafetensorsFile file, String p, Config c) throws ModelFormatException {
        GptqCheckpoint.Linear dense = GptqCheckpoint.readLayer(file, p, c.dense());
        for (String t : new String[] {".outlier_idx", ".outlier_val"}) {
            if (!file.contains(p + t)) throw new ModelFormatException("GWQ", p + t, "absent");
        }
        SafetensorsFile.Entry ve = file.entry(p + ".outlier_val");
        if (ve.dtype() != DType.F16 || ve.shape().length != 1)
            throw new ModelFormatException(
                    "GWQ",
                    p + ".outlier_val",
                    ve.dtype() + " " + java.util.Arrays.toString(ve.shape()) + ", F16 [n] expected");
        int[] idx = GptqCheckpoint.ints(file, p + ".outlier_idx", 1);
        float[] val = GptqCheckpoint.halves(file, p + ".outlier_val");
        if (idx.length != val.length)
            throw new ModelFormatException(
                    "GWQ", p + ".outlier_val", val.length + " values for " + idx.length + " positions (outlier_idx)");
        for (int i = 0; i < val.length; i++) {
            if (!Float.isFinite(val[i]))
                throw new ModelFormatException("GWQ", p + ".outlier_val", "value [" + i + "] is " + val[i]);
        }
        try {
            return new Layer(new GwqWeight(dense.weight(), idx, val), dense.bias());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException("GWQ", p + ".outlier_idx", e.getMessage());
        }
    }

    /** The tensors of layer {@code p}. */
    public static List<SafetensorsWriter.Item> items(String p, Layer layer, Config c) {
        GwqWeight w = layer.weight();
        GptqWeight d = w.dense();
        List<SafetensorsWriter.Item> items =
                new ArrayList<>(GptqCheckpoint.items(p, new GptqCheckpoint.Linear(d, layer.bias()), c.dense()));
        int n = w.outlierIndex().length;
        items.add(new SafetensorsWriter.Item(
                p + ".outlier_idx", DType.I32, new long[] {n}, GptqCheckpoint.seg(w.outlierIndex())));
        items.add(new SafetensorsWriter.Item(
                p + ".outlier_val", DType.F16, new long[] {n}, GptqCheckpoint.halfSeg(w.outlierValue())));
        return items;
    }

    /** Writes {@code layers} and the unquantized {@code others} as model.safetensors of this layout. */
    public static void write(Path path, Config c, Map<String, Layer> layers, List<SafetensorsWriter.Item> others)
            throws IOException {
        List<SafetensorsWriter.Item> items = new ArrayList<>(others);
        for (var e : layers.entrySet()) items.addAll(items(e.getKey(), e.getValue(), c));
        SafetensorsWriter.write(path, Map.of("format", "pt", "quant_method", "gwq"), items);
    }
}
