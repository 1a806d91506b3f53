package dev.panthera.models.llama;

import dev.panthera.models.lm.LanguageModel;
import dev.panthera.models.lm.LmConfig;
import dev.panthera.models.tokenizer.Tokenizer;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * Text generation with a KV cache: the whole prompt in one batched forward pass (prefill), then one token per step
 * (decode), each step in its own memory scope so a steady loop reuses pooled blocks. Only the last position's
 * logits are computed. A {@link Listener} sees every step's token, its text and its logits.
 *
 * <p>Streamed text never shows a stop string, even one that spans several tokens: the tail of the text that is a
 * prefix of some stop string (and an incomplete UTF-8 sequence, decoded as U+FFFD) is held back until the next
 * tokens show it is not, and text from a stop string on is never released. Unless the listener ends generation, the
 * streamed pieces concatenate to {@link Result#text()}.
 */
public final class Generator {
    /** One generated token: its index, id, the text it adds (empty without a tokenizer) and its logits. */
    public record Step(int index, int token, String text, float[] logits) {}

    /** Called per generated token; return false to stop. */
    @FunctionalInterface
    public interface Listener {
        boolean onToken(Step step);
    }

    /**
     * The generated ids, their text (empty without a tokenizer; cut before the stop string that ended generation),
     * why generation ended, and prefill/decode timings.
     */
    public record Result(
            int[] tokens, String text, int promptTokens, String stopReason, long prefillNanos, long decodeNanos) {
        /** Decode steps run (the first token comes from the prefill's logits). */
        public int decodeSteps() {
            return Math.max(0, tokens.length - 1);
        }
    }

    private final LanguageModel model;
    private final DType cacheType;

    public Generator(LanguageModel model) {
        this(model, null);
    }

    /**
     * A generator whose KV cache keeps keys and values in {@code cacheType}: F16 or BF16 halve the bytes each decode
     * step reads per cached position (llama.cpp's default cache type is F16); F32 or null keep the model's own.
     */
    public Generator(LanguageModel model, DType cacheType) {
        this.model = model;
        this.cacheType = cacheType;
    }

    /**
     * Token ids for {@code text}: BOS (when the model has one and its prompts start with it) then the tokenizer's
     * ids without special tokens.
     */
    public int[] encodePrompt(String text) {
        Tokenizer t = model.tokenizer();
        if (t == null) throw new IllegalStateException("this model has no tokenizer: give token ids instead of text");
        int[] ids = text.isEmpty() ? new int[0] : t.encode(text, false);
        int bos = model.config().bos();
        if (bos < 0 || !model.config().promptStartsWithBos()) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Generates after {@code prompt} (ids; an empty prompt starts from BOS). {@code listener} may be null. */
    public Result generate(int[] prompt, SamplingParams p, Listener listener) {
        LmConfig c = model.config();
        if (prompt.length == 0) {
            if (c.bos() < 0) throw new IllegalArgumentException("empty prompt and the model has no BOS token");
            prompt = new int[] {c.bos()};
        }
        if (prompt.length >= c.maxSeq())
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of "
                    + c.maxSeq() + " (one position must stay free to generate)");
        for (int id : prompt) {
            if (id < 0 || id >= c.vocab())
                throw new IllegalArgumentException("prompt token id " + id + " outside [0, " + c.vocab() + ")");
        }
        int budget = Math.min(p.maxNewTokens(), c.maxSeq() - prompt.length);
        boolean[] seen = new boolean[c.vocab()];
        for (int id : prompt) seen[id] = true;
        Sampler sampler = new Sampler(p);
        Tokenizer tok = model.tokenizer();
        KvCache cache = model.newCache(prompt.length + budget, cacheType);
        int[] out = new int[Math.max(1, budget)];
        int n = 0;
        Detokenizer detok = tok == null ? null : new Detokenizer(tok);
        String text = "", reason = "length";
        String sent = ""; // the text already given to the listener
        long t0 = System.nanoTime(), prefill = 0;
        try (var ng = Autograd.noGrad()) {
            float[] logits = budget == 0 ? null : step(prompt, 0, cache);
            prefill = System.nanoTime() - t0;
            long pos = prompt.length;
            while (n < budget) {
                int id = sampler.next(logits, seen);
                seen[id] = true;
                out[n++] = id;
                if (detok != null) text = detok.append(out, n);
                int stopAt = firstStop(text, p.stopStrings());
                if (stopAt >= 0) {
                    text = text.substring(0, stopAt);
                    reason = "stop string";
                } else if ((!p.ignoreEos() && c.isEos(id)) || contains(p.stopTokens(), id)) {
                    reason = "stop token";
                }
                boolean last = !reason.equals("length") || n == budget;
                int upTo = last ? text.length() : safeEnd(text, p.stopStrings());
                String piece = "";
                // a decoder whose earlier text changed after release (never with the U+FFFD hold) streams no more
                if (upTo > sent.length() && text.startsWith(sent)) {
                    piece = text.substring(sent.length(), upTo);
                    sent = text.substring(0, upTo);
                }
                boolean go = listener == null || listener.onToken(new Step(n - 1, id, piece, logits));
                if (!go) {
                    reason = "listener";
                    break;
                }
                if (last) break;
                logits = step(new int[] {id}, pos++, cache);
            }
        }
        long total = System.nanoTime() - t0;
        int[] ids = java.util.Arrays.copyOf(out, n);
        return new Result(ids, text, prompt.length, reason, prefill, total - prefill);
    }

    /** Index of the earliest occurrence of any stop string in {@code text}, or −1. */
    static int firstStop(String text, List<String> stops) {
        int best = -1;
        for (String s : stops) {
            if (s.isEmpty()) continue;
            int i = text.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    /**
     * How much of {@code text} (which contains no stop string) can be released: all but the longest tail that is a
     * proper prefix of a stop string, and never past a trailing U+FFFD (a multi-byte character still incomplete).
     */
    static int safeEnd(String text, List<String> stops) {
        int end = text.length();
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, text.length()); k > 0; k--) {
                if (text.endsWith(s.substring(0, k))) {
                    end = Math.min(end, text.length() - k);
                    break;
                }
            }
        }
        while (end > 0 && text.charAt(end - 1) == '\uFFFD') end--;
        return end;
    }

    /** Feeds {@code ids} at positions start.. and returns the last position's logits. */
    private float[] step(int[] ids, long start, KvCache cache) {
        try (var scope = MemoryScope.open()) {
            Tensor in = Tensor.of(ids, 1, ids.length);
            return model.forward(in, start, cache, null, true).toFloatArray();
        }
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }
}
