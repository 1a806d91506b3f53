package dev.panthera.models.io;

import dev.panthera.models.io.OnnxWeights.Initializer;
import dev.panthera.tensor.DType;

/**
 * ONNX TensorProto messages read from the wire format: dims (1), data_type (2), float_data (4), int32_data (5),
 * int64_data (7), name (8), raw_data (9), double_data (10), data_location (14, external data refused), checked
 * against the declared shape and dtype, as {@link OnnxWeights} keeps them (an {@link Initializer} pointing into the
 * file, nothing decoded yet).
 */
final class OnnxTensorProto {
    private OnnxTensorProto() {}

    static Initializer tensor(Protobuf m) throws ModelFormatException {
        return tensor(m, null);
    }

    /** A TensorProto; {@code defaultName} stands for a missing name (a Constant's value need not have one). */
    static Initializer tensor(Protobuf m, String defaultName) throws ModelFormatException {
        String name = defaultName;
        int dataType = 0;
        long[] dims = new long[0];
        long start = 0, end = 0, count = 0;
        int dataField = 0;
        long[] unpacked = null;
        int nUnpacked = 0;
        while (m.next()) {
            if ((m.field == 4 || m.field == 5 || m.field == 7 || m.field == 10) && m.wire != Protobuf.LEN) {
                // a repeated scalar written unpacked: one tag per value (legal protobuf, though ONNX declares them
                // packed)
                if (dataField != 0 && (dataField != m.field || unpacked == null)) {
                    throw m.error("data", "more than one data field (" + dataField + " and " + m.field + ")");
                }
                int want = m.field == 4 ? Protobuf.I32 : m.field == 10 ? Protobuf.I64 : Protobuf.VARINT;
                if (m.wire != want)
                    throw m.error("field " + m.field, "wire type " + m.wire + " where " + want + " was expected");
                dataField = m.field;
                if (unpacked == null) unpacked = new long[16];
                if (nUnpacked == unpacked.length) unpacked = java.util.Arrays.copyOf(unpacked, nUnpacked * 2);
                unpacked[nUnpacked++] = switch (want) {
                    case Protobuf.I32 -> {
                        m.fixed(4);
                        yield m.seg.get(Cursor.I32, m.pos - 4) & 0xFFFFFFFFL;
                    }
                    case Protobuf.I64 -> {
                        m.fixed(8);
                        yield m.seg.get(Cursor.I64, m.pos - 8);
                    }
                    default -> m.varint("field " + m.field);
                };
                count = nUnpacked;
                continue;
            }
            switch (m.field) {
                case 1 -> {
                    if (m.wire == Protobuf.LEN) {
                        long n = m.length("dims");
                        Protobuf packed = new Protobuf(m.seg, m.pos, m.pos + n, m.what); // no varint past the field
                        while (packed.pos < packed.end) {
                            if (dims.length == 16) throw m.error("dims", "more than 16 dimensions");
                            dims = append(dims, packed.varint("dims"));
                        }
                        m.pos = packed.end;
                    } else {
                        dims = append(dims, m.varint("dims"));
                    }
                    if (dims.length > 16) throw m.error("dims", "more than 16 dimensions");
                }
                case 2 -> dataType = (int) m.varint("data_type");
                case 8 -> name = m.string("name");
                case 3 -> throw m.error("segment", "segmented tensors are not supported");
                case 14 -> {
                    if (m.varint("data_location") == 1)
                        throw m.error("data_location", "external data is not supported");
                }
                case 4, 5, 7, 9, 10 -> {
                    if (dataField != 0)
                        throw m.error("data", "more than one data field (" + dataField + " and " + m.field + ")");
                    dataField = m.field;
                    long n = m.length("field " + m.field);
                    start = m.pos;
                    end = m.pos + n;
                    m.pos = end;
                    count = switch (dataField) {
                        case 4 -> n % 4 == 0 ? n / 4 : -1;
                        case 10 -> n % 8 == 0 ? n / 8 : -1;
                        case 5, 7 -> m.countVarints(start, end, "field " + dataField);
                        default -> n;
                    };
                    if (count < 0)
                        throw m.error("field " + dataField, "packed length " + n + " is not a whole number of values");
                }
                default -> m.skip();
            }
        }
        if (name == null) throw m.error("name", "initializer without a name");
        Cursor.checkShape("onnx", m.what + "." + name + ".dims", dims);
        long numel = 1;
        for (long d : dims) {
            numel = SafetensorsFile.mulOrMax(numel, d);
        }
        DType dtype = dtype(dataType, m, name);
        long expected = switch (dataField) {
            case 9 -> SafetensorsFile.mulOrMax(numel, dtype.byteSize());
            case 0 -> 0;
            default -> numel;
        };
        if (dataField == 0 && numel != 0) throw m.error(name, "no data for " + numel + " elements");
        boolean fieldOk = switch (dataField) {
            case 4 -> dtype == DType.F32;
            case 10 -> dtype == DType.F64;
            case 7 -> dtype == DType.I64;
            case 5 -> dtype != DType.F32 && dtype != DType.F64 && dtype != DType.I64;
            default -> true;
        };
        if (!fieldOk) throw m.error(name, "data field " + dataField + " does not hold " + dtype);
        if (dataField == 5) {
            if (unpacked != null) {
                for (int k = 0; k < nUnpacked; k++) checkInt32(m, name, dtype, k, unpacked[k]);
            } else {
                Protobuf p = new Protobuf(m.seg, start, end, m.what);
                for (long k = 0; p.pos < end; k++) checkInt32(m, name, dtype, k, p.varint(name));
            }
        }
        if (count != expected) {
            throw m.error(
                    name,
                    dtype + " " + java.util.Arrays.toString(dims) + " needs " + expected
                            + (dataField == 9 ? " bytes" : " values") + " but the data has " + count);
        }
        return new Initializer(
                name,
                dataType,
                dims,
                start,
                end,
                dataField,
                count,
                unpacked == null ? null : java.util.Arrays.copyOf(unpacked, nUnpacked));
    }

