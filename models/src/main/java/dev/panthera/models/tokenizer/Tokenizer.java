package dev.panthera.models.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A text tokenizer: added-token splitting, normalizer, pre-tokenizer, vocabulary model (byte-level BPE,
 * SentencePiece-style BPE with byte fallback, WordPiece), post-processor and decoder, as in HuggingFace's
 * {@code tokenizer.json}. Instances are immutable and safe to share between threads.
 *
 * <p>Loaders: {@link #fromHuggingFaceJson(Path)}, {@link #fromGpt2Files(Path, Path)} (encoder.json + vocab.bpe),
 * {@link #fromLlama2cBin(Path)} (llama2.c tokenizer.bin) and {@link #fromGgufVocab} (GGUF {@code tokenizer.ggml.*}
 * arrays). Malformed files throw {@link TokenizerFormatException} naming the field.
 *
 * <p>Added tokens are matched on the raw input text (before normalization), leftmost-longest, and never split;
 * the tokenizer.json {@code truncation} and {@code padding} settings are not applied implicitly: pass them to
 * {@link #encodeBatch}.
 *
 * <p>A tokenizer file can be hostile in ways that only show on a text: a regular expression that backtracks
 * catastrophically or recurses too deeply, a normalizer chain that grows the text without bound. Encoding and
 * decoding then stop after work linear in the text and throw an {@link java.io.UncheckedIOException} whose cause is
 * a {@link TokenizerFormatException} naming the component's field.
 */
public final class Tokenizer {
    /** An added token (special or not) matched in raw text before normalization. */
    record AddedToken(String content, int id, boolean special) {}

    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final Model model;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final Map<Integer, AddedToken> addedById = new HashMap<>();
    private final Map<String, AddedToken> addedByContent = new HashMap<>();
    /**
     * The added tokens as a trie over their characters: node 0 is the root, {@code addedEdges} maps (node, char) to
     * the child node, and {@code addedAtNode} holds the token a node spells, or null.
     */
    private final LongLongMap addedEdges;

    private final List<AddedToken> addedAtNode = new ArrayList<>();
    private final int size;
    private final int padId;

    Tokenizer(
            Normalizer normalizer,
            PreTokenizer preTokenizer,
            Model model,
            PostProcessor postProcessor,
            Decoder decoder,
            List<AddedToken> added,
            int padId) {
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        int max = model.size();
        long chars = 0;
        for (AddedToken t : added) chars += t.content().length();
        this.addedEdges = new LongLongMap((int) Math.min(chars, 1 << 16)); // grows as needed
        addedAtNode.add(null);
        for (AddedToken t : added) {
            addedById.put(t.id(), t);
            addedByContent.putIfAbsent(t.content(), t);
            int node = 0;
            for (int k = 0; k < t.content().length(); k++) {
                long edge = LongLongMap.pair(node, t.content().charAt(k));
                long child = addedEdges.get(edge);
                if (child < 0) {
                    child = addedAtNode.size();
                    addedEdges.putIfAbsent(edge, child);
                    addedAtNode.add(null);
                }
                node = (int) child;
            }
            if (node > 0 && addedAtNode.get(node) == null) addedAtNode.set(node, t); // the first of equal contents
            max = Math.max(max, t.id() + 1);
        }
        this.size = max;
        this.padId = padId;
    }

    /**
     * Loads a HuggingFace {@code tokenizer.json}.
     * @throws TokenizerFormatException when the file is malformed or uses an unsupported component
     * @throws IOException when the file cannot be read
     */
    public static Tokenizer fromHuggingFaceJson(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return fromHuggingFaceJson(in);
        }
    }

    /**
     * Loads a HuggingFace {@code tokenizer.json} from a stream (not closed).
     * @throws TokenizerFormatException when the content is malformed or uses an unsupported component
     * @throws IOException when the stream cannot be read
     */
    public static Tokenizer fromHuggingFaceJson(InputStream in) throws IOException {
        return HuggingFaceJson.load(in);
    }

    /**
     * Loads GPT-2's original files: {@code encoder.json} (token → id) and {@code vocab.bpe} (merges in rank order),
     * with GPT-2's byte-level pre-tokenizer and decoder and no special tokens added on encode
     * ({@code <|endoftext|>} is recognised in text when the vocabulary has it).
     */
    public static Tokenizer fromGpt2Files(Path encoderJson, Path vocabBpe) throws IOException {
        return VocabFiles.gpt2(encoderJson, vocabBpe);
    }

    /**
     * Loads llama2.c's {@code tokenizer.bin} (int32 max_token_length, then per token float32 score, int32 length,
     * bytes) as a SentencePiece BPE tokenizer that merges by score as llama2.c does; ids 0, 1, 2 are
     * the special tokens {@code <unk>}, BOS and EOS. Encoding adds BOS.
     */
    public static Tokenizer fromLlama2cBin(Path tokenizerBin) throws IOException {
        try (InputStream in = Files.newInputStream(tokenizerBin)) {
            return VocabFiles.llama2c(in);
        }
    }

    /**
     * Loads a SentencePiece {@code tokenizer.model}: BPE models merged by score (Llama 2, Mistral, Gemma) or unigram
     * models segmented by Viterbi (T5, ALBERT), "▁" for spaces with or without the dummy prefix, byte fallback; the
     * model's BOS is added on encode.
     *
     * @throws TokenizerFormatException when the protobuf is malformed or asks for what this reader does not reproduce
     *                                  (whitespace collapsing, a normalization table such as nmt_nfkc)
     */
    public static Tokenizer fromSentencePieceModel(Path tokenizerModel) throws IOException {
        long size = Files.size(tokenizerModel);
        if (size > 1L << 28)
            throw new TokenizerFormatException("tokenizer.model", "file of " + size + " bytes exceeds 256 MiB");
        return SentencePieceModel.read(Files.readAllBytes(tokenizerModel));
    }

    /**
     * Builds a tokenizer from GGUF-style vocabulary arrays ({@code tokenizer.ggml.*}).
     *
     * @param model {@code "llama"} (SentencePiece BPE merged by score, "▁" for spaces, byte fallback) or
     *              {@code "gpt2"} (byte-level BPE merged by the ranks in {@code merges})
     * @param tokens {@code tokenizer.ggml.tokens}
     * @param scores {@code tokenizer.ggml.scores}, or {@code null} (needed for "llama")
     * @param tokenTypes {@code tokenizer.ggml.token_type} (1 normal, 2 unknown, 3 control, 4 user defined,
     *                   5 unused, 6 byte), or {@code null} for all normal
     * @param merges {@code tokenizer.ggml.merges} ("a b" per merge, needed for "gpt2"), or {@code null}
     * @param bosId the BOS id to add on encode, or -1 for none
     * @param eosId the EOS id (a special token), or -1
     * @throws TokenizerFormatException when the arrays disagree or name tokens outside the vocabulary
     */
    public static Tokenizer fromGgufVocab(
            String model, String[] tokens, float[] scores, int[] tokenTypes, String[] merges, int bosId, int eosId)
            throws TokenizerFormatException {
        return VocabFiles.gguf(model, tokens, scores, tokenTypes, merges, bosId, eosId);
    }

    /**
     * As {@link #fromGgufVocab(String, String[], float[], int[], String[], int, int)}, with more of GGUF's keys.
     *
     * @param pre {@code tokenizer.ggml.pre} (or null): for "gpt2" models "default" / "gpt-2" (GPT-2's split) or
     *     "llama-bpe" (Llama 3's split, whole-word matches before merges); another value is refused
     * @param addEos {@code tokenizer.ggml.add_eos_token}: whether encode appends {@code eosId}
     * @param addSpacePrefix {@code tokenizer.ggml.add_space_prefix}: whether a "llama" model puts "▁" before the text
     *     (SentencePiece's add_dummy_prefix; true in the shorter overload)
     */
    public static Tokenizer fromGgufVocab(
            String model,
            String pre,
            String[] tokens,
            float[] scores,
            int[] tokenTypes,
            String[] merges,
            int bosId,
            int eosId,
            boolean addEos,
            boolean addSpacePrefix)
            throws TokenizerFormatException {
        return VocabFiles.gguf(model, pre, tokens, scores, tokenTypes, merges, bosId, eosId, addEos, addSpacePrefix);
    }

    /** @return the ids of {@code text} with the post-processor's special tokens */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * @param addSpecialTokens whether to apply the post-processor ([CLS]/[SEP], BOS)
     * @return the token ids of {@code text}
     * @throws java.io.UncheckedIOException wrapping a {@link TokenizerFormatException} when a component of the file
     *     exceeds its work or growth bound on this text (see the class comment)
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        int[] ids = encodeContent(text);
        return addSpecialTokens && postProcessor != null ? postProcessor.process(ids) : ids;
    }

    private int[] encodeContent(String text) {
        text = replaceLoneSurrogates(text);
        IntList out = new IntList(text.length() / 3 + 4);
        List<String> pieces = new ArrayList<>();
        int segStart = 0;
        boolean first = true;
        for (int i = 0; i < text.length(); ) {
            AddedToken t = addedAt(text, i);
            if (t == null) {
                i++;
                continue;
            }
            if (i > segStart) {
                encodeSegment(text.substring(segStart, i), first, pieces, out);
                first = false;
            }
            out.add(t.id());
            i += t.content().length();
            segStart = i;
        }
        if (segStart < text.length() || text.isEmpty()) encodeSegment(text.substring(segStart), first, pieces, out);
        return out.toArray();
    }

    /**
     * The longest added token that starts at {@code i}, or null: a walk down the trie, so the cost per position is
     * at most the longest token's length, whatever the number of tokens.
     */
    /**
     * {@code s} with each unpaired surrogate replaced by U+FFFD. HuggingFace's tokenizers take Rust strings, which
     * cannot hold one, and receive U+FFFD in its place; encoding it as UTF-8 here would give '?' instead.
     */
    static String replaceLoneSurrogates(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!Character.isSurrogate(c)) continue;
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
                continue;
            }
            if (b == null) b = new StringBuilder(s);
            b.setCharAt(i, '\uFFFD');
        }
        return b == null ? s : b.toString();
    }

    private AddedToken addedAt(String text, int i) {
        AddedToken best = null;
        int node = 0;
        for (int j = i; j < text.length() && addedAtNode.size() > 1; j++) {
            long child = addedEdges.get(LongLongMap.pair(node, text.charAt(j)));
            if (child < 0) break;
            node = (int) child;
            if (addedAtNode.get(node) != null) best = addedAtNode.get(node);
        }
        return best;
    }

    private void encodeSegment(String s, boolean first, List<String> pieces, IntList out) {
        if (normalizer != null) s = normalizer.normalize(s);
        if (s.isEmpty()) return;
        pieces.clear();
        if (preTokenizer != null) preTokenizer.split(s, first, pieces);
        else pieces.add(s);
        for (String p : pieces) if (!p.isEmpty()) model.tokenize(p, out);
    }

    /**
     * Encodes several texts with special tokens.
     *
     * @param padding pad every row to the longest with the pad id (attention mask 0 there)
     * @param maxLength truncate each row (special tokens included) to this many ids; 0 or less for no limit
     * @throws IllegalArgumentException when {@code maxLength} cannot even hold the special tokens
     */
    public BatchEncoding encodeBatch(List<String> texts, boolean padding, int maxLength) {
        int special = postProcessor == null ? 0 : postProcessor.added();
        if (maxLength > 0 && maxLength < special)
            throw new IllegalArgumentException(
                    "encodeBatch: maxLength " + maxLength + " < " + special + " special tokens");
        int[][] ids = new int[texts.size()][];
        int longest = 0;
        for (int r = 0; r < ids.length; r++) {
            int[] content = encodeContent(texts.get(r));
            if (maxLength > 0 && content.length > maxLength - special)
                content = Arrays.copyOf(content, maxLength - special);
            ids[r] = postProcessor == null ? content : postProcessor.process(content);
            longest = Math.max(longest, ids[r].length);
        }
        int[][] mask = new int[ids.length][];
        for (int r = 0; r < ids.length; r++) {
            int n = ids[r].length;
            if (padding && n < longest) {
                ids[r] = Arrays.copyOf(ids[r], longest);
                Arrays.fill(ids[r], n, longest, padId);
            }
            mask[r] = new int[ids[r].length];
            Arrays.fill(mask[r], 0, n, 1);
        }
        return new BatchEncoding(ids, mask);
    }

    /**
     * Decodes ids to text through the decoder chain (without a decoder, tokens are joined by spaces).
     *
     * @param skipSpecialTokens drop special added tokens (BOS, [CLS], [PAD], ...)
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            AddedToken a = addedById.get(id);
            if (a != null) {
                if (!(skipSpecialTokens && a.special())) tokens.add(a.content());
                continue;
            }
            String t = model.idToToken(id);
            if (t == null)
                throw new IllegalArgumentException("decode: id " + id + " is not in the vocabulary of size " + size);
            tokens.add(t);
        }
        if (decoder == null) return String.join(" ", tokens);
        return String.join("", decoder.decodeChain(tokens));
    }

    /** @return one more than the largest id, added tokens included */
    public int vocabSize() {
        return size;
    }

    /** @return the id of a token (added tokens first), or -1 */
    public int tokenToId(String token) {
        AddedToken a = addedByContent.get(token);
        return a != null ? a.id() : model.tokenToId(token);
    }

    /** @return the text of a token id, or {@code null} */
    public String idToToken(int id) {
        AddedToken a = addedById.get(id);
        return a != null ? a.content() : model.idToToken(id);
    }
}
