package dev.panthera.models.io;

import dev.panthera.models.tokenizer.HfVocabulary;
import dev.panthera.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer embedded in a GGUF file's {@code tokenizer.ggml.*} metadata: {@code model} ("llama" or "gpt2"),
 * {@code tokens}, {@code scores}, {@code token_type}, {@code merges}, {@code bos_token_id}, {@code eos_token_id} and
 * {@code add_bos_token} (absent: true for "llama", false otherwise, as llama.cpp assumes), {@code add_eos_token}
 * (absent: false), {@code add_space_prefix}
 * (absent: true) and {@code pre} (a "gpt2" model's split: gpt-2 or llama-bpe; another is refused).
 */
public final class GgufVocab {
    private GgufVocab() {}

    /** Builds the tokenizer described by {@code gguf}'s metadata. */
    public static Tokenizer tokenizer(GgufFile gguf) throws IOException {
        return tokenizer(gguf.metadata());
    }

    /** Builds the tokenizer described by GGUF metadata {@code kv}. */
    public static Tokenizer tokenizer(Map<String, GgufValue> kv) throws IOException {
        String model = string(kv, "tokenizer.ggml.model");
        List<GgufValue> tokenValues = array(kv, "tokenizer.ggml.tokens", GgufValue.STRING, true);
        String[] tokens = new String[tokenValues.size()];
        for (int i = 0; i < tokens.length; i++) tokens[i] = tokenValues.get(i).asString();
        GgufValue.Array s = typedArray(kv, "tokenizer.ggml.scores", GgufValue.FLOAT32, false);
        float[] scores = s == null ? null : s.toFloatArray();
        GgufValue.Array t = typedArray(kv, "tokenizer.ggml.token_type", GgufValue.INT32, false);
        int[] types = t == null ? null : t.toIntArray();
        List<GgufValue> m = array(kv, "tokenizer.ggml.merges", GgufValue.STRING, false);
        String[] merges = null;
        if (m != null) {
            merges = new String[m.size()];
            for (int i = 0; i < merges.length; i++) merges[i] = m.get(i).asString();
        }
        int bos = id(kv, "tokenizer.ggml.bos_token_id");
        int eos = id(kv, "tokenizer.ggml.eos_token_id");
        boolean addBos =
                kv.get("tokenizer.ggml.add_bos_token") instanceof GgufValue.Bool b ? b.value() : model.equals("llama");
        boolean spacePrefix = !(kv.get("tokenizer.ggml.add_space_prefix") instanceof GgufValue.Bool p) || p.value();
        String pre = kv.get("tokenizer.ggml.pre") instanceof GgufValue.Str p ? p.value() : null;
        boolean addEos = kv.get("tokenizer.ggml.add_eos_token") instanceof GgufValue.Bool e && e.value();
        return Tokenizer.fromGgufVocab(
                model, pre, tokens, scores, types, merges, addBos ? bos : -1, eos, addEos, spacePrefix);
    }

    /**
     * Writes {@code v} as llama.cpp's {@code tokenizer.ggml.*} keys: model, pre, tokens, token_type, scores (llama) or
     * merges (gpt2), the bos/eos/unknown/padding ids that are known, add_bos_token, add_eos_token and, when off,
     * add_space_prefix.
     */
    public static void write(GgufWriter w, HfVocabulary v) {
        List<GgufValue> tokens = new ArrayList<>(v.tokens().length), types = new ArrayList<>(v.tokens().length);
        for (int i = 0; i < v.tokens().length; i++) {
            tokens.add(new GgufValue.Str(v.tokens()[i]));
            types.add(new GgufValue.I32(v.types()[i]));
        }
        w.put("tokenizer.ggml.model", v.model())
                .put("tokenizer.ggml.pre", v.pre())
                .put("tokenizer.ggml.tokens", new GgufValue.Array(GgufValue.STRING, tokens))
                .put("tokenizer.ggml.token_type", new GgufValue.Array(GgufValue.INT32, types));
        if (v.scores() != null) {
            List<GgufValue> scores = new ArrayList<>(v.scores().length);
            for (float s : v.scores()) scores.add(new GgufValue.F32(s));
            w.put("tokenizer.ggml.scores", new GgufValue.Array(GgufValue.FLOAT32, scores));
        }
        if (v.merges() != null) {
            List<GgufValue> merges = new ArrayList<>(v.merges().length);
            for (String m : v.merges()) merges.add(new GgufValue.Str(m));
            w.put("tokenizer.ggml.merges", new GgufValue.Array(GgufValue.STRING, merges));
        }
        if (v.bos() >= 0) w.putU32("tokenizer.ggml.bos_token_id", v.bos());
        if (v.eos() >= 0) w.putU32("tokenizer.ggml.eos_token_id", v.eos());
        if (v.unk() >= 0) w.putU32("tokenizer.ggml.unknown_token_id", v.unk());
        if (v.pad() >= 0) w.putU32("tokenizer.ggml.padding_token_id", v.pad());
        w.put("tokenizer.ggml.add_bos_token", new GgufValue.Bool(v.addBos()))
                .put("tokenizer.ggml.add_eos_token", new GgufValue.Bool(v.addEos()));
        if (v.model().equals("llama") && !v.addSpacePrefix())
            w.put("tokenizer.ggml.add_space_prefix", new GgufValue.Bool(false));
    }

    private static String string(Map<String, GgufValue> kv, String key) throws ModelFormatException {
        if (!(kv.get(key) instanceof GgufValue.Str s))
            throw new ModelFormatException("gguf", key, "missing or not a string");
        return s.value();
    }

    private static List<GgufValue> array(Map<String, GgufValue> kv, String key, int type, boolean required)
            throws ModelFormatException {
        GgufValue.Array a = typedArray(kv, key, type, required);
        return a == null ? null : a.values();
    }

    private static GgufValue.Array typedArray(Map<String, GgufValue> kv, String key, int type, boolean required)
            throws ModelFormatException {
        GgufValue v = kv.get(key);
        if (v == null && !required) return null;
        if (!(v instanceof GgufValue.Array a) || a.elementType() != type) {
            throw new ModelFormatException("gguf", key, "missing or not an array of gguf type " + type);
        }
        return a;
    }

    private static int id(Map<String, GgufValue> kv, String key) throws ModelFormatException {
        GgufValue v = kv.get(key);
        if (v == null) return -1;
        long id = switch (v) {
            case GgufValue.U32 u -> u.value();
            case GgufValue.I32 i -> i.value();
            default -> throw new ModelFormatException("gguf", key, "expected a u32 token id, found " + v);
        };
        if (id < 0 || id > Integer.MAX_VALUE)
            throw new ModelFormatException("gguf", key, "token id " + id + " out of range");
        return (int) id;
    }
}
