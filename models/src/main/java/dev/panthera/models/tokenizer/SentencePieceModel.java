package dev.panthera.models.tokenizer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a SentencePiece {@code tokenizer.model} (the protobuf {@code ModelProto} of sentencepiece_model.proto) as
 * used by Llama 2, Mistral and others: repeated {@code pieces} (field 1: piece string 1, score float 2, type enum 3),
 * {@code trainer_spec} (field 2: model_type 3, byte_fallback 35, unk_id 40, bos_id 41, eos_id 42) and
 * {@code normalizer_spec} (field 3: name 1, add_dummy_prefix 3, remove_extra_whitespaces 4). The piece types number
 * as GGUF's token types (1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte), so the vocabulary is built
 * by {@link VocabFiles#gguf}: BPE models like a GGUF "llama" vocabulary (merged by score, "▁" for spaces, byte
 * fallback), unigram models (T5, ALBERT) by Viterbi over the piece scores ({@link UnigramModel}); the dummy "▁"
 * prefix on or off (Gemma has it off).
 *
 * <p>Only what these models reproduce is accepted: no whitespace collapsing and no normalization table (nmt_nfkc and
 * the like); anything else is rejected with the field named, never tokenized differently. Every length
 * is checked against the bytes that remain before it is read.
 */
final class SentencePieceModel {
    private SentencePieceModel() {}

    private static final int UNIGRAM = 1, BPE = 2;

    /**
     * The fields of a tokenizer.model that a vocabulary needs, as stored (no support check): pieces with their scores
     * and types, the trainer's model type and special ids, and the normalizer's settings.
     */
    record Proto(
            String[] pieces,
            float[] scores,
            int[] types,
            int modelType,
            int unk,
            int bos,
            int eos,
            boolean dummyPrefix,
            boolean collapse,
            boolean byteFallback,
            String normalizer) {
        boolean bpe() {
            return modelType == BPE;
        }
    }

    static Tokenizer read(byte[] bytes) throws TokenizerFormatException {
        Proto m = parse(bytes);
        if (m.modelType() != BPE && m.modelType() != UNIGRAM)
            throw new TokenizerFormatException(
                    "tokenizer.model:trainer_spec.model_type",
                    "only UNIGRAM (1) and BPE (2) are supported, got " + m.modelType());
        if (m.collapse())
            throw new TokenizerFormatException(
                    "tokenizer.model:normalizer_spec.remove_extra_whitespaces", "true is not supported");
        if (m.normalizer() != null && !m.normalizer().equals("identity"))
            throw new TokenizerFormatException(
                    "tokenizer.model:normalizer_spec.name",
                    "only 'identity' is supported, got '" + m.normalizer() + "'");
        return VocabFiles.gguf(
                m.bpe() ? "llama" : "unigram",
                m.pieces(),
                m.scores(),
                m.types(),
                null,
                m.bos(),
                m.eos(),
                m.dummyPrefix(),
                m.byteFallback());
    }

