package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The fused SIMD attention (online softmax, GQA, decode) and RoPE kernels against the reference backend's float64
 * kernels. Tolerance: F32 accumulation over up to 64 dims and 300 keys, with exp in float: 2e-5 relative + 2e-6.
 */
class RopeAttentionSimdTest {
    private static double[] on(dev.panthera.tensor.spi.Backend b, java.util.function.Supplier<Tensor> f)
            throws Exception {
        try (var use = Backends.use(b)) {
            return f.get().toDoubleArray();
        }
    }

    private static void close(double[] want, double[] got, String what) {
        if (want.length != got.length)
            throw new AssertionError(what + ": lengths " + want.length + " vs " + got.length);
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(want[i] - got[i]) <= 2e-6 + 2e-5 * Math.abs(want[i]))) {
                throw new AssertionError(what + ": element " + i + " expected " + want[i] + " but was " + got[i]);
            }
        }
    }

    @Property(tries = 40)
    void attentionAgreesWithTheReference(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        // lengths around the 64-row query/key blocks and the 512-key decode blocks
        int[] lens = {1, 2, 7, 17, 63, 64, 65, 130, 300, 515};
        long lk = lens[r.nextInt(lens.length)];
        long lq = switch (r.nextInt(3)) {
            case 0 -> lk;
            case 1 -> 1 + r.nextInt((int) Math.min(lk, 5));
            default -> 1 + r.nextInt((int) lk); // a prefill chunk after a cached prefix: causal rows offset by lk − lq
        };
        long hkv = 1 + r.nextInt(2), group = 1 + r.nextInt(3), d = new long[] {1, 3, 8, 13, 64}[r.nextInt(5)];
        boolean causal = r.nextBoolean();
        Tensor q = SeededViews.randomView(r, new long[] {1, hkv * group, lq, d}, DType.F32);
        Tensor k = SeededViews.randomView(r, new long[] {1, hkv, lk, d}, DType.F32);
        Tensor v = SeededViews.randomView(r, new long[] {1, hkv, lk, d}, DType.F32);
        double scale = 1 / Math.sqrt(d);
        close(
                on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, causal, scale)),
                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, causal, scale)),
                "attention lq=" + lq + " lk=" + lk + " d=" + d + " group=" + group + " causal=" + causal);
    }

    /**
     * The fused kernel against attention composed from separate ops on the reference backend: the kv heads repeated for
     * their query-head group, Q·Kᵀ·scale, the causal mask (key j hidden from query i when j &gt; i + lk − lq), softmax
     * and ·V — the definition, op by op, in float64.
     */
    @Property(tries = 25)
    void attentionAgreesWithTheComposition(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        int[] lens = {1, 3, 17, 64, 65, 200};
        long lk = lens[r.nextInt(lens.length)], lq = 1 + r.nextInt((int) lk);
        long hkv = 1 + r.nextInt(2),
                group = 1 + r.nextInt(3),
                hq = hkv * group,
                d = new long[] {1, 5, 16, 64}[r.nextInt(4)];
        boolean causal = r.nextBoolean();
        double scale = 1 / Math.sqrt(d);
        Tensor q = Tensor.randn(Shape.of(1, hq, lq, d), r.nextLong()),
                k = Tensor.randn(Shape.of(1, hkv, lk, d), r.nextLong());
        Tensor v = Tensor.randn(Shape.of(1, hkv, lk, d), r.nextLong());
        double[] composed = on(ReferenceBackend.INSTANCE, () -> {
            Tensor kk = k.unsqueeze(2).expand(1, hkv, group, lk, d).reshape(1, hq, lk, d);
            Tensor vv = v.unsqueeze(2).expand(1, hkv, group, lk, d).reshape(1, hq, lk, d);
            Tensor scores = q.matmul(kk.transpose(-1, -2)).mul(scale);
            if (causal) {
                Tensor hidden = Tensor.arange(lk)
                        .reshape(1, lk)
                        .gt(Tensor.arange(lq).reshape(lq, 1).add(lk - lq));
                scores = scores.maskedFill(hidden, Double.NEGATIVE_INFINITY);
            }
            return scores.softmax(-1).matmul(vv);
        });
        close(
                composed,
                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, causal, scale)),
                "attention vs composition lq=" + lq + " lk=" + lk + " d=" + d + " group=" + group + " causal="
                        + causal);
    }

    /**
     * Inference attention with a mask (no gradient recorded, so the blocked kernel with the mask added to each block
     * of scores): BOOL key padding [B, 1, 1, Lk] as BERT passes it, BOOL [B, 1, Lq, Lk], and additive float masks per
     * head with some −∞ entries, on views (transposed projections, strided, expanded), lengths around the 64-key
     * blocks, GQA groups, causal or not. Every query row keeps key 0 visible, so no row is empty. Same tolerance as
     * the unmasked kernel: the mask only adds exact values (0 or −∞) or one rounding per score.
     */
    @Property(tries = 40)
    void maskedAttentionAgreesWithTheReference(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        int[] lens = {1, 2, 7, 17, 31, 63, 64, 65, 130};
        long b = 1 + r.nextInt(3), lk = lens[r.nextInt(lens.length)];
        long lq = r.nextBoolean() ? lk : 1 + r.nextInt((int) lk);
        long hkv = 1 + r.nextInt(2), group = 1 + r.nextInt(3), hq = hkv * group;
        long d = new long[] {1, 3, 8, 13, 32, 64}[r.nextInt(6)];
        boolean causal = r.nextBoolean();
        Tensor q = SeededViews.randomView(r, new long[] {b, hq, lq, d}, DType.F32);
        Tensor k = SeededViews.randomView(r, new long[] {b, hkv, lk, d}, DType.F32);
        Tensor v = SeededViews.randomView(r, new long[] {b, hkv, lk, d}, DType.F32);
        Tensor mask;
        String kind;
        switch (r.nextInt(3)) {
            case 0 -> {
                boolean[] keep = new boolean[(int) (b * lk)];
                for (int bi = 0; bi < b; bi++) {
                    int len = 1 + r.nextInt((int) lk);
                    for (int j = 0; j < len; j++) keep[(int) (bi * lk + j)] = true;
                }
                mask = Tensor.of(keep, b, 1, 1, lk);
                kind = "key padding";
            }
            case 1 -> {
                boolean[] keep = new boolean[(int) (b * lq * lk)];
                for (int i = 0; i < keep.length; i++) keep[i] = i % lk == 0 || r.nextInt(4) != 0;
                mask = Tensor.of(keep, b, 1, lq, lk);
                kind = "bool per query";
            }
            default -> {
                float[] add = new float[(int) (b * hq * lq * lk)];
                for (int i = 0; i < add.length; i++)
                    add[i] = i % lk != 0 && r.nextInt(5) == 0 ? Float.NEGATIVE_INFINITY : (float) r.nextGaussian();
                mask = Tensor.of(add, b, hq, lq, lk);
                kind = "additive per head";
            }
        }
        double scale = 1 / Math.sqrt(d);
        Tensor m = mask;
        close(
                on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, m, causal, scale)),
                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, m, causal, scale)),
                "masked attention (" + kind + ") b=" + b + " lq=" + lq + " lk=" + lk + " d=" + d + " group=" + group
                        + " causal=" + causal);
    }

    /** The grouped decode path (one query row per head, heads of a group as one block) with a key-padding mask. */
    @org.junit.jupiter.api.Test
    void groupedDecodeWithPaddingAgreesWithTheReference() throws Exception {
        for (long lk : new long[] {1, 7, 515}) {
            Tensor q = Tensor.randn(Shape.of(2, 8, 1, 64), lk), k = Tensor.randn(Shape.of(2, 2, lk, 64), lk + 1);
            Tensor v = Tensor.randn(Shape.of(2, 2, lk, 48), lk + 2);
            boolean[] keep = new boolean[(int) (2 * lk)];
            for (int j = 0; j < keep.length; j++) keep[j] = j % lk < Math.max(1, lk / (1 + j / lk));
            Tensor mask = Tensor.of(keep, 2, 1, 1, lk);
            close(
                    on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, mask, false, 0.125)),
                    on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, mask, false, 0.125)),
                    "grouped decode with padding lk=" + lk);
        }
    }

    /**
     * Decoding with grouped-query attention on contiguous tensors (the KV-cache case): one query row per head, the
     * query heads of a group answered together against their kv head, across key-block edges (512 keys per block).
     */
    @org.junit.jupiter.api.Test
    void groupedDecodeAgreesWithTheReference() throws Exception {
        for (long lk : new long[] {1, 7, 512, 515, 1030}) {
            for (boolean causal : new boolean[] {false, true}) {
                Tensor q = Tensor.randn(Shape.of(2, 8, 1, 64), lk), k = Tensor.randn(Shape.of(2, 2, lk, 64), lk + 1);
                Tensor v = Tensor.randn(Shape.of(2, 2, lk, 48), lk + 2);
                close(
                        on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, causal, 0.125)),
                        on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, causal, 0.125)),
                        "grouped decode lk=" + lk + " causal=" + causal);
            }
        }
    }

    @Property(tries = 40)
    void ropeAgreesWithTheReference(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        long seq = 1 + r.nextInt(9), heads = 1 + r.nextInt(3);
        long dim = r.nextInt(4) == 0
                ? new long[] {64, 128, 96}[r.nextInt(3)]
                : 2L * (1 + r.nextInt(40)); // head sizes and odd pair counts
        boolean interleaved = r.nextBoolean();
        Tensor x = SeededViews.randomView(r, new long[] {heads, seq, dim}, DType.F32);
        Tensor cos = Tensor.randn(Shape.of(seq, dim / 2), r.nextLong()),
                sin = Tensor.randn(Shape.of(seq, dim / 2), r.nextLong());
        close(
                on(ReferenceBackend.INSTANCE, () -> x.rope(cos, sin, interleaved)),
                on(new SimdBackend(), () -> x.rope(cos, sin, interleaved)),
                "rope interleaved=" + interleaved);
    }
}
