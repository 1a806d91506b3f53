package dev.panthera.models.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.panthera.quant.gptq.GptqPacking;
import dev.panthera.quant.gptq.GptqWeight;
import dev.panthera.tensor.DType;
import java.io.IOException;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPTQ checkpoints in the layout transformers loads: config.json's {@code quantization_config} ({@code quant_method}
 * "gptq", {@code checkpoint_format} "gptq", bits, group_size, desc_act, sym) and, per quantized linear layer
 * {@code P}, the safetensors tensors {@code P.qweight} (I32 [in·bits/32, out]), {@code P.qzeros} (I32 [groups,
 * out·bits/32], zero − 1), {@code P.scales} (F16 [groups, out]), {@code P.g_idx} (I32 [in]) and optionally {@code
 * P.bias} (F16 [out]). The packing is {@link GptqPacking}'s. {@code checkpoint_format} "gptq_v2" (GPT-QModel's,
 * which transformers saves after quantizing through optimum) is read and written too: qzeros then hold the zero
 * points themselves.
 */
public final class GptqCheckpoint {
    private GptqCheckpoint() {}

    /** The {@code checkpoint_format} values read and written. */
    public static final String V1 = "gptq", V2 = "gptq_v2";

    private static final ValueLayout.OfInt I32 =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * The fields of {@code quantization_config} this layout needs; {@code format} is its {@code checkpoint_format},
     * "gptq" (v1) or "gptq_v2".
     */
    public record QuantConfig(int bits, int groupSize, boolean descAct, boolean sym, String format) {
        public QuantConfig {
            if (!V1.equals(format) && !V2.equals(format))
                throw new IllegalArgumentException(
                        "GPTQ checkpoint_format '" + format + "': '" + V1 + "' or '" + V2 + "'");
        }

        /** A v1 ("gptq") layout, the one AutoGPTQ wrote and every GPTQ loader reads. */
        public QuantConfig(int bits, int groupSize, boolean descAct, boolean sym) {
            this(bits, groupSize, descAct, sym, V1);
        }

        /** Whether qzeros hold the zero points themselves (gptq_v2) rather than zero − 1. */
        public boolean v2() {
            return V2.equals(format);
        }

