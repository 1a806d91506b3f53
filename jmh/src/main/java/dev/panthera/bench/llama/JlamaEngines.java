package dev.panthera.bench.llama;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;

/**
 * Panthera and Jlama (com.github.tjake:jlama-core 0.8.4) over the same HuggingFace folder, driven by token ids (no
 * tokenizer on either side) through the same two steps: a prefill (a fresh KV cache, one batched forward of the
 * prompt, the last position's logits) and a decode step (one token at the next position against that cache, its
 * logits). Each returns the logits when asked to and otherwise only makes the engine compute them: ours copies
 * them out as {@link LlamaAnchorBench} does, Jlama takes their arg-max as its own greedy generation does
 * ({@code AbstractModel.sample} at temperature 0), both a negligible cost beside a forward.
 */
final class JlamaEngines {
    private JlamaEngines() {}

    interface Engine extends AutoCloseable {
        /** Logits [vocab] of the last of {@code ids} at positions 0.., in a fresh cache (null unless {@code keep}). */
        float[] prefill(int[] ids, boolean keep);

        /** Logits of {@code id} at {@code pos} appended to the cache of the last prefill (null unless {@code keep}). */
        float[] decode(int id, int pos, boolean keep);

        /** What runs: the engine and its weight and activation types. */
        String describe();

        @Override
        void close();
    }

    /** Our {@link LlamaModel} loaded from the folder, on {@code threads} threads. */
    static final class Panthera implements Engine {
        private final LlamaModel m;
        private final int context;
        private KvCache cache;

        Panthera(Path folder, int threads, int context) {
            dev.panthera.simd.Sgemm.setThreads(threads);
            try {
                m = LlamaModel.load(folder);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            this.context = context;
        }

        @Override
        public float[] prefill(int[] ids, boolean keep) {
            cache = m.newCache(context);
            try (var scope = MemoryScope.open()) {
                float[] l = m.forward(Tensor.of(ids, 1, ids.length), 0, cache, null, true)
                        .toFloatArray();
                return keep ? l : null;
            }
        }

        @Override
        public float[] decode(int id, int pos, boolean keep) {
            try (var scope = MemoryScope.open()) {
                float[] l = m.forward(Tensor.of(new int[] {id}, 1, 1), pos, cache, null, true)
                        .toFloatArray();
                return keep ? l : null;
            }
        }

        @Override
        public String describe() {
            return "panthera";
        }

        @Override
        public void close() {
            m.close();
        }
    }

    /**
     * Jlama's {@code AbstractModel} loaded as its own CLI loads it (working memory F32, working quantization I8; its
     * loader then keeps activations in F32 for an F32 model, rounds them to BF16 for a BF16 one, and keeps them in F32
     * for its Q4 at dim 768, where its I8 path would need dim / 32 to be a multiple of the vector's float lanes). Its
     * thread count is fixed once per JVM ({@code PhysicalCoreExecutor}). One KV buffer is reused: a prefill rewrites
     * positions from 0, as a cleared cache would hold them.
     */
    static final class Jlama implements Engine {
        private final AbstractModel m;
        private final KvBufferCache caches;
        private final KvBufferCache.KvBuffer kv;
        private final AbstractTensor logits;
        private final int vocab;

        Jlama(Path folder, int threads) {
            m = ModelSupport.loadModel(
                    folder.toFile(),
                    null,
                    com.github.tjake.jlama.safetensors.DType.F32,
                    com.github.tjake.jlama.safetensors.DType.I8,
                    Optional.empty(),
                    Optional.of(threads));
            vocab = m.getConfig().vocabularySize;
            caches = new KvBufferCache(m);
            kv = caches.getKvBuffer(new UUID(0, 1));
            logits = m.makeDenseTensor(vocab);
        }

        @Override
        public float[] prefill(int[] ids, boolean keep) {
            AbstractTensor out = m.batchForward(ids, 0, kv);
            try {
                m.sample(out.slice(ids.length - 1), 0f, 0f, logits);
            } finally {
                out.close();
            }
            return keep ? copy() : null;
        }

        @Override
        public float[] decode(int id, int pos, boolean keep) {
            AbstractTensor out = m.forward(id, pos, kv, Optional.empty());
            try {
                m.sample(out, 0f, 0f, logits);
            } finally {
                out.close();
            }
            return keep ? copy() : null;
        }

        private float[] copy() {
            float[] l = new float[vocab];
            for (int i = 0; i < vocab; i++) l[i] = logits.get(0, i);
            return l;
        }

        @Override
        public String describe() {
            // Jlama logs the activation ("Quantized memory") type it settled on when it loads
            return "jlama weights=" + m.getWeights().getModelDType() + " working=" + m.getWorkingDType();
        }

        @Override
        public void close() {
            logits.close();
            caches.close();
            m.close();
        }
    }
}
