package dev.panthera.models.llama;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.panthera.models.io.GptqCheckpoint;
import dev.panthera.models.io.GwqCheckpoint;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.models.io.Weights;
import dev.panthera.models.qlora.Bnb4Safetensors;
import dev.panthera.models.qlora.BnbConfigJson;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.quant.gptq.GptqConfig;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Writes a Llama-family HuggingFace folder as a folder of the same model with its decoder projections (q/k/v/o,
 * gate/up/down of every layer) quantized, in a layout {@link QuantizedCheckpoint} runs: bitsandbytes NF4 (block 64,
 * double-quantized absmax, transformers' 4-bit safetensors layout), GPTQ (transformers' v1 layout) or GWQ
 * ({@link GwqCheckpoint}). The token table, the norms and the head stay as they are; config.json is the input's
 * with {@code quantization_config} set; tokenizer files are copied. GPTQ and GWQ run {@link LlamaQuantizer} on
 * calibration sequences: given ones, or by default 8 sequences of 64 tokens sampled from the float model itself
 * (temperature 1, from BOS, fixed seeds), a data-free stand-in that needs no text.
 *
 * <p>These layouts are transformers', which keep q/k in HuggingFace's half-split RoPE order and take the config from
 * config.json; a GGUF file or a llama2.c checkpoint is first written as a float HuggingFace folder by
 * {@link HfStaging} (q/k rows back in half-split order, a SentencePiece vocabulary as tokenizer.model) in a temporary
 * folder beside the output, which is converted as any other and then deleted.
 */
public final class QuantizedConvert {
    private QuantizedConvert() {}

    /** The layouts written. */
    public enum Kind {
        NF4,
        GPTQ,
        GWQ
    }

    /**
     * @param kind the layout
     * @param bits GPTQ/GWQ bits (2, 3, 4 or 8; the loader runs 4)
     * @param groupSize GPTQ/GWQ group size (32, 64, 128, or −1)
     * @param actOrder GPTQ's act-order (desc_act)
     * @param outlierFraction GWQ's share of weights kept in 16 bits
     * @param calibration a token stream cut into sequences of {@code calibrationLength} (at most the context; a
     *     shorter stream is one sequence), or null for the self-generated default
     * @param calibrationLength tokens per calibration sequence
     */
    public record Options(
            Kind kind,
            int bits,
            int groupSize,
            boolean actOrder,
            double outlierFraction,
            int[] calibration,
            int calibrationLength) {
        public Options {
            if (calibrationLength < 2)
                throw new IllegalArgumentException(
                        "convert: calibration sequences need 2 or more tokens, got a length of " + calibrationLength);
            if (calibration != null && calibration.length < 2)
                throw new IllegalArgumentException("convert: the calibration file holds " + calibration.length
                        + " token(s); GPTQ needs at least 2 (one next-token pair)");
        }

        public static Options of(Kind kind) {
            return new Options(kind, 4, 128, false, 0.01, null, 128);
        }
    }

    /** The calibration stream cut into sequences of min(length, context) tokens; the remainder is dropped. */
    static int[][] sequences(int[] ids, int length, int context) {
        int len = Math.min(Math.min(length, context), ids.length);
        int[][] s = new int[ids.length / len][];
        for (int i = 0; i < s.length; i++) s[i] = java.util.Arrays.copyOfRange(ids, i * len, (i + 1) * len);
        return s;
    }

    /** Default calibration: sequences and their length. */
    static final int DEFAULT_SEQUENCES = 8, DEFAULT_LENGTH = 64;

    private static final String[] COPIED = {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "tokenizer.model",
        "generation_config.json"
    };

    public static void convert(Path model, Path out, Options o) throws IOException {
        convert(model, null, false, out, o);
    }

    /**
     * As {@link #convert(Path, Path, Options)}, also from a GGUF file or a llama2.c checkpoint (see {@link HfStaging}
     * for {@code tokenizer} and {@code allowRequantize}).
     *
     * @return what was done about the tokenizer (for a GGUF or llama2.c input), or null for a HuggingFace folder
     */
    public static String convert(Path model, Path tokenizer, boolean allowRequantize, Path out, Options o)
            throws IOException {
        String what = "convert --type " + o.kind().name().toLowerCase(java.util.Locale.ROOT);
        if (!Files.exists(model)) throw new NoSuchFileException(model.toString(), null, "no such file or folder");
        if (!Files.isDirectory(model)) {
            if (!isGguf(model) && !model.getFileName().toString().endsWith(".bin"))
                throw new IllegalArgumentException(what + ": " + model + " is not a model (expected a HuggingFace"
                        + " folder, a .gguf file or a llama2.c .bin checkpoint)");
            checkOutput(model, out);
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path staged = Files.createTempDirectory(parent, ".convert-");
            try {
                String note = HfStaging.write(model, tokenizer, allowRequantize, what, staged)
                        .tokenizerNote();
                convert(staged, out, o);
                return note;
            } finally {
                deleteTree(staged);
            }
        }
        if (tokenizer != null)
            throw new IllegalArgumentException(what + ": --tokenizer applies to a llama2.c input; the HuggingFace"
                    + " folder " + model + " carries its own tokenizer files");
        if (!Files.isRegularFile(model.resolve("config.json")))
            throw new IllegalArgumentException(what + ": " + model
                    + " is not a HuggingFace folder (config.json + safetensors), a GGUF file or a llama2.c checkpoint");
        convertFolder(model, out, o);
        return null;
    }