    /**
     * int32_data holds I32 values, and the bit patterns of narrower types (F16/BF16 as uint16, U8, I8, BOOL): a value
     * outside the type's range would be silently truncated, so it is an error naming the tensor.
     */
    static void checkInt32(Protobuf m, String name, DType dtype, long k, long v) throws ModelFormatException {
        long lo, hi;
        switch (dtype) {
            case F16, BF16 -> {
                lo = 0;
                hi = 0xFFFF;
            }
            case U8 -> {
                lo = 0;
                hi = 0xFF;
            }
            case I8 -> {
                lo = Byte.MIN_VALUE;
                hi = Byte.MAX_VALUE;
            }
            case BOOL -> {
                lo = 0;
                hi = 1;
            }
            default -> {
                lo = Integer.MIN_VALUE;
                hi = Integer.MAX_VALUE;
            }
        }
        if (v < lo || v > hi)
            throw m.error(
                    name + ".int32_data[" + k + "]", v + " is outside " + dtype + "'s range [" + lo + ", " + hi + "]");
    }

    static long[] append(long[] a, long v) {
        long[] b = java.util.Arrays.copyOf(a, a.length + 1);
        b[a.length] = v;
        return b;
    }

    static DType dtype(int t, Protobuf m, String name) throws ModelFormatException {
        return switch (t) {
            case 1 -> DType.F32;
            case 2 -> DType.U8;
            case 3 -> DType.I8;
            case 6 -> DType.I32;
            case 7 -> DType.I64;
            case 9 -> DType.BOOL;
            case 10 -> DType.F16;
            case 11 -> DType.F64;
            case 16 -> DType.BF16;
            default -> throw m.error(name + ".data_type", "unsupported ONNX data type " + t);
        };
    }
}
