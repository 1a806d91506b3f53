package dev.panthera.models.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a SentencePiece BPE {@code tokenizer.model} (the protobuf {@code ModelProto} of sentencepiece_model.proto)
 * from a vocabulary held as GGUF's "llama" arrays or a llama2.c tokenizer.bin: the pieces with score and type (field
 * 1), a {@code trainer_spec} (field 2) with model_type BPE, byte_fallback when byte pieces are present and the
 * unk/bos/eos ids, and a {@code normalizer_spec} (field 3) named "identity" with the dummy prefix as given and no
 * whitespace collapsing: the fields {@link SentencePieceModel} and SentencePiece itself read to tokenize as the source
 * vocabulary does.
 */
public final class SentencePieceWriter {
    private SentencePieceWriter() {}

    private static final int BPE = 2, BYTE = 6;

    /**
     * @param pieces the pieces ("▁" for a space)
     * @param scores their scores (the BPE merge priority)
     * @param types their types as GGUF numbers them (1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte)
     * @param unk the unknown id, or -1
     * @param bos the BOS id, or -1
     * @param eos the EOS id, or -1
     * @param dummyPrefix whether a "▁" goes before the text (SentencePiece's add_dummy_prefix)
     */
    public static void write(
            Path out, String[] pieces, float[] scores, int[] types, int unk, int bos, int eos, boolean dummyPrefix)
            throws IOException {
        int n = pieces.length;
        if (scores.length != n || types.length != n)
            throw new IllegalArgumentException("tokenizer.model write: " + n + " pieces but " + scores.length
                    + " scores and " + types.length + " types");
        for (int[] id : new int[][] {{unk, 'u'}, {bos, 'b'}, {eos, 'e'}})
            if (id[0] < -1 || id[0] >= n)
                throw new IllegalArgumentException("tokenizer.model write: special id " + id[0] + " (" + (char) id[1]
                        + "nk/os) outside the " + n + " pieces");
        ByteArrayOutputStream b = new ByteArrayOutputStream(n * 16);
        boolean bytes = false;
        for (int i = 0; i < n; i++) {
            if (types[i] < 1 || types[i] > 6)
                throw new IllegalArgumentException(
                        "tokenizer.model write: piece " + i + " has type " + types[i] + " (1..6)");
            bytes |= types[i] == BYTE;
            ByteArrayOutputStream p = new ByteArrayOutputStream();
            bytesField(p, 1, pieces[i].getBytes(StandardCharsets.UTF_8));
            tag(p, 2, 5);
            int s = Float.floatToRawIntBits(scores[i]);
            for (int k = 0; k < 4; k++) p.write(s >>> (8 * k));
            varintField(p, 3, types[i]);
            bytesField(b, 1, p.toByteArray());
        }
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        varintField(t, 3, BPE);
        if (bytes) varintField(t, 35, 1);
        varintField(t, 40, unk);
        varintField(t, 41, bos);
        varintField(t, 42, eos);
        varintField(t, 43, -1); // no padding id
        bytesField(b, 2, t.toByteArray());
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        bytesField(z, 1, "identity".getBytes(StandardCharsets.US_ASCII));
        varintField(z, 3, dummyPrefix ? 1 : 0);
        varintField(z, 4, 0);
        bytesField(b, 3, z.toByteArray());
        Files.write(out, b.toByteArray());
    }

    private static void tag(ByteArrayOutputStream o, int field, int wire) {
        varint(o, ((long) field << 3) | wire);
    }

    /** A varint field; a negative int is written as protobuf does, as its 64-bit two's complement. */
    private static void varintField(ByteArrayOutputStream o, int field, int v) {
        tag(o, field, 0);
        varint(o, v);
    }

    private static void bytesField(ByteArrayOutputStream o, int field, byte[] v) {
        tag(o, field, 2);
        varint(o, v.length);
        o.writeBytes(v);
    }

    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }
}
