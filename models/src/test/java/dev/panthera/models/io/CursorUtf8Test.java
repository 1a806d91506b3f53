package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The model readers' strict UTF-8 decoding ({@link Cursor#decodeUtf8}): valid bytes decode as they are, a U+FFFD
 * written in the file is kept, and every malformed form (a stray continuation byte, an overlong encoding, an encoded
 * surrogate, a truncated sequence, 0xFF) is an error naming the field. Expected strings are written here as Java
 * literals, the bytes by hand from the UTF-8 definition (RFC 3629).
 */
class CursorUtf8Test {
    private static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) out[i] = (byte) b[i];
        return out;
    }

    @Test
    void validBytesDecodeAsTheyAre() throws Exception {
        assertEquals("the", Cursor.decodeUtf8("gguf", "f", bytes('t', 'h', 'e')));
        // U+2581 (SentencePiece's word start) then "the"
        assertEquals("\u2581the", Cursor.decodeUtf8("gguf", "f", bytes(0xE2, 0x96, 0x81, 't', 'h', 'e')));
        // U+1F600, four bytes: a surrogate pair in Java
        assertEquals("\uD83D\uDE00", Cursor.decodeUtf8("gguf", "f", bytes(0xF0, 0x9F, 0x98, 0x80)));
        // a replacement character written in the file is a valid string
        assertEquals("a\uFFFDb", Cursor.decodeUtf8("gguf", "f", bytes('a', 0xEF, 0xBF, 0xBD, 'b')));
        assertEquals("", Cursor.decodeUtf8("gguf", "f", new byte[0]));
    }

    @Test
    void malformedBytesAreAnErrorNamingTheField() {
        int[][] cases = {
            {0x80}, // a continuation byte alone
            {0xC0, 0xAF}, // overlong "/"
            {0xED, 0xA0, 0x80}, // U+D800, a surrogate, encoded
            {'a', 0xE2, 0x96}, // truncated
            {0xFF},
            {0xEF, 0xBF, 0xBD, 0x80} // a valid U+FFFD, then a stray continuation byte
        };
        for (int[] c : cases) {
            var e = assertThrows(ModelFormatException.class, () -> Cursor.decodeUtf8("gguf", "metadata 'x'", bytes(c)));
            assertTrue(e.getMessage().contains("metadata 'x'") && e.getMessage().contains("UTF-8"), e.getMessage());
        }
    }
}
