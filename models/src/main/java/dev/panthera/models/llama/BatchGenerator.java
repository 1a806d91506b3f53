package dev.panthera.models.llama;

import dev.panthera.models.lm.LanguageModel;
import dev.panthera.models.lm.LmConfig;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Generation for a batch of prompts of different lengths in one pass per step. Prompts are left-padded to the
 * longest, so every row's next token sits at the same position and one KV cache serves all rows; a BOOL mask keeps
 * padding out of every real query's keys. RoPE scores depend only on the distance between query and key, so a row
 * shifted right by its padding attends exactly as it would alone (dynamic NTK scaling, which depends on the absolute
 * length, is the exception and is refused). A model with absolute learned positions (GPT-2) shifts each row's
 * positions back by its padding ({@link LanguageModel#forwardLeftPadded}). A padded query keeps its own key so that
 * no row of the softmax is empty.
 */
public final class BatchGenerator {
    private final LanguageModel model;
    private final DType cacheType;

    public BatchGenerator(LanguageModel model) {
        this(model, null);
    }

    /**
     * A batched generator whose KV cache keeps keys and values in {@code cacheType}, as {@link Generator#Generator(
     * LanguageModel, DType)} does: F16 or BF16 halve the cache's bytes (a batch's cache is one row per prompt), and
     * the decode steps read it in place with the padding mask; F32 or null keep the model's own dtype.
     */
    public BatchGenerator(LanguageModel model, DType cacheType) {
        if (model instanceof LlamaModel l && l.config().ropeScaling().type() == RopeScaling.Type.DYNAMIC)
            throw new IllegalArgumentException(
                    "batched generation: dynamic RoPE scaling depends on each row's length; generate rows one by one");
        this.model = model;
        this.cacheType = cacheType;
    }

    /** Generated ids per prompt (each non-empty), each row stopping on its own at EOS or a stop token. */
    public List<int[]> generate(List<int[]> prompts, SamplingParams p) {
        LmConfig c = model.config();
        int b = prompts.size(), longest = 0;
        if (b == 0) throw new IllegalArgumentException("batched generation: no prompts");
        for (int[] q : prompts) {
            if (q.length == 0) throw new IllegalArgumentException("batched generation: an empty prompt");
            for (int id : q)
                if (id < 0 || id >= c.vocab())
                    throw new IllegalArgumentException("prompt token id " + id + " outside [0, " + c.vocab() + ")");
            longest = Math.max(longest, q.length);
        }
        if (longest >= c.maxSeq())
            throw new IllegalArgumentException(
                    "prompt of " + longest + " tokens does not fit the context of " + c.maxSeq());
        int budget = Math.min(p.maxNewTokens(), c.maxSeq() - longest), total = longest + budget;
        int[] pad = new int[b], ids = new int[b * longest];
        boolean[][] seen = new boolean[b][c.vocab()];
        Sampler[] samplers = new Sampler[b];
        List<List<Integer>> out = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            int[] q = prompts.get(r);
            pad[r] = longest - q.length;
            System.arraycopy(q, 0, ids, r * longest + pad[r], q.length);
            for (int id : q) seen[r][id] = true;
            samplers[r] = new Sampler(p);
            out.add(new ArrayList<>());
        }
        boolean[] done = new boolean[b];
        KvCache cache = cache(total);
        try (var ng = Autograd.noGrad()) {
            float[] logits = step(ids, b, longest, 0, cache, prefillMask(pad, longest), pad);
            for (int pos = longest; pos < total; pos++) {
                int[] next = new int[b];
                boolean all = true;
                for (int r = 0; r < b; r++) {
                    float[] row = java.util.Arrays.copyOfRange(logits, r * c.vocab(), (r + 1) * c.vocab());
                    next[r] = done[r] ? c.bos() < 0 ? 0 : c.bos() : samplers[r].next(row, seen[r]);
                    if (done[r]) continue;
                    seen[r][next[r]] = true;
                    out.get(r).add(next[r]);
                    int id = next[r];
                    boolean stop = (!p.ignoreEos() && c.isEos(id))
                            || java.util.Arrays.stream(p.stopTokens()).anyMatch(t -> t == id);
                    done[r] = stop;
                    all &= stop;
                }
                if (all || pos + 1 == total) break;
                logits = step(next, b, 1, pos, cache, keyMask(pad, pos + 1), pad);
            }
        }
        List<int[]> res = new ArrayList<>();
        for (List<Integer> l : out)
            res.add(l.stream().mapToInt(Integer::intValue).toArray());
        return res;
    }

    /** The batch's KV cache for {@code positions} positions, in this generator's cache type. */
    KvCache cache(int positions) {
        return model.newCache(positions, cacheType);
    }

    private float[] step(int[] ids, int b, int t, long start, KvCache cache, boolean[] mask, int[] pad) {
        try (var scope = MemoryScope.open()) {
            long s = start + t;
            Tensor m = Tensor.of(mask, b, 1, mask.length / (b * s), s);
            return model.forwardLeftPadded(Tensor.of(ids, b, t), start, cache, m, true, pad)
                    .toFloatArray();
        }
    }

    /** [B, 1, T, T]: real keys, plus each padded query's own key. */
    static boolean[] prefillMask(int[] pad, int t) {
        boolean[] m = new boolean[pad.length * t * t];
        for (int r = 0; r < pad.length; r++)
            for (int i = 0; i < t; i++) for (int j = 0; j < t; j++) m[(r * t + i) * t + j] = j >= pad[r] || i == j;
        return m;
    }

    /** [B, 1, 1, S]: the real keys of each row. */
    static boolean[] keyMask(int[] pad, int s) {
        boolean[] m = new boolean[pad.length * s];
        for (int r = 0; r < pad.length; r++) for (int j = 0; j < s; j++) m[r * s + j] = j >= pad[r];
        return m;
    }
}