    /** Reads the protobuf, checking every length and the special ids against the pieces. */
    static Proto parse(byte[] bytes) throws TokenizerFormatException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        int modelType = 1; // proto default: UNIGRAM
        int unk = 0, bos = 1, eos = 2;
        boolean dummyPrefix = true, collapse = true, byteFallback = false;
        String normalizer = null;
        while (b.hasRemaining()) {
            long tag = varint(b, "ModelProto");
            int field = (int) (tag >>> 3), wire = (int) (tag & 7);
            if (field == 1 && wire == 2) {
                ByteBuffer p = message(b, "pieces[" + pieces.size() + "]");
                readPiece(p, pieces, scores, types);
            } else if (field == 2 && wire == 2) {
                ByteBuffer t = message(b, "trainer_spec");
                while (t.hasRemaining()) {
                    long tt = varint(t, "trainer_spec");
                    int f = (int) (tt >>> 3), w = (int) (tt & 7);
                    if (w == 0 && f == 35) byteFallback = varint(t, "trainer_spec.byte_fallback") != 0;
                    else if (w == 0 && (f == 3 || f == 40 || f == 41 || f == 42)) {
                        long v = varint(t, "trainer_spec." + f);
                        int iv = (int) v; // negative ids (-1: none) arrive as 64-bit two's complement
                        switch (f) {
                            case 3 -> modelType = iv;
                            case 40 -> unk = iv;
                            case 41 -> bos = iv;
                            default -> eos = iv;
                        }
                    } else skip(t, w, "trainer_spec." + f);
                }
            } else if (field == 3 && wire == 2) {
                ByteBuffer n = message(b, "normalizer_spec");
                while (n.hasRemaining()) {
                    long nt = varint(n, "normalizer_spec");
                    int f = (int) (nt >>> 3), w = (int) (nt & 7);
                    if (f == 1 && w == 2) normalizer = utf8(message(n, "normalizer_spec.name"), "normalizer_spec.name");
                    else if (f == 3 && w == 0) dummyPrefix = varint(n, "normalizer_spec.add_dummy_prefix") != 0;
                    else if (f == 4 && w == 0) collapse = varint(n, "normalizer_spec.remove_extra_whitespaces") != 0;
                    else skip(n, w, "normalizer_spec." + f);
                }
            } else skip(b, wire, "ModelProto." + field);
        }
        if (pieces.isEmpty()) throw new TokenizerFormatException("tokenizer.model:pieces", "no pieces");
        int n = pieces.size();
        for (int[] id : new int[][] {{unk, 40}, {bos, 41}, {eos, 42}})
            if (id[0] < -1 || id[0] >= n)
                throw new TokenizerFormatException(
                        "tokenizer.model:trainer_spec." + id[1], id[0] + " outside the " + n + " pieces");
        String[] t = pieces.toArray(String[]::new);
        float[] s = new float[n];
        int[] ty = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = scores.get(i);
            ty[i] = types.get(i);
        }
        return new Proto(t, s, ty, modelType, unk, bos, eos, dummyPrefix, collapse, byteFallback, normalizer);
    }

    private static void readPiece(ByteBuffer p, List<String> pieces, List<Float> scores, List<Integer> types)
            throws TokenizerFormatException {
        String where = "tokenizer.model:pieces[" + pieces.size() + "]";
        if (pieces.size() >= VocabFiles.MAX_TOKENS)
            throw new TokenizerFormatException(where, "more than " + VocabFiles.MAX_TOKENS + " pieces");
        String piece = null;
        float score = 0;
        int type = 1; // proto default: NORMAL
        while (p.hasRemaining()) {
            long tag = varint(p, where);
            int f = (int) (tag >>> 3), w = (int) (tag & 7);
            if (f == 1 && w == 2) piece = utf8(message(p, where + ".piece"), where + ".piece");
            else if (f == 2 && w == 5) {
                if (p.remaining() < 4) throw new TokenizerFormatException(where + ".score", "truncated");
                score = p.getFloat();
                if (!Float.isFinite(score)) throw new TokenizerFormatException(where + ".score", "not finite");
            } else if (f == 3 && w == 0) {
                long v = varint(p, where + ".type");
                if (v < 1 || v > 6) throw new TokenizerFormatException(where + ".type", "unknown type " + v);
                type = (int) v;
            } else skip(p, w, where + "." + f);
        }
        if (piece == null) throw new TokenizerFormatException(where + ".piece", "missing");
        pieces.add(piece);
        scores.add(score);
        types.add(type);
    }

    private static long varint(ByteBuffer b, String where) throws TokenizerFormatException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!b.hasRemaining()) throw new TokenizerFormatException("tokenizer.model:" + where, "truncated varint");
            byte x = b.get();
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) return v;
        }
        throw new TokenizerFormatException("tokenizer.model:" + where, "varint longer than 10 bytes");
    }

    /** A length-delimited field's bytes, as a view; the buffer moves past them. */
    private static ByteBuffer message(ByteBuffer b, String where) throws TokenizerFormatException {
        long len = varint(b, where);
        if (len < 0 || len > b.remaining())
            throw new TokenizerFormatException(
                    "tokenizer.model:" + where, "length " + len + " exceeds the " + b.remaining() + " bytes left");
        ByteBuffer m = b.slice(b.position(), (int) len).order(ByteOrder.LITTLE_ENDIAN);
        b.position(b.position() + (int) len);
        return m;
    }

    private static void skip(ByteBuffer b, int wire, String where) throws TokenizerFormatException {
        int n;
        switch (wire) {
            case 0 -> {
                varint(b, where);
                return;
            }
            case 1 -> n = 8;
            case 2 -> {
                message(b, where);
                return;
            }
            case 5 -> n = 4;
            default -> throw new TokenizerFormatException("tokenizer.model:" + where, "unsupported wire type " + wire);
        }
        if (b.remaining() < n) throw new TokenizerFormatException("tokenizer.model:" + where, "truncated");
        b.position(b.position() + n);
    }

    private static String utf8(ByteBuffer b, String where) throws TokenizerFormatException {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(b)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new TokenizerFormatException("tokenizer.model:" + where, "malformed UTF-8");
        }
    }
}
