package dev.panthera.models.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Tokenizers from vocabularies outside tokenizer.json: GPT-2's files, llama2.c's tokenizer.bin, GGUF arrays. */
final class VocabFiles {
    /** A vocabulary larger than this is refused before allocation. */
    static final int MAX_TOKENS = 1 << 22;

    private static final String SPACE = "\u2581";

    private VocabFiles() {}

    static Tokenizer gpt2(Path encoderJson, Path vocabBpe) throws IOException {
        JsonTree.Node enc;
        try (InputStream in = Files.newInputStream(encoderJson)) {
            enc = JsonTree.parse(in, "encoder.json");
        }
        List<Map.Entry<String, Integer>> entries = new ArrayList<>();
        List<Map.Entry<String, JsonTree.Node>> members = enc.entries();
        for (Map.Entry<String, JsonTree.Node> e : members)
            entries.add(Map.entry(e.getKey(), e.getValue().integer(0, 2 * members.size() + 1023)));
        Vocab vocab = Vocab.of(entries, "encoder.json");
        List<String[]> merges = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(vocabBpe, StandardCharsets.UTF_8)) {
            int line = 0;
            for (String s; (s = r.readLine()) != null; line++) {
                if ((line == 0 && s.startsWith("#version")) || s.isEmpty()) continue;
                String[] p = s.split(" ", -1);
                if (p.length != 2)
                    throw new TokenizerFormatException("vocab.bpe:line " + (line + 1), "expected 'left right'");
                merges.add(p);
            }
        } catch (java.nio.charset.MalformedInputException e) {
            throw new TokenizerFormatException("vocab.bpe", "malformed UTF-8", e);
        }
        BpeModel model = new BpeModel(vocab, merges, null, false, false, false, null, null, "vocab.bpe");
        List<Tokenizer.AddedToken> added = new ArrayList<>();
        int eot = vocab.id("<|endoftext|>");
        if (eot >= 0) added.add(new Tokenizer.AddedToken("<|endoftext|>", eot, true));
        return new Tokenizer(
                null,
                new PreTokenizer.ByteLevelSplit(false, true),
                model,
                null,
                new Decoder.ByteLevelDecoder(),
                added,
                0);
    }

    static Tokenizer llama2c(InputStream raw) throws IOException {
        byte[] all = raw.readNBytes(Integer.MAX_VALUE - 16);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 4)
            throw new TokenizerFormatException("tokenizer.bin:max_token_length", "file shorter than 4 bytes");
        int maxLen = b.getInt();
        if (maxLen <= 0 || maxLen > 1 << 16)
            throw new TokenizerFormatException("tokenizer.bin:max_token_length", "expected 1..65536, got " + maxLen);
        List<String> tokens = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT);
        while (b.hasRemaining()) {
            String f = "tokenizer.bin:token[" + tokens.size() + "]";
            if (tokens.size() >= MAX_TOKENS)
                throw new TokenizerFormatException(f, "more than " + MAX_TOKENS + " tokens");
            if (b.remaining() < 8) throw new TokenizerFormatException(f, "truncated score/length");
            float score = b.getFloat();
            int len = b.getInt();
            if (len < 0 || len > maxLen)
                throw new TokenizerFormatException(f + ".len", len + " outside [0, " + maxLen + "]");
            if (b.remaining() < len) throw new TokenizerFormatException(f + ".bytes", "file ends inside the token");
            if (!Float.isFinite(score)) throw new TokenizerFormatException(f + ".score", "not finite: " + score);
            ByteBuffer slice = b.slice(b.position(), len);
            b.position(b.position() + len);
            try {
                tokens.add(dec.decode(slice).toString());
            } catch (CharacterCodingException e) {
                throw new TokenizerFormatException(f + ".bytes", "malformed UTF-8");
            }
            scores.add(score);
        }
        if (tokens.size() < 3)
            throw new TokenizerFormatException("tokenizer.bin", "fewer than 3 tokens (<unk>, <s>, </s>)");
        String[] t = new String[tokens.size()];
        float[] s = new float[t.length];
        int[] types = new int[t.length];
        for (int i = 0; i < t.length; i++) {
            // llama2.c's export wrote spaces for SentencePiece's "▁" and "\n<s>\n" for BOS/EOS
            t[i] = i < 3
                    ? List.of("<unk>", "<s>", "</s>").get(i)
                    : tokens.get(i).replace(" ", SPACE);
            s[i] = scores.get(i);
            types[i] = i == 0 ? 2 : i < 3 ? 3 : BYTE_NAME.matcher(t[i]).matches() ? 6 : 1;
        }
        return gguf("llama", t, s, types, null, 1, 2);
    }

    private static final Pattern BYTE_NAME = Pattern.compile("<0x[0-9A-F]{2}>");

    static Tokenizer gguf(String model, String[] tokens, float[] scores, int[] types, String[] merges, int bos, int eos)
            throws TokenizerFormatException {
        return gguf(model, tokens, scores, types, merges, bos, eos, true, true);
    }

    /**
     * Llama 3's split (tokenizer.json's form; llama.cpp spells the case-insensitive contractions as classes), which
     * GGUF names pre "llama-bpe".
     */
    static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    static Tokenizer gguf(
            String model,
            String pre,
            String[] tokens,
            float[] scores,
            int[] types,
            String[] merges,
            int bos,
            int eos,
            boolean addEos,
            boolean addSpacePrefix)
            throws TokenizerFormatException {
        preTokenizer(model, pre); // refuse an unknown split before building anything
        return gguf(model, pre, tokens, scores, types, merges, bos, eos, addEos, addSpacePrefix, true);
    }

    /**
     * The byte-level split of GGUF pre-tokenizer {@code pre} for a "gpt2" model: GPT-2's ("default", "gpt-2" or
     * absent) or Llama 3's ("llama-bpe", whose BPE also takes a whole-word vocabulary match before merging, as
     * HuggingFace's ignore_merges and llama.cpp do). Another split would tokenize differently, so it is refused.
     */
    static PreTokenizer preTokenizer(String model, String pre) throws TokenizerFormatException {
        if (!model.equals("gpt2") || pre == null || pre.equals("default") || pre.equals("gpt-2"))
            return new PreTokenizer.ByteLevelSplit(false, true);
        if (pre.equals("llama-bpe"))
            return new PreTokenizer.Sequence(List.of(
                    new PreTokenizer.Split(
                            new BoundedRegex(
                                    Pattern.compile(LLAMA3_SPLIT, Pattern.UNICODE_CHARACTER_CLASS),
                                    "tokenizer.ggml.pre"),
                            "Isolated",
                            false),
                    new PreTokenizer.ByteLevelSplit(false, false)));
        throw new TokenizerFormatException(
                "tokenizer.ggml.pre", "unsupported pre-tokenizer '" + pre + "' (default, gpt-2 or llama-bpe)");
    }

    /**
     * As above; for the SentencePiece models ({@code "llama"}, {@code "unigram"}) {@code addSpacePrefix} says whether
     * a "▁" is prepended to the text (SentencePiece's add_dummy_prefix, GGUF's tokenizer.ggml.add_space_prefix; Gemma
     * has it off) and {@code byteFallback} whether a unigram model spells uncovered text as {@code <0xNN>} tokens.
     */
    static Tokenizer gguf(
            String model,
            String[] tokens,
            float[] scores,
            int[] types,
            String[] merges,
            int bos,
            int eos,
            boolean addSpacePrefix,
            boolean byteFallback)
            throws TokenizerFormatException {
        return gguf(model, null, tokens, scores, types, merges, bos, eos, false, addSpacePrefix, byteFallback);
    }

    private static Tokenizer gguf(
            String model,
            String pre,
            String[] tokens,
            float[] scores,
            int[] types,
            String[] merges,
            int bos,
            int eos,
            boolean addEos,
            boolean addSpacePrefix,
            boolean byteFallback)
            throws TokenizerFormatException {
        if (tokens == null) throw new TokenizerFormatException("tokenizer.ggml.tokens", "missing");
        int n = tokens.length;
        if (n == 0 || n > MAX_TOKENS)
            throw new TokenizerFormatException(
                    "tokenizer.ggml.tokens", "size " + n + " outside [1, " + MAX_TOKENS + "]");
        if (scores != null && scores.length != n)
            throw new TokenizerFormatException(
                    "tokenizer.ggml.scores", "length " + scores.length + " != " + n + " tokens");
        if (types != null && types.length != n)
            throw new TokenizerFormatException(
                    "tokenizer.ggml.token_type", "length " + types.length + " != " + n + " tokens");
        if (bos < -1 || bos >= n)
            throw new TokenizerFormatException("tokenizer.ggml.bos_token_id", bos + " outside the vocabulary");
        if (eos < -1 || eos >= n)
            throw new TokenizerFormatException("tokenizer.ggml.eos_token_id", eos + " outside the vocabulary");
        List<Tokenizer.AddedToken> added = new ArrayList<>();
        boolean[] mergeable = new boolean[n];
        int unk = -1;
        for (int i = 0; i < n; i++) {
            if (tokens[i] == null) throw new TokenizerFormatException("tokenizer.ggml.tokens[" + i + "]", "null");
            int type = types == null ? 1 : types[i];
            if (type < 0 || type > 6)
                throw new TokenizerFormatException("tokenizer.ggml.token_type[" + i + "]", "unknown type " + type);
            mergeable[i] = type == 1 || type == 0 || type == 4 || type == 6;
            if (type == 2 && unk < 0) unk = i;
            // unknown (2), control (3) and user-defined (4) tokens are matched whole in the text, as llama.cpp and
            // HuggingFace's Llama tokenizers do; all but user-defined ones are special (skipped on decode)
            if ((type == 2 || type == 3 || type == 4 || i == bos || i == eos) && !tokens[i].isEmpty())
                added.add(new Tokenizer.AddedToken(tokens[i], i, type != 4));
        }
        Vocab vocab = Vocab.ofArray(tokens);
        int[] before = bos >= 0 ? new int[] {bos} : new int[0],
                after = addEos && eos >= 0 ? new int[] {eos} : new int[0];
        PostProcessor post = before.length + after.length > 0 ? new PostProcessor.Template(before, after) : null;
        switch (model) {
            case "llama", "unigram": {
                if (scores == null)
                    throw new TokenizerFormatException("tokenizer.ggml.scores", "missing (needed for " + model + ")");
                for (int i = 0; i < n; i++)
                    if (!Float.isFinite(scores[i]))
                        throw new TokenizerFormatException("tokenizer.ggml.scores[" + i + "]", "not finite");
                Normalizer spaces = new Normalizer.Replace(
                        new BoundedRegex(Pattern.compile(" ", Pattern.LITERAL), "normalizer"), SPACE);
                Normalizer norm = addSpacePrefix
                        ? new Normalizer.Sequence(
                                List.of(new Normalizer.Prepend(SPACE, "normalizer"), spaces), "normalizer")
                        : spaces;
                List<Decoder> steps = new ArrayList<>(List.of(
                        new Decoder.Replace(new BoundedRegex(Pattern.compile(SPACE, Pattern.LITERAL), "decoder"), " "),
                        new Decoder.ByteFallback(),
                        new Decoder.Fuse()));
                if (addSpacePrefix) steps.add(new Decoder.Strip(' ', 1, 0));
                Decoder dec = new Decoder.Sequence(steps);
                Model m;
                if (model.equals("llama")) m = new ScoreBpeModel(vocab, scores, mergeable, unk);
                else {
                    int[] ty = new int[n];
                    for (int i = 0; i < n; i++) ty[i] = types == null ? 1 : types[i];
                    m = new UnigramModel(vocab, scores, ty, unk, byteFallback);
                }
                return new Tokenizer(norm, null, m, post, dec, added, 0);
            }
            case "gpt2": {
                if (merges == null)
                    throw new TokenizerFormatException("tokenizer.ggml.merges", "missing (needed for gpt2)");
                List<String[]> pairs = new ArrayList<>(merges.length);
                for (int i = 0; i < merges.length; i++) {
                    String s = merges[i];
                    int sp = s == null ? -1 : s.indexOf(' ');
                    if (sp < 0 || s.indexOf(' ', sp + 1) >= 0)
                        throw new TokenizerFormatException("tokenizer.ggml.merges[" + i + "]", "expected 'left right'");
                    pairs.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
                }
                boolean llama3 = "llama-bpe".equals(pre);
                BpeModel bpe = new BpeModel(vocab, pairs, null, false, false, llama3, null, null, "tokenizer.ggml");
                return new Tokenizer(
                        null, preTokenizer(model, pre), bpe, post, new Decoder.ByteLevelDecoder(), added, 0);
            }
            default:
                throw new TokenizerFormatException(
                        "tokenizer.ggml.model", "unsupported model '" + model + "' (llama, unigram or gpt2)");
        }
    }
}
