package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Protobuf wire details of the ONNX reader on hand-encoded messages (encodings from the protobuf specification). */
class OnnxWireTest {
    static byte[] model(byte[]... initializers) {
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        for (byte[] t : initializers) FormatFuzz.len(g, 5, t);
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        FormatFuzz.num(m, 1, 7);
        FormatFuzz.len(m, 7, g.toByteArray());
        return m.toByteArray();
    }

    /** Parses {@code b} copied into a fresh arena that the result owns (closed with it, or here on failure). */
    static OnnxWeights parse(byte[] b) throws ModelFormatException {
        Arena a = Arena.ofConfined();
        MemorySegment s = a.allocate(b.length);
        s.copyFrom(MemorySegment.ofArray(b));
        try {
            return OnnxWeights.parse(s, a);
        } catch (ModelFormatException | RuntimeException e) {
            a.close();
            throw e;
        }
    }

    @Test
    void seedModelDecodesEveryEncoding() throws Exception {
        try (OnnxWeights w = parse(FormatFuzz.onnx())) {
            assertArrayEquals(
                    new float[] {0, 1, 2, 3, 4, 5},
                    w.tensor("encoder.layer.0.attention.self.query.weight").toFloatArray(),
                    "raw_data");
            assertTrue(w.isTransposed("encoder.layer.0.attention.self.query.weight"));
            assertArrayEquals(
                    new float[] {1, 2, 3, 4},
                    w.tensor("encoder.layer.0.attention.self.query.bias").toFloatArray(),
                    "packed float_data");
            // packed int64_data bytes 01 | 80 01 | 7F are the varints 1, 128, 127
            assertArrayEquals(
                    new long[] {1, 128, 127},
                    w.tensor("shape").storage().segment().asSlice(0, 24).toArray(ValueLayout.JAVA_LONG));
            assertArrayEquals(new float[] {0.5f, -1.5f}, w.tensor("unpacked").toFloatArray(), "unpacked float_data");
        }
    }

    @Test
    void unpackedInt64AndWrongCountsAreChecked() throws Exception {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        FormatFuzz.num(t, 1, 2);
        FormatFuzz.num(t, 2, 7);
        FormatFuzz.num(t, 7, 300);
        FormatFuzz.num(t, 7, -1); // a negative int64 is a 10-byte varint
        FormatFuzz.len(t, 8, "ids".getBytes());
        try (OnnxWeights w = parse(model(t.toByteArray()))) {
            assertArrayEquals(
                    new long[] {300, -1},
                    w.tensor("ids").storage().segment().asSlice(0, 16).toArray(ValueLayout.JAVA_LONG));
        }
        ByteArrayOutputStream bad = new ByteArrayOutputStream();
        FormatFuzz.num(bad, 1, 3); // dims [3] but two values
        FormatFuzz.num(bad, 2, 7);
        FormatFuzz.num(bad, 7, 1);
        FormatFuzz.num(bad, 7, 2);
        FormatFuzz.len(bad, 8, "ids".getBytes());
        var e = assertThrows(ModelFormatException.class, () -> parse(model(bad.toByteArray())));
        assertTrue(e.getMessage().contains("ids"), e.getMessage());
        ByteArrayOutputStream ext = new ByteArrayOutputStream();
        FormatFuzz.len(ext, 8, "w".getBytes());
        FormatFuzz.num(ext, 14, 1);
        assertTrue(assertThrows(ModelFormatException.class, () -> parse(model(ext.toByteArray())))
                .getMessage()
                .contains("external"));
    }
}
