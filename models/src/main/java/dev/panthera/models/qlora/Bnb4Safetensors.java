package dev.panthera.models.qlora;

import dev.panthera.models.io.ModelFormatException;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.DynamicMap;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One bitsandbytes 4-bit weight in the safetensors layout transformers writes ({@code Linear4bit._save_to_state_dict}
 * over {@code QuantState.as_dict(packed=True)}), for a layer {@code <name>}:
 *
 * <ul>
 *   <li>{@code <name>.weight}: uint8 [(n+1)/2, 1], two codes a byte, the first weight in the high nibble;
 *   <li>{@code <name>.weight.absmax}: float32 [blocks], or uint8 [blocks] (8-bit codes) when double quantized;
 *   <li>{@code <name>.weight.quant_map}: float32 [16], the 4-bit code table;
 *   <li>{@code <name>.weight.nested_absmax}: float32 [ceil(blocks / nested_blocksize)] and
 *       {@code <name>.weight.nested_quant_map}: float32 [256], only when double quantized;
 *   <li>{@code <name>.weight.quant_state.bitsandbytes__<nf4|fp4>}: uint8, the JSON of {@link QuantStateJson}.
 * </ul>
 *
 * Reading checks every dtype, shape and count against the quant state, and that the 4-bit table is bitsandbytes' NF4
 * or FP4 exactly; the nested 8-bit table is taken from the file (bitsandbytes builds it with torch at run time, where
 * float32 linspace may differ from {@link DynamicMap} in the last bit), so a file decodes to exactly the floats
 * bitsandbytes would produce or is refused with the tensor named.
 */
public final class Bnb4Safetensors {
    private Bnb4Safetensors() {}

    /** A decoded weight: the packed codes and statistics, its [out, in] shape and the dtype it had before. */
    public record Read(Bnb4Bit weight, long out, long in, String dtype) {}

    private static final String STATE = ".weight.quant_state.bitsandbytes__";

    /** Whether {@code file} holds a 4-bit weight for layer {@code name}. */
    public static boolean contains(SafetensorsFile file, String name) {
        return stateKey(file, name) != null;
    }

    private static String stateKey(SafetensorsFile file, String name) {
        for (String t : new String[] {"nf4", "fp4"}) if (file.contains(name + STATE + t)) return name + STATE + t;
        return null;
    }

    /** The names of every layer stored in 4 bits in {@code file}, in file order. */
    public static List<String> layers(SafetensorsFile file) {
        List<String> out = new ArrayList<>();
        for (String k : file.names()) {
            int at = k.indexOf(STATE);
            if (at > 0 && (k.endsWith("nf4") || k.endsWith("fp4"))) out.add(k.substring(0, at));
        }
        return out;
    }

    /** Reads layer {@code name}'s 4-bit weight. */
    public static Read read(SafetensorsFile file, String name) throws ModelFormatException {
        String key = stateKey(file, name);
        if (key == null) throw bad(name + STATE + "<nf4|fp4>", "no quant state for layer '" + name + "'");
        QuantStateJson s = QuantStateJson.parse(bytes(file, key, DType.U8), key);
        String suffixType = key.substring(key.length() - 3);
        if (!s.quantType().equals(suffixType))
            throw bad(key, "quant_type '" + s.quantType() + "' but the key says " + suffixType);
        FourBitCode code = suffixType.equals("nf4") ? FourBitCode.NF4 : FourBitCode.FP4;
        if (s.shape().length != 2 || s.shape()[0] <= 0 || s.shape()[1] <= 0)
            throw bad(key, "shape " + Arrays.toString(s.shape()) + " is not a positive [out, in]");
        long out = s.shape()[0], in = s.shape()[1], n = Math.multiplyExact(out, in);
        if (n > Integer.MAX_VALUE) throw bad(key, "shape " + Arrays.toString(s.shape()) + " is too large");
        if ((s.blocksize() & 1) != 0) throw bad(key, "blocksize " + s.blocksize() + " is odd");
        long blocks = (n + s.blocksize() - 1) / s.blocksize();

        String w = name + ".weight";
        byte[] packed = bytes(file, w, DType.U8);
        if (packed.length != (n + 1) / 2)
            throw bad(
                    w,
                    packed.length + " packed bytes for shape " + Arrays.toString(s.shape()) + "; need " + (n + 1) / 2);
        float[] table = floats(file, w + ".quant_map", 16);
        for (int i = 0; i < 16; i++) {
            if (Float.floatToRawIntBits(table[i]) != Float.floatToRawIntBits(code.value(i)))
                throw bad(
                        w + ".quant_map",
                        "entry " + i + " is " + table[i] + ", bitsandbytes' " + code + " has " + code.value(i)
                                + " (only bitsandbytes' tables are supported)");
        }
        Bnb4Bit q;
        try {
            if (!s.nested()) {
                float[] absmax = floats(file, w + ".absmax", blocks);
                q = new Bnb4Bit(code, s.blocksize(), n, packed, absmax, null);
            } else {
                if (s.nestedBlocksize() != Bnb4Bit.NESTED_BLOCK)
                    throw bad(key, "nested_blocksize " + s.nestedBlocksize() + "; supported: " + Bnb4Bit.NESTED_BLOCK);
                byte[] qa = bytes(file, w + ".absmax", DType.U8);
                if (qa.length != blocks)
                    throw bad(w + ".absmax", qa.length + " codes for " + blocks + " blocks of " + s.blocksize());
                float[] map = floats(file, w + ".nested_quant_map", 256);
                boolean canonical = true;
                for (int i = 0; i < 256; i++) {
                    if (!(Math.abs(map[i]) <= 1f))
                        throw bad(w + ".nested_quant_map", "entry " + i + " is " + map[i] + ", outside [-1, 1]");
                    canonical &= Float.floatToRawIntBits(map[i]) == Float.floatToRawIntBits(DynamicMap.value(i));
                }
                float[] a2 =
                        floats(file, w + ".nested_absmax", (blocks + Bnb4Bit.NESTED_BLOCK - 1) / Bnb4Bit.NESTED_BLOCK);
                q = new Bnb4Bit(
                        code,
                        s.blocksize(),
                        n,
                        packed,
                        null,
                        new Bnb4Bit.NestedAbsmax(qa, a2, s.nestedOffset(), canonical ? null : map));
            }
        } catch (IllegalArgumentException e) {
            throw bad(w, e.getMessage());
        }
        return new Read(q, out, in, s.dtype());
    }

