package dev.panthera.models.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * GPT-2's byte-level pieces: the reversible byte ↔ printable-character map and a scanner equivalent to GPT-2's
 * pre-tokenizer regex {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}
 * with {@code \s} as Unicode White_Space.
 */
final class ByteLevel {
    /** byte → the character GPT-2 prints it as. */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** character → byte, -1 when the character is not one of the 256. */
    static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            char c = printable ? (char) b : (char) (256 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    /** Maps the UTF-8 bytes of {@code s} to byte characters. */
    static String toByteChars(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        return new String(out);
    }

    /** Appends to {@code out} the bytes a byte-character string stands for; other characters as UTF-8. */
    static void fromByteChars(String s, java.io.ByteArrayOutputStream out) {
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) out.write(b);
            else out.writeBytes(Character.toString(c).getBytes(StandardCharsets.UTF_8));
        }
    }

    private static int kind(int c) {
        if (CharClass.isWhitespace(c)) return 0;
        if (Character.isLetter(c)) return 1;
        int t = Character.getType(c);
        if (t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER)
            return 2;
        return 3;
    }

    private static int contraction(String s, int i) {
        if (s.charAt(i) != '\'' || i + 1 >= s.length()) return 0;
        char a = s.charAt(i + 1);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (i + 2 < s.length()) {
            char b = s.charAt(i + 2);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        }
        return 0;
    }

    /** Splits {@code s} as the GPT-2 regex does. */
    static void split(String s, List<String> out) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            int len = contraction(s, i);
            if (len > 0) {
                out.add(s.substring(i, i + len));
                i += len;
                continue;
            }
            int j = i;
            if (s.charAt(j) == ' ' && j + 1 < n) j++;
            int c = s.codePointAt(j);
            int k = kind(c);
            if (k != 0) {
                int e = j + Character.charCount(c);
                while (e < n) {
                    int d = s.codePointAt(e);
                    if (kind(d) != k) break;
                    e += Character.charCount(d);
                }
                out.add(s.substring(i, e));
                i = e;
                continue;
            }
            // white space at i: \s+(?!\S) then \s+
            int e = i, last = i;
            while (e < n) {
                int d = s.codePointAt(e);
                if (!CharClass.isWhitespace(d)) break;
                last = e;
                e += Character.charCount(d);
            }
            if (e < n && last > i) e = last;
            out.add(s.substring(i, e));
            i = e;
        }
    }
}
