package dev.panthera.models.bert;

import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.models.tokenizer.Tokenizer;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A BERT encoder (embeddings, post-norm self-attention layers with GELU feed-forward) over a checkpoint it owns:
 * the weights stay in the file image until {@link #close()}. Batches of different lengths run in one pass, padded
 * on the right with an attention mask. {@link #embed} turns sentences into pooled, optionally L2-normalised
 * vectors. The pooler head (dense + tanh on [CLS]) is not part of this model: sentence embeddings do not use it.
 */
public final class BertModel implements AutoCloseable {
    private final BertConfig config;
    private final Weights weights;
    private final Tokenizer tokenizer;
    private final Pooling pooling;
    private final boolean normalize;
    private final int maxLength;
    private final BertEmbeddings embeddings;
    private final BertLayer[] layers;

    /**
     * Builds the model over {@code weights}, which it then owns (closed by {@link #close()}, and on failure here).
     *
     * @param tokenizer the checkpoint's tokenizer, or null (then only {@link #forward} works)
     * @param pooling and {@code normalize}: what {@link #embed(List)} does by default
     * @param maxLength longest tokenized input {@link #embed} keeps (special tokens included); at most the
     *     config's position count
     */
    public BertModel(
            BertConfig config,
            Weights weights,
            Tokenizer tokenizer,
            Pooling pooling,
            boolean normalize,
            int maxLength) {
        this(config, weights, tokenizer, pooling, normalize, maxLength, null);
    }

    /**
     * As {@link #BertModel(BertConfig, Weights, Tokenizer, Pooling, boolean, int)}, every linear map of the encoder
     * built by {@code maker} (or kept float where it returns null, or when {@code maker} is null): how the encoder
     * runs in int8 ({@link BertLinearMaker#w8a8()}).
     */
    public BertModel(
            BertConfig config,
            Weights weights,
            Tokenizer tokenizer,
            Pooling pooling,
            boolean normalize,
            int maxLength,
            BertLinearMaker maker) {
        try {
            if (maxLength < 2 || maxLength > config.maxPositions())
                throw new IllegalArgumentException("BertModel: maxLength " + maxLength + " outside [2, "
                        + config.maxPositions() + "] (max_position_embeddings)");
            this.config = config;
            this.weights = weights;
            this.tokenizer = tokenizer;
            this.pooling = pooling;
            this.normalize = normalize;
            this.maxLength = maxLength;
            BertWeights w = new BertWeights(weights);
            embeddings = new BertEmbeddings(config, w);
            layers = new BertLayer[config.layers()];
            for (int i = 0; i < layers.length; i++) layers[i] = new BertLayer(config, w, i, maker);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * Loads a HuggingFace folder (config.json + model.safetensors + tokenizer.json or vocab.txt), an ONNX export
     * (a {@code .onnx} file; config.json and tokenizer.json beside it or above its onnx/ folder, else the config is read
     * from the graph), or one of the names {@link BertModels#names()} resolves to a jar in the local Maven
     * repository.
     */
    public static BertModel load(Path path) throws IOException {
        return BertLoader.load(path);
    }

    /** A known model name ({@code all-minilm-l6-v2}, {@code bge-small-en-v1.5}) or a path, as {@link #load(Path)}. */
    public static BertModel load(String nameOrPath) throws IOException {
        return BertModels.isKnown(nameOrPath) ? BertModels.load(nameOrPath) : BertLoader.load(Path.of(nameOrPath));
    }

    public BertConfig config() {
        return config;
    }

    /** The tokenizer that came with the checkpoint, or null. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The pooling {@link #embed(List)} uses. */
    public Pooling pooling() {
        return pooling;
    }

    /** Whether {@link #embed(List)} L2-normalises. */
    public boolean normalizes() {
        return normalize;
    }

    public int maxLength() {
        return maxLength;
    }

    /** {@link #forward(Tensor, Tensor, int[][], boolean, boolean)} of a tokenized batch, token types 0. */
    public EncoderOutput forward(BatchEncoding batch, boolean hiddenStates, boolean attentions) {
        return forward(batch, hiddenStates, attentions, false);
    }

    /** {@link #forward(Tensor, Tensor, int[][], boolean, boolean, boolean)} of a tokenized batch, token types 0. */
    public EncoderOutput forward(BatchEncoding batch, boolean hiddenStates, boolean attentions, boolean scores) {
        int b = batch.ids().length, t = b == 0 ? 0 : batch.ids()[0].length;
        long[] ids = new long[b * t];
        for (int r = 0; r < b; r++) {
            if (batch.ids()[r].length != t)
                throw new IllegalArgumentException("BertModel: row " + r + " has " + batch.ids()[r].length
                        + " ids, row 0 has " + t + " (pad the batch)");
            for (int j = 0; j < t; j++) ids[r * t + j] = batch.ids()[r][j];
        }
        return forward(Tensor.of(ids, b, t), null, batch.attentionMask(), hiddenStates, attentions, scores);
    }

    /**
     * Runs the encoder.
     *
     * @param ids integer token ids [B, T], T at most max_position_embeddings
     * @param tokenTypes integer token types [B, T] in [0, type_vocab_size), or null for all 0
     * @param mask [B][T] of 1 (a real token) and 0 (padding); null for no padding. Each row needs a real token.
     * @param hiddenStates also return the embedding output and every layer's output
     * @param attentions also return every layer's attention probabilities
     */
    public EncoderOutput forward(
            Tensor ids, Tensor tokenTypes, int[][] mask, boolean hiddenStates, boolean attentions) {
        return forward(ids, tokenTypes, mask, hiddenStates, attentions, false);
    }

    /**
     * As {@link #forward(Tensor, Tensor, int[][], boolean, boolean)}; with {@code scores} also every layer's attention
     * scores before the softmax, the padding mask added as transformers' eager attention adds it (see {@link
     * EncoderOutput#attentionScores}): what TinyBERT's attention loss fits.
     */
    public EncoderOutput forward(
            Tensor ids, Tensor tokenTypes, int[][] mask, boolean hiddenStates, boolean attentions, boolean scores) {
        if (ids.rank() != 2 || ids.dtype().isFloatingPoint())
            throw new IllegalArgumentException("BertModel: ids must be integer [batch, seq], got " + ids.describe());
        long b = ids.size(0), t = ids.size(1);
        if (b == 0 || t == 0) throw new IllegalArgumentException("BertModel: empty batch " + ids.shape());
        if (t > config.maxPositions())
            throw new IllegalArgumentException(
                    "BertModel: " + t + " positions exceed max_position_embeddings " + config.maxPositions());
        checkRange("token id", ids, config.vocab());
        if (tokenTypes == null) {
            tokenTypes = Tensor.zeros(DType.I64, ids.shape());
        } else {
            if (!tokenTypes.shape().equals(ids.shape()) || tokenTypes.dtype().isFloatingPoint())
                throw new IllegalArgumentException(
                        "BertModel: tokenTypes must be integer " + ids.shape() + ", got " + tokenTypes.describe());
            checkRange("token type", tokenTypes, config.typeVocab());
        }
        int[][] m = checkMask(mask, (int) b, (int) t);
        boolean[] keep = new boolean[(int) (b * t)], pad = new boolean[keep.length];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                keep[(int) (r * t + j)] = m[r][j] == 1;
                pad[(int) (r * t + j)] = m[r][j] == 0;
            }
        }
        Tensor keepT = Tensor.of(keep, b, 1, 1, t), padT = Tensor.of(pad, b, 1, 1, t);
        List<Tensor> states = new ArrayList<>(), probs = new ArrayList<>(), raw = new ArrayList<>();
        Tensor h = embeddings.forward(ids, tokenTypes);
        if (hiddenStates) states.add(h);
        Tensor[] p = attentions || scores ? new Tensor[2] : null;
        for (BertLayer layer : layers) {
            h = layer.forward(h, keepT, padT, p);
            if (hiddenStates) states.add(h);
            if (attentions) probs.add(p[0]);
            if (scores) raw.add(p[1]);
        }
        return new EncoderOutput(h, List.copyOf(states), List.copyOf(probs), m, List.copyOf(raw));
    }

    private static void checkRange(String what, Tensor ids, long limit) {
        for (long id : ids.toLongArray()) {
            if (id < 0 || id >= limit)
                throw new IllegalArgumentException("BertModel: " + what + " " + id + " outside [0, " + limit + ")");
        }
    }

    private static int[][] checkMask(int[][] mask, int b, int t) {
        if (mask == null) {
            int[][] all = new int[b][t];
            for (int[] row : all) java.util.Arrays.fill(row, 1);
            return all;
        }
        if (mask.length != b)
            throw new IllegalArgumentException("BertModel: mask has " + mask.length + " rows, ids have " + b);
        for (int r = 0; r < b; r++) {
            if (mask[r].length != t)
                throw new IllegalArgumentException(
                        "BertModel: mask row " + r + " has " + mask[r].length + " entries, ids have " + t);
            boolean any = false;
            for (int v : mask[r]) {
                if (v != 0 && v != 1)
                    throw new IllegalArgumentException("BertModel: mask row " + r + " holds " + v + " (0 or 1 only)");
                any |= v == 1;
            }
            if (!any) throw new IllegalArgumentException("BertModel: mask row " + r + " masks every token");
        }
        return mask;
    }

    /** Sentence embeddings with this model's default pooling and normalisation (see {@link BertModels}). */
    public float[][] embed(List<String> texts) {
        return embed(texts, pooling, normalize);
    }

    /**
     * Sentence embeddings [texts.size()][hidden]: the texts tokenized (truncated to {@link #maxLength()} tokens),
     * padded into one batch, encoded in one pass, pooled and optionally L2-normalised.
     */
    public float[][] embed(List<String> texts, Pooling pooling, boolean normalize) {
        if (tokenizer == null)
            throw new IllegalStateException("BertModel: this checkpoint has no tokenizer to embed text");
        if (texts.isEmpty()) return new float[0][];
        BatchEncoding enc = tokenizer.encodeBatch(texts, true, maxLength);
        try (var scope = MemoryScope.open()) {
            EncoderOutput out = forward(enc, false, false);
            Tensor pooled = pooling.pool(out.lastHiddenState(), out.attentionMask());
            if (normalize) pooled = Pooling.normalize(pooled);
            float[] flat = pooled.contiguous().toFloatArray();
            int h = config.hidden();
            float[][] rows = new float[texts.size()][];
            for (int r = 0; r < rows.length; r++) rows[r] = java.util.Arrays.copyOfRange(flat, r * h, (r + 1) * h);
            return rows;
        }
    }

    @Override
    public void close() {
        weights.close();
    }
}