    /** The tensors layer {@code name} saves for weight {@code w} of shape [out, in] ({@code dtype} as it was). */
    public static List<SafetensorsWriter.Item> items(String name, Bnb4Bit w, long out, long in, String dtype) {
        if (out * in != w.n())
            throw new IllegalArgumentException(
                    "Bnb4Safetensors.items " + name + ": " + w.n() + " weights are not [" + out + ", " + in + "]");
        String wn = name + ".weight";
        String type = w.code() == FourBitCode.NF4 ? "nf4" : "fp4";
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        items.add(item(wn, DType.U8, new long[] {w.packed().length, 1}, MemorySegment.ofArray(w.packed())));
        float[] table = new float[16];
        for (int i = 0; i < 16; i++) table[i] = w.code().value(i);
        QuantStateJson state;
        if (w.nested() == null) {
            items.add(f32(wn + ".absmax", w.absmax()));
            items.add(f32(wn + ".quant_map", table));
            state = new QuantStateJson(type, w.blockSize(), dtype, new long[] {out, in}, 0, null, 0f);
        } else {
            Bnb4Bit.NestedAbsmax na = w.nested();
            items.add(item(wn + ".absmax", DType.U8, new long[] {na.q().length}, MemorySegment.ofArray(na.q())));
            items.add(f32(wn + ".quant_map", table));
            items.add(f32(wn + ".nested_absmax", na.absmax2()));
            float[] map = new float[256];
            for (int i = 0; i < 256; i++) map[i] = na.code(i);
            items.add(f32(wn + ".nested_quant_map", map));
            state = new QuantStateJson(
                    type, w.blockSize(), dtype, new long[] {out, in}, Bnb4Bit.NESTED_BLOCK, "float32", na.offset());
        }
        byte[] json = state.toJson();
        items.add(item(
                wn + STATE.substring(".weight".length()) + type,
                DType.U8,
                new long[] {json.length},
                MemorySegment.ofArray(json)));
        return items;
    }

    private static SafetensorsWriter.Item f32(String name, float[] v) {
        return item(name, DType.F32, new long[] {v.length}, MemorySegment.ofArray(v));
    }

    private static SafetensorsWriter.Item item(String name, DType t, long[] shape, MemorySegment heap) {
        // the writer copies from any segment; a heap segment of a byte[] or float[] is little-endian on the
        // platforms the writer accepts
        return new SafetensorsWriter.Item(name, t, shape, heap);
    }

    private static byte[] bytes(SafetensorsFile file, String key, DType want) throws ModelFormatException {
        if (!file.contains(key)) throw bad(key, "missing");
        DType t = file.entry(key).dtype();
        if (t != want) throw bad(key, "dtype " + t + ", expected " + want);
        return file.bytes(key).toArray(ValueLayout.JAVA_BYTE);
    }

    private static float[] floats(SafetensorsFile file, String key, long count) throws ModelFormatException {
        if (!file.contains(key)) throw bad(key, "missing");
        var e = file.entry(key);
        if (e.dtype() != DType.F32) throw bad(key, "dtype " + e.dtype() + ", expected F32");
        long n = 1;
        for (long d : e.shape()) n *= d;
        if (n != count) throw bad(key, n + " values (shape " + Arrays.toString(e.shape()) + "), expected " + count);
        return file.bytes(key).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN));
    }

    private static ModelFormatException bad(String field, String why) {
        return new ModelFormatException("bitsandbytes 4-bit", field, why);
    }
}
