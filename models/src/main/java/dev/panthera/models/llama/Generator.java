package dev.panthera.models.llama;

import dev.panthera.models.tokenizer.Tokenizer;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Text generation with a KV cache: the whole prompt in one batched forward pass (prefill), then one token per step
 * (decode), each step in its own memory scope so a steady loop reuses pooled blocks. Only the last position's
 * logits are computed. A {@link Listener} sees every step's token, its text and its logits.
 */
public final class Generator {
    /** One generated token: its index, id, the text it adds (empty without a tokenizer) and its logits. */
    public record Step(int index, int token, String text, float[] logits) {}

    /** Called per generated token; return false to stop. */
    @FunctionalInterface
    public interface Listener {
        boolean onToken(Step step);
    }

    /** The generated ids, why generation ended, and prefill/decode timings. */
    public record Result(int[] tokens, int promptTokens, String stopReason, long prefillNanos, long decodeNanos) {
        /** Decode steps run (the first token comes from the prefill's logits). */
        public int decodeSteps() {
            return Math.max(0, tokens.length - 1);
        }
    }

    private final LlamaModel model;

    public Generator(LlamaModel model) {
        this.model = model;
    }

    /** Token ids for {@code text}: BOS (when the model has one) then the tokenizer's ids without special tokens. */
    public int[] encodePrompt(String text) {
        Tokenizer t = model.tokenizer();
        if (t == null) throw new IllegalStateException("this model has no tokenizer: give token ids instead of text");
        int[] ids = text.isEmpty() ? new int[0] : t.encode(text, false);
        int bos = model.config().bos();
        if (bos < 0) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Generates after {@code prompt} (ids; an empty prompt starts from BOS). {@code listener} may be null. */
    public Result generate(int[] prompt, SamplingParams p, Listener listener) {
        LlamaConfig c = model.config();
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
        KvCache cache = model.newCache(prompt.length + budget);
        List<Integer> out = new ArrayList<>();
        String text = "", reason = "length";
        long t0 = System.nanoTime(), prefill = 0;
        try (var ng = Autograd.noGrad()) {
            float[] logits = budget == 0 ? null : step(prompt, 0, cache);
            prefill = System.nanoTime() - t0;
            long pos = prompt.length;
            while (out.size() < budget) {
                int id = sampler.next(logits, seen);
                seen[id] = true;
                out.add(id);
                String piece = "";
                if (tok != null) {
                    String all =
                            tok.decode(out.stream().mapToInt(Integer::intValue).toArray(), true);
                    piece = all.startsWith(text) ? all.substring(text.length()) : all;
                    text = all;
                }
                boolean go = listener == null || listener.onToken(new Step(out.size() - 1, id, piece, logits));
                if (!go) {
                    reason = "listener";
                    break;
                }
                if ((!p.ignoreEos() && c.isEos(id)) || contains(p.stopTokens(), id)) {
                    reason = "stop token";
                    break;
                }
                if (p.stopStrings().stream().anyMatch(text::contains)) {
                    reason = "stop string";
                    break;
                }
                if (out.size() == budget) break;
                logits = step(new int[] {id}, pos++, cache);
            }
        }
        long total = System.nanoTime() - t0;
        int[] ids = out.stream().mapToInt(Integer::intValue).toArray();
        return new Result(ids, prompt.length, reason, prefill, total - prefill);
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