    private static boolean isGguf(Path p) throws IOException {
        try (var in = Files.newInputStream(p)) {
            byte[] m = in.readNBytes(4);
            return m.length == 4 && new String(m, java.nio.charset.StandardCharsets.US_ASCII).equals("GGUF");
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private static void checkOutput(Path model, Path out) throws IOException {
        if (Files.exists(out)) {
            if (Files.isSameFile(model, out))
                throw new IllegalArgumentException("convert: the output " + out + " is the input model");
            if (!Files.isDirectory(out))
                throw new IllegalArgumentException("convert: the output " + out + " exists and is not a folder");
            try (var s = Files.list(out)) {
                if (s.findAny().isPresent())
                    throw new IllegalArgumentException("convert: the output folder " + out + " is not empty");
            }
        }
    }

    private static void convertFolder(Path model, Path out, Options o) throws IOException {
        checkOutput(model, out);
        GptqConfig gc =
                o.kind() == Kind.NF4 ? null : new GptqConfig(o.bits(), o.groupSize(), true, o.actOrder(), 0.01, 128);
        if (o.kind() == Kind.GWQ && !(o.outlierFraction() >= 0 && o.outlierFraction() <= 1))
            throw new IllegalArgumentException(
                    "convert --type gwq: the outlier fraction must be in [0, 1], got " + o.outlierFraction());
        try (LlamaModel m = LlamaModel.load(model)) {
            LlamaConfig c = m.config();
            if (gc != null) checkPackable(c, gc.bits(), o.kind());
            Set<String> quantized = new HashSet<>();
            List<SafetensorsWriter.Item> items = new ArrayList<>();
            Path weightsOut = out.resolve("model.safetensors");
            Files.createDirectories(out);
            try (var scope = MemoryScope.open()) {
                switch (o.kind()) {
                    case NF4 -> {
                        for (String name : linearNames(c)) {
                            Tensor t = m.weights().tensor(name);
                            float[] w = t.to(DType.F32).contiguous().toFloatArray();
                            Bnb4Bit q = Bnb4Bit.quantize(w, FourBitCode.NF4, 64, true);
                            items.addAll(
                                    Bnb4Safetensors.items(prefix(name), q, t.size(0), t.size(1), torchName(t.dtype())));
                            quantized.add(name);
                        }
                        addOthers(m.weights(), quantized, items);
                        SafetensorsWriter.write(weightsOut, Map.of("format", "pt"), items);
                        writeConfig(
                                model.resolve("config.json"),
                                out.resolve("config.json"),
                                g -> BnbConfigJson.writeQuantization(g, BnbConfigJson.Quantization.qlora()));
                    }
                    case GPTQ, GWQ -> {
                        int[][] cal = o.calibration() != null
                                ? sequences(o.calibration(), o.calibrationLength(), c.maxSeq())
                                : selfGenerated(m);
                        var method = o.kind() == Kind.GPTQ ? LlamaQuantizer.Method.GPTQ : LlamaQuantizer.Method.GWQ;
                        var layers = LlamaQuantizer.quantize(m, cal, method, gc, o.outlierFraction());
                        var qc = new GptqCheckpoint.QuantConfig(gc.bits(), gc.groupSize(), gc.actOrder(), gc.sym());
                        var gwq = new GwqCheckpoint.Config(qc, o.outlierFraction(), gc.percDamp());
                        for (var e : layers.entrySet()) {
                            quantized.add(e.getKey());
                            if (o.kind() == Kind.GPTQ)
                                items.addAll(GptqCheckpoint.items(
                                        prefix(e.getKey()),
                                        new GptqCheckpoint.Linear(e.getValue().dense(), null),
                                        qc));
                            else
                                items.addAll(GwqCheckpoint.items(
                                        prefix(e.getKey()),
                                        new GwqCheckpoint.Layer(e.getValue().withOutliers(), null),
                                        gwq));
                        }
                        addOthers(m.weights(), quantized, items);
                        SafetensorsWriter.write(
                                weightsOut,
                                o.kind() == Kind.GPTQ
                                        ? Map.of("format", "pt")
                                        : Map.of("format", "pt", "quant_method", "gwq"),
                                items);
                        String json = o.kind() == Kind.GPTQ ? qc.json(gc.percDamp()) : gwq.json();
                        writeConfig(
                                model.resolve("config.json"), out.resolve("config.json"), g -> g.writeRawValue(json));
                    }
                }
            }
        }
        for (String f : COPIED) {
            Path src = model.resolve(f);
            if (Files.isRegularFile(src)) Files.copy(src, out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * transformers' GPTQ layout (and GWQ's, which extends it) packs qweight along the input features and qzeros along
     * the output features into int32 words, so both counts times the bits must be a multiple of 32; checked from the
     * config before any calibration runs (stories260K's FFN width 172 is not, at 4 bits).
     */
    private static void checkPackable(LlamaConfig c, int bits, Kind kind) {
        int q = c.heads() * c.headDim(), kv = c.kvHeads() * c.headDim();
        int[][] shapes = {
            {q, c.dim()},
            {kv, c.dim()},
            {kv, c.dim()},
            {c.dim(), q},
            {c.hidden(), c.dim()},
            {c.hidden(), c.dim()},
            {c.dim(), c.hidden()}
        };
        for (int i = 0; i < shapes.length; i++) {
            for (int side = 0; side < 2; side++) {
                int n = shapes[i][side];
                if ((long) n * bits % 32 != 0)
                    throw new IllegalArgumentException("convert --type "
                            + kind.name().toLowerCase(java.util.Locale.ROOT)
                            + ": model.layers.*." + LlamaCalibration.LINEARS.get(i) + " has " + n
                            + (side == 0 ? " output" : " input") + " features; at " + bits + " bits the GPTQ layout"
                            + " packs them into int32 words, which needs a multiple of " + 32 / gcd(bits, 32));
            }
        }
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** HF names of the seven projections of every layer, in forward order. */
    static List<String> linearNames(LlamaConfig c) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < c.layers(); i++) {
            for (String l : LlamaCalibration.LINEARS) names.add("model.layers." + i + "." + l + ".weight");
        }
        return names;
    }

    private static String prefix(String weightName) {
        return weightName.substring(0, weightName.length() - ".weight".length());
    }

    private static String torchName(DType d) {
        return switch (d) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        };
    }

    /** Every tensor of the source but the quantized weights (and rotary buffers), as stored. */
    private static void addOthers(Weights w, Set<String> quantized, List<SafetensorsWriter.Item> items) {
        for (String n : w.names()) {
            if (quantized.contains(n) || n.endsWith("rotary_emb.inv_freq")) continue;
            items.add(SafetensorsWriter.Item.of(n, w.tensor(n).contiguous()));
        }
    }

    private interface QuantWriter {
        void write(JsonGenerator g) throws IOException;
    }

    /** The input config.json, its fields in order, with quantization_config replaced by what {@code q} writes. */
    private static void writeConfig(Path src, Path dst, QuantWriter q) throws IOException {
        JsonFactory f = new JsonFactory();
        try (JsonParser p = f.createParser(Files.readAllBytes(src));
                OutputStream os = Files.newOutputStream(dst);
                JsonGenerator g = f.createGenerator(os).useDefaultPrettyPrinter()) {
            if (p.nextToken() != JsonToken.START_OBJECT)
                throw new IllegalArgumentException(src + ": not a JSON object");
            g.writeStartObject();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                p.nextToken();
                if (k.equals("quantization_config")) {
                    p.skipChildren();
                    continue;
                }
                g.writeFieldName(k);
                g.copyCurrentStructure(p);
            }
            g.writeFieldName("quantization_config");
            q.write(g);
            g.writeEndObject();
        }
    }

    /**
     * {@link #DEFAULT_SEQUENCES} sequences of {@link #DEFAULT_LENGTH} tokens (at most the context) sampled from the
     * model at temperature 1, each from BOS (or token 1 when the model has none) with seed i.
     */
    static int[][] selfGenerated(LlamaModel m) {
        LlamaConfig c = m.config();
        int len = Math.min(DEFAULT_LENGTH, c.maxSeq());
        int bos = c.bos() >= 0 && c.bos() < c.vocab() ? c.bos() : Math.min(1, c.vocab() - 1);
        int[][] out = new int[DEFAULT_SEQUENCES][len];
        try (var ng = Autograd.noGrad()) {
            for (int s = 0; s < out.length; s++) {
                Random r = new Random(s);
                KvCache cache = m.newCache(len);
                out[s][0] = bos;
                for (int t = 1; t < len; t++) {
                    try (var scope = MemoryScope.open()) {
                        float[] logits = m.forward(Tensor.of(new int[] {out[s][t - 1]}, 1, 1), t - 1, cache, null, true)
                                .toFloatArray();
                        out[s][t] = sample(logits, r);
                    }
                }
            }
        }
        return out;
    }

    private static int sample(float[] logits, Random r) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        double u = r.nextDouble() * sum;
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u < 0) return i;
        }
        return p.length - 1;
    }
}
