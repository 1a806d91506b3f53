package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A weight matrix of logical shape [out, in] that stays in a GGML block format in memory: row r (one output channel)
 * is {@code in / blockSize} blocks at byte {@code r · rowBytes()} of {@code blocks}, exactly as GGUF stores a tensor
 * of ggml shape [in, out]. The segment belongs to whoever made it (an arena, a mapped GGUF file); this class never
 * copies it to floats.
 *
 * @param name the tensor's name, for error messages
 * @param type a quantized GGML type (or F32/F16/BF16)
 * @param out rows (output features)
 * @param in columns (input features), a multiple of the type's block size
 * @param blocks the raw little-endian blocks, {@code out · rowBytes()} bytes or more
 */
public record QuantizedWeight(String name, GgmlType type, long out, long in, MemorySegment blocks) {

    public QuantizedWeight {
        if (out < 0 || in < 0) {
            throw new IllegalArgumentException("QuantizedWeight " + name + ": shape [" + out + ", " + in + "]");
        }
        if (in % type.blockSize() != 0) {
            throw new IllegalArgumentException("QuantizedWeight " + name + ": " + type + " stores rows in blocks of "
                    + type.blockSize() + " weights; a row of " + in + " (shape [" + out + ", " + in + "]) does not"
                    + " divide");
        }
        long need = Math.multiplyExact(out, type.bytesFor(in));
        if (blocks.byteSize() < need) {
            throw new IllegalArgumentException("QuantizedWeight " + name + ": " + type + " [" + out + ", " + in
                    + "] needs " + need + " bytes, the segment has " + blocks.byteSize());
        }
    }

    /** Bytes per row. */
    public long rowBytes() {
        return type.bytesFor(in);
    }

    /**
     * Quantizes the row-major [out, in] floats {@code w} to {@code type} with ggml's reference quantizer, into a
     * segment of {@code arena}.
     */
    public static QuantizedWeight quantize(String name, float[] w, long out, long in, GgmlType type, Arena arena) {
        if (w.length != out * in) {
            throw new IllegalArgumentException(
                    "QuantizedWeight " + name + ": " + w.length + " values for shape [" + out + ", " + in + "]");
        }
        if (in % type.blockSize() != 0) {
            throw new IllegalArgumentException("QuantizedWeight " + name + ": " + type + " stores rows in blocks of "
                    + type.blockSize() + " weights; a row of " + in + " (shape [" + out + ", " + in + "]) does not"
                    + " divide");
        }
        byte[] bytes;
        try {
            bytes = GgmlQuants.quantize(type, w);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "QuantizedWeight " + name + " [" + out + ", " + in + "]: " + e.getMessage(), e);
        }
        MemorySegment seg = arena.allocate(Math.max(1, bytes.length), 64);
        seg.copyFrom(MemorySegment.ofArray(bytes));
        return new QuantizedWeight(name, type, out, in, seg);
    }

    /** Row {@code r} as floats (the scalar dequantizer), into {@code dst} from index {@code at}. */
    public void dequantizeRow(long r, float[] dst, int at) {
        GgmlQuants.dequantize(
                type,
                blocks.asSlice(r * rowBytes(), rowBytes()),
                MemorySegment.ofArray(dst).asSlice(4L * at, 4 * in),
                in);
    }

    /** The whole matrix as row-major floats: for tests and references, not for the matmul. */
    public float[] dequantize() {
        float[] outArr = new float[Math.toIntExact(out * in)];
        for (long r = 0; r < out; r++) dequantizeRow(r, outArr, Math.toIntExact(r * in));
        return outArr;
    }
}
