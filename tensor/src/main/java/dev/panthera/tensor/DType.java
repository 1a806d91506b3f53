package dev.panthera.tensor;

/**
 * Element types with explicit byte sizes. Conversions ({@code Tensor.to}): F32 → F16/BF16 round to nearest even
 * with IEEE NaN/Inf handling; float → integer is Java's cast ({@code (int) 1e10 == Integer.MAX_VALUE}, NaN → 0; I8 and
 * U8 keep the low 8 bits of the int cast); integer → integer wraps like Java's narrowing casts; integer → F32/F64 is Java's cast
 * ({@code (float) longValue}, one rounding), F16/BF16 from that F32 value; anything → BOOL is
 * "non-zero". Ids are explicit numbers, never {@code ordinal()}: they may be
 * written into files and must not move when a constant is added.
 */
public enum DType {
    F32(0, 4, true),
    F64(1, 8, true),
    F16(2, 2, true),
    BF16(3, 2, true),
    I8(4, 1, false),
    U8(5, 1, false),
    I32(6, 4, false),
    I64(7, 8, false),
    BOOL(8, 1, false);

    private final int id;
    private final int byteSize;
    private final boolean floating;

    DType(int id, int byteSize, boolean floating) {
        this.id = id;
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** A stable numeric id for this type. */
    public int id() {
        return id;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for F32, F64, F16 and BF16. */
    public boolean isFloatingPoint() {
        return floating;
    }

    /** True for the integer types (not BOOL). */
    public boolean isInteger() {
        return !floating && this != BOOL;
    }

    /** The type with the given {@link #id()}. */
    public static DType ofId(int id) {
        for (DType t : values()) if (t.id == id) return t;
        throw new IllegalArgumentException("unknown dtype id " + id);
    }
}
