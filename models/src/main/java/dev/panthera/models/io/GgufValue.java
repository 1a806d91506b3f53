package dev.panthera.models.io;

import java.util.List;

/**
 * A typed GGUF metadata value: one record per GGUF value type, arrays included. Unsigned types keep their bits in
 * the next wider Java type ({@code U8} in an int, {@code U32} in a long; {@code U64} as the raw long).
 */
public sealed interface GgufValue {
    /** GGUF value type ids ({@code enum gguf_type}). */
    int UINT8 = 0,
            INT8 = 1,
            UINT16 = 2,
            INT16 = 3,
            UINT32 = 4,
            INT32 = 5,
            FLOAT32 = 6,
            BOOL = 7,
            STRING = 8,
            ARRAY = 9,
            UINT64 = 10,
            INT64 = 11,
            FLOAT64 = 12;

    /** This value's GGUF type id. */
    int typeId();

    record U8(int value) implements GgufValue {
        public int typeId() {
            return UINT8;
        }
    }

    record I8(byte value) implements GgufValue {
        public int typeId() {
            return INT8;
        }
    }

    record U16(int value) implements GgufValue {
        public int typeId() {
            return UINT16;
        }
    }

    record I16(short value) implements GgufValue {
        public int typeId() {
            return INT16;
        }
    }

    record U32(long value) implements GgufValue {
        public int typeId() {
            return UINT32;
        }
    }

    record I32(int value) implements GgufValue {
        public int typeId() {
            return INT32;
        }
    }

    record F32(float value) implements GgufValue {
        public int typeId() {
            return FLOAT32;
        }
    }

    record Bool(boolean value) implements GgufValue {
        public int typeId() {
            return BOOL;
        }
    }

    record Str(String value) implements GgufValue {
        public int typeId() {
            return STRING;
        }
    }

    record U64(long value) implements GgufValue {
        public int typeId() {
            return UINT64;
        }
    }

    record I64(long value) implements GgufValue {
        public int typeId() {
            return INT64;
        }
    }

    record F64(double value) implements GgufValue {
        public int typeId() {
            return FLOAT64;
        }
    }

    /** An array whose elements all have GGUF type {@code elementType} (nested arrays allowed). */
    record Array(int elementType, List<GgufValue> values) implements GgufValue {
        public Array {
            if (!(values instanceof GgufNumbers n && n.type() == elementType)) { // a file's numbers: immutable, typed
                values = List.copyOf(values);
                for (GgufValue v : values) {
                    if (v.typeId() != elementType)
                        throw new IllegalArgumentException("gguf array of type " + elementType + " holds a " + v);
                }
            }
        }

        public int typeId() {
            return ARRAY;
        }

        /** The values of a FLOAT32 array; IllegalStateException for another element type. */
        public float[] toFloatArray() {
            if (elementType != FLOAT32)
                throw new IllegalStateException("gguf array of type " + elementType + " is not FLOAT32");
            if (values instanceof GgufNumbers n) return n.floats();
            float[] f = new float[values.size()];
            for (int i = 0; i < f.length; i++) f[i] = ((F32) values.get(i)).value();
            return f;
        }

        /** The values of an INT32 array; IllegalStateException for another element type. */
        public int[] toIntArray() {
            if (elementType != INT32)
                throw new IllegalStateException("gguf array of type " + elementType + " is not INT32");
            if (values instanceof GgufNumbers n) return n.ints();
            int[] v = new int[values.size()];
            for (int i = 0; i < v.length; i++) v[i] = ((I32) values.get(i)).value();
            return v;
        }
    }

    /** Integer-typed values as a long (unsigned ones zero-extended); otherwise IllegalStateException naming the type. */
    default long asLong() {
        return switch (this) {
            case U8 v -> v.value();
            case I8 v -> v.value();
            case U16 v -> v.value();
            case I16 v -> v.value();
            case U32 v -> v.value();
            case I32 v -> v.value();
            case U64 v -> v.value();
            case I64 v -> v.value();
            default -> throw new IllegalStateException("gguf value " + this + " is not an integer");
        };
    }

    /** Numeric values as a double. */
    default double asDouble() {
        return switch (this) {
            case F32 v -> v.value();
            case F64 v -> v.value();
            default -> asLong();
        };
    }

    /** The string of a {@link Str}. */
    default String asString() {
        if (this instanceof Str s) return s.value();
        throw new IllegalStateException("gguf value " + this + " is not a string");
    }
}
