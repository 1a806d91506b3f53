package dev.panthera.quant.ggml;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;

/**
 * GGML tensor types (as GGUF files store them), with their numeric ids from ggml.h (explicit numbers, never ordinals), the
 * number of weights per block and the bytes per block. Quantized block layouts are given as {@link MemoryLayout}s
 * whose byte sizes equal {@link #typeSize()} (checked in a test).
 */
public enum GgmlType {
    F32(0, 1, 4, ValueLayout.JAVA_FLOAT),
    F16(1, 1, 2, ValueLayout.JAVA_SHORT),
    /** 32 weights: fp16 d, 16 bytes of 4-bit q; x = (q - 8)·d. */
    Q4_0(
            2,
            32,
            18,
            structLayout(
                    ValueLayout.JAVA_SHORT.withName("d"),
                    sequenceLayout(16, ValueLayout.JAVA_BYTE).withName("qs"))),
    /** 32 weights: fp16 d, fp16 m, 16 bytes of 4-bit q; x = q·d + m. */
    Q4_1(
            3,
            32,
            20,
            structLayout(
                    ValueLayout.JAVA_SHORT.withName("d"),
                    ValueLayout.JAVA_SHORT.withName("m"),
                    sequenceLayout(16, ValueLayout.JAVA_BYTE).withName("qs"))),
    /** 32 weights: fp16 d, 32 bits of 5th bits, 16 bytes of low nibbles; x = (q - 16)·d. */
    Q5_0(
            6,
            32,
            22,
            structLayout(
                    ValueLayout.JAVA_SHORT.withName("d"),
                    sequenceLayout(4, ValueLayout.JAVA_BYTE).withName("qh"),
                    sequenceLayout(16, ValueLayout.JAVA_BYTE).withName("qs"))),
    /** 32 weights: fp16 d, fp16 m, 32 bits of 5th bits, 16 bytes of low nibbles; x = q·d + m. */
    Q5_1(
            7,
            32,
            24,
            structLayout(
                    ValueLayout.JAVA_SHORT.withName("d"),
                    ValueLayout.JAVA_SHORT.withName("m"),
                    sequenceLayout(4, ValueLayout.JAVA_BYTE).withName("qh"),
                    sequenceLayout(16, ValueLayout.JAVA_BYTE).withName("qs"))),
    /** 32 weights: fp16 d, 32 int8 q; x = q·d. */
    Q8_0(
            8,
            32,
            34,
            structLayout(
                    ValueLayout.JAVA_SHORT.withName("d"),
                    sequenceLayout(32, ValueLayout.JAVA_BYTE).withName("qs"))),
    /** 256 weights: fp16 d, fp16 dmin, 12 bytes of packed 6-bit scales and mins, 128 bytes of 4-bit q. */
    Q4_K(
            12,
            256,
            144,
            structLayout(
                    ValueLayout.JAVA_SHORT.withName("d"),
                    ValueLayout.JAVA_SHORT.withName("dmin"),
                    sequenceLayout(12, ValueLayout.JAVA_BYTE).withName("scales"),
                    sequenceLayout(128, ValueLayout.JAVA_BYTE).withName("qs"))),
    /** 256 weights: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 32 bytes of 5th bits, 128 bytes of nibbles. */
    Q5_K(
            13,
            256,
            176,
            structLayout(
                    ValueLayout.JAVA_SHORT.withName("d"),
                    ValueLayout.JAVA_SHORT.withName("dmin"),
                    sequenceLayout(12, ValueLayout.JAVA_BYTE).withName("scales"),
                    sequenceLayout(32, ValueLayout.JAVA_BYTE).withName("qh"),
                    sequenceLayout(128, ValueLayout.JAVA_BYTE).withName("qs"))),
    /** 256 weights: 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales, fp16 d. */
    Q6_K(
            14,
            256,
            210,
            structLayout(
                    sequenceLayout(128, ValueLayout.JAVA_BYTE).withName("ql"),
                    sequenceLayout(64, ValueLayout.JAVA_BYTE).withName("qh"),
                    sequenceLayout(16, ValueLayout.JAVA_BYTE).withName("scales"),
                    ValueLayout.JAVA_SHORT.withName("d"))),
    /**
     * 256 weights: fp32 d, 256 int8 q, 16 int16 sums of 16 q each; x = q·d. ggml's activation format for K-quant
     * dots.
     */
    Q8_K(
            15,
            256,
            292,
            structLayout(
                    ValueLayout.JAVA_FLOAT_UNALIGNED.withName("d"),
                    sequenceLayout(256, ValueLayout.JAVA_BYTE).withName("qs"),
                    sequenceLayout(16, ValueLayout.JAVA_SHORT_UNALIGNED).withName("bsums"))),
    I8(24, 1, 1, ValueLayout.JAVA_BYTE),
    I16(25, 1, 2, ValueLayout.JAVA_SHORT),
    I32(26, 1, 4, ValueLayout.JAVA_INT),
    I64(27, 1, 8, ValueLayout.JAVA_LONG),
    F64(28, 1, 8, ValueLayout.JAVA_DOUBLE),
    BF16(30, 1, 2, ValueLayout.JAVA_SHORT);

    private final int id;
    private final int blockSize;
    private final int typeSize;
    private final MemoryLayout blockLayout;

    GgmlType(int id, int blockSize, int typeSize, MemoryLayout blockLayout) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
        this.blockLayout = blockLayout;
    }

    /** The id stored in GGUF tensor infos ({@code enum ggml_type}). */
    public int id() {
        return id;
    }

    /** Weights per block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** The layout of one block (unaligned, little-endian in the file). */
    public MemoryLayout blockLayout() {
        return blockLayout;
    }

    /** True for the block-quantized types. */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** The type with ggml id {@code id}, or null if this package does not know it. */
    public static GgmlType byId(long id) {
        for (GgmlType t : values()) if (t.id == id) return t;
        return null;
    }

    /** Bytes for {@code n} weights ({@code n} a multiple of the block size). */
    public long bytesFor(long n) {
        return n / blockSize * typeSize;
    }
}