        /** The JSON object transformers reads, with percdamp as GPTQ used it. */
        public String json(double dampPercent) {
            try {
                StringWriter s = new StringWriter();
                try (JsonGenerator g = new JsonFactory().createGenerator(s)) {
                    g.useDefaultPrettyPrinter();
                    g.writeStartObject();
                    g.writeStringField("quant_method", "gptq");
                    g.writeStringField("checkpoint_format", format);
                    g.writeNumberField("bits", bits);
                    g.writeNumberField("group_size", groupSize);
                    g.writeBooleanField("desc_act", descAct);
                    g.writeBooleanField("sym", sym);
                    g.writeNumberField("damp_percent", dampPercent);
                    g.writeBooleanField("true_sequential", false);
                    g.writeBooleanField("static_groups", false);
                    g.writeEndObject();
                }
                return s.toString();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A quantized linear layer as the checkpoint holds it. */
    public record Linear(GptqWeight weight, float[] bias) {}

    /**
     * The scalar fields (integers as Long, other numbers as Double, booleans, strings; nested values skipped) of a config.json's
     * {@code quantization_config}; absent, a {@link ModelFormatException} naming it.
     */
    public static Map<String, Object> quantizationConfig(Path configJson) throws IOException {
        Map<String, Object> q = null;
        try (JsonParser p = new JsonFactory().createParser(Files.readAllBytes(configJson))) {
            if (p.nextToken() != JsonToken.START_OBJECT)
                throw new ModelFormatException("config.json", "", "not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if (field.equals("quantization_config") && t == JsonToken.START_OBJECT) {
                    q = new LinkedHashMap<>();
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        JsonToken v = p.nextToken();
                        switch (v) {
                            case VALUE_NUMBER_INT -> q.put(k, p.getLongValue());
                            case VALUE_NUMBER_FLOAT -> q.put(k, p.getDoubleValue());
                            case VALUE_TRUE, VALUE_FALSE -> q.put(k, v == JsonToken.VALUE_TRUE);
                            case VALUE_STRING -> q.put(k, p.getText());
                            default -> p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        }
        if (q == null) throw new ModelFormatException("config.json", "quantization_config", "absent");
        return q;
    }

    /** Reads {@code quantization_config} from a config.json; anything but GPTQ v1 or v2 is refused by name. */
    public static QuantConfig readConfig(Path configJson) throws IOException {
        Map<String, Object> q = quantizationConfig(configJson);
        if (!"gptq".equals(q.get("quant_method")))
            throw new ModelFormatException(
                    "config.json", "quantization_config.quant_method", "'" + q.get("quant_method") + "', not 'gptq'");
        Object format = q.getOrDefault("checkpoint_format", V1);
        if (!V1.equals(format) && !V2.equals(format))
            throw new ModelFormatException(
                    "config.json",
                    "quantization_config.checkpoint_format",
                    "'" + format + "' (the layouts read are '" + V1 + "' and '" + V2 + "')");
        if (!(q.get("bits") instanceof Long bits) || !(q.get("group_size") instanceof Long group))
            throw new ModelFormatException(
                    "config.json", "quantization_config", "bits and group_size must be integers");
        boolean descAct = q.get("desc_act") instanceof Boolean b && b;
        boolean sym = !(q.get("sym") instanceof Boolean b) || b; // transformers' GPTQConfig defaults sym to true
        return new QuantConfig(Math.toIntExact(bits), Math.toIntExact(group), descAct, sym, (String) format);
    }

    /** Every quantized linear layer of {@code file} (prefix → layer), found by its {@code .qweight} tensor. */
    public static Map<String, Linear> read(SafetensorsFile file, QuantConfig c) throws ModelFormatException {
        Map<String, Linear> out = new LinkedHashMap<>();
        for (String name : file.names()) {
            if (!name.endsWith(".qweight")) continue;
            String p = name.substring(0, name.length() - ".qweight".length());
            out.put(p, readLayer(file, p, c));
        }
        return out;
    }

    /** The layer {@code p} ({@code p.qweight}, {@code p.qzeros}, {@code p.scales}, {@code p.g_idx}, {@code p.bias}). */
    public static Linear readLayer(SafetensorsFile file, String p, QuantConfig c) throws ModelFormatException {
        int[] qweight = ints(file, p + ".qweight", 2);
        int[] qzeros = ints(file, p + ".qzeros", 2);
        int[] gIdx = ints(file, p + ".g_idx", 1);
        long[] ss = shape(file, p + ".scales", DType.F16, 2);
        float[] scales = halves(file, p + ".scales");
        int outF = Math.toIntExact(ss[1]), inF = gIdx.length;
        long[] qs = file.shape(p + ".qweight");
        if (qs[1] != outF || qs[0] * 32 != (long) inF * c.bits())
            throw new ModelFormatException(
                    "GPTQ",
                    p + ".qweight",
                    "shape " + Arrays.toString(qs) + " does not fit " + inF + " inputs (g_idx) and " + outF
                            + " outputs (scales) at " + c.bits() + " bits");
        if (ss[0] != GptqWeight.groups(inF, c.groupSize()))
            throw new ModelFormatException(
                    "GPTQ",
                    p + ".scales",
                    ss[0] + " groups, but " + inF + " inputs in groups" + " of " + c.groupSize() + " make "
                            + GptqWeight.groups(inF, c.groupSize()));
        float[] bias = null;
        if (file.contains(p + ".bias")) {
            long[] bs = file.shape(p + ".bias");
            if (bs.length != 1 || bs[0] != outF)
                throw new ModelFormatException(
                        "GPTQ", p + ".bias", "shape " + Arrays.toString(bs) + ", [" + outF + "] expected");
            bias = file.entry(p + ".bias").dtype() == DType.F16
                    ? halves(file, p + ".bias")
                    : file.tensor(p + ".bias").to(DType.F32).toFloatArray();
        }
        GptqWeight w;
        try {
            w = c.v2()
                    ? GptqPacking.fromV2(p, outF, inF, c.bits(), c.groupSize(), c.sym(), qweight, qzeros, scales, gIdx)
                    : GptqPacking.fromV1(p, outF, inF, c.bits(), c.groupSize(), c.sym(), qweight, qzeros, scales, gIdx);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException("GPTQ", p, e.getMessage());
        }
        return new Linear(w, bias);
    }

    /**
     * Writes {@code layers} (prefix → layer) to a safetensors file; every layer must share the config's bits, group
     * size and sym. Float tensors that stay unquantized can be passed in {@code others}.
     */
    public static void write(Path path, QuantConfig c, Map<String, Linear> layers, List<SafetensorsWriter.Item> others)
            throws IOException {
        List<SafetensorsWriter.Item> items = new ArrayList<>(others);
        for (var e : layers.entrySet()) items.addAll(items(e.getKey(), e.getValue(), c));
        SafetensorsWriter.write(path, Map.of("format", "pt"), items);
    }

    /** The tensors of layer {@code p} in this layout. */
    public static List<SafetensorsWriter.Item> items(String p, Linear layer, QuantConfig c) {
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        GptqWeight w = layer.weight();
        if (w.bits() != c.bits() || w.groupSize() != c.groupSize() || w.sym() != c.sym())
            throw new IllegalArgumentException("GPTQ checkpoint: layer " + p + " is " + w + ", the config says "
                    + c.bits() + " bits, group " + c.groupSize() + (c.sym() ? ", sym" : ", asym"));
        int[] qweight = GptqPacking.qweight(w), qzeros = c.v2() ? GptqPacking.qzerosV2(w) : GptqPacking.qzerosV1(w);
        items.add(new SafetensorsWriter.Item(
                p + ".qweight", DType.I32, new long[] {(long) w.in() * w.bits() / 32, w.out()}, seg(qweight)));
        items.add(new SafetensorsWriter.Item(
                p + ".qzeros", DType.I32, new long[] {w.groups(), (long) w.out() * w.bits() / 32}, seg(qzeros)));
        items.add(new SafetensorsWriter.Item(
                p + ".scales", DType.F16, new long[] {w.groups(), w.out()}, halfSeg(w.scales())));
        items.add(new SafetensorsWriter.Item(p + ".g_idx", DType.I32, new long[] {w.in()}, seg(w.gIdx())));
        float[] bias = layer.bias();
        if (bias != null) {
            if (bias.length != w.out())
                throw new IllegalArgumentException("GPTQ checkpoint: bias of " + p + " has " + bias.length
                        + " values for " + w.out() + " outputs");
            items.add(new SafetensorsWriter.Item(p + ".bias", DType.F16, new long[] {w.out()}, halfSeg(bias)));
        }
        return items;
    }

    private static long[] shape(SafetensorsFile f, String name, DType dtype, int rank) throws ModelFormatException {
        SafetensorsFile.Entry e = f.entry(name);
        if (e.dtype() != dtype || e.shape().length != rank)
            throw new ModelFormatException(
                    "GPTQ",
                    name,
                    e.dtype() + " " + Arrays.toString(e.shape()) + ", a rank-" + rank + " " + dtype
                            + " tensor expected");
        return e.shape();
    }

    static int[] ints(SafetensorsFile f, String name, int rank) throws ModelFormatException {
        shape(f, name, DType.I32, rank);
        MemorySegment s = f.bytes(name);
        int[] v = new int[Math.toIntExact(s.byteSize() / 4)];
        for (int i = 0; i < v.length; i++) v[i] = s.get(I32, 4L * i);
        return v;
    }

    static float[] halves(SafetensorsFile f, String name) {
        MemorySegment s = f.bytes(name);
        float[] v = new float[Math.toIntExact(s.byteSize() / 2)];
        for (int i = 0; i < v.length; i++) v[i] = Float.float16ToFloat(s.get(F16, 2L * i));
        return v;
    }

    static MemorySegment seg(int[] v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 4]);
        for (int i = 0; i < v.length; i++) s.set(I32, 4L * i, v[i]);
        return s;
    }

    static MemorySegment halfSeg(float[] v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            short h = Float.floatToFloat16(v[i]);
            if (Float.float16ToFloat(h) != v[i] && !Float.isNaN(v[i]))
                throw new IllegalArgumentException("GPTQ checkpoint: " + v[i] + " is not a float16 value");
            s.set(F16, 2L * i, h);
        }
        return s;
    }
}
