package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.TensorSpec;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The fused SIMD attention (online softmax, GQA, decode) and RoPE kernels against the reference backend's float64
 * kernels. Tolerance: F32 accumulation over up to 64 dims and 300 keys, with exp in float: 2e-5 relative + 2e-6.
 * The attention properties draw without jqwik's edge-case mixing, which would combine the longest lengths with the
 * largest head dims in several tries; the length lists already hold the block edges, drawn uniformly.
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

    /** Attention sizes: batch b, lq queries aligned to the end of lk keys, hkv key heads, group, head dim d. */
    record Sizes(long b, long lq, long lk, long hkv, long group, long d, boolean causal) {
        long hq() {
            return hkv * group;
        }
    }

    /** q, k, v for {@code s}, drawn by {@code draw(shape)}. */
    record Qkv(Sizes s, TensorSpec q, TensorSpec k, TensorSpec v) {
        static Arbitrary<Qkv> draw(Sizes s, java.util.function.Function<long[], Arbitrary<TensorSpec>> draw) {
            return Combinators.combine(
                            draw.apply(new long[] {s.b(), s.hq(), s.lq(), s.d()}),
                            draw.apply(new long[] {s.b(), s.hkv(), s.lk(), s.d()}),
                            draw.apply(new long[] {s.b(), s.hkv(), s.lk(), s.d()}))
                    .as((q, k, v) -> new Qkv(s, q, k, v));
        }
    }

    /**
     * Sizes for batch {@code b}, lk from {@code lens}, lq from {@code lqFor(lk)}, hkv in [1, 2], group in [1, 3], d from
     * {@code dims}, causal or not.
     */
    static Arbitrary<Sizes> sizes(
            Arbitrary<Long> b, long[] lens, java.util.function.Function<Long, Arbitrary<Long>> lqFor, long[] dims) {
        return Combinators.combine(
                        b,
                        Draws.oneOf(lens),
                        Draws.between(1, 2),
                        Draws.between(1, 3),
                        Draws.oneOf(dims),
                        Arbitraries.of(false, true))
                .flatAs((bb, lk, hkv, group, d, causal) ->
                        lqFor.apply(lk).map(lq -> new Sizes(bb, lq, lk, hkv, group, d, causal)));
    }

    /**
     * Lengths around the 64-row query/key blocks and the 512-key decode blocks; lq is lk, a few (up to 5) queries, or a
     * prefill chunk after a cached prefix (causal rows offset by lk − lq); q, k, v as views.
     */
    @Provide
    Arbitrary<Qkv> unmasked() {
        return SizesFirst.flatMap(
                sizes(
                        Arbitraries.just(1L),
                        new long[] {1, 2, 7, 17, 63, 64, 65, 130, 300, 515},
                        lk -> Arbitraries.oneOf(
                                Arbitraries.just(lk), Draws.between(1, Math.min(lk, 5)), Draws.between(1, lk)),
                        new long[] {1, 3, 8, 13, 64}),
                s -> Qkv.draw(s, shape -> Draws.views(DType.F32, shape)));
    }

    @Property(tries = 40, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void attentionAgreesWithTheReference(@ForAll("unmasked") Qkv in) throws Exception {
        Sizes s = in.s();
        long lq = s.lq(), lk = s.lk(), d = s.d(), group = s.group();
        boolean causal = s.causal();
        Tensor q = in.q().tensor(), k = in.k().tensor(), v = in.v().tensor();
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
    /** lk around the 64-key blocks, lq in [1, lk], contiguous q, k, v. */
    @Provide
    Arbitrary<Qkv> contiguousQkv() {
        return SizesFirst.flatMap(
                sizes(Arbitraries.just(1L), new long[] {1, 3, 17, 64, 65, 200}, lk -> Draws.between(1, lk), new long[] {
                    1, 5, 16, 64
                }),
                s -> Qkv.draw(s, shape -> Draws.contiguous(DType.F32, shape)));
    }

    @Property(tries = 25, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void attentionAgreesWithTheComposition(@ForAll("contiguousQkv") Qkv in) throws Exception {
        Sizes s = in.s();
        long lk = s.lk(), lq = s.lq(), hkv = s.hkv(), group = s.group(), hq = s.hq(), d = s.d();
        boolean causal = s.causal();
        double scale = 1 / Math.sqrt(d);
        Tensor q = in.q().tensor(), k = in.k().tensor();
        Tensor v = in.v().tensor();
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
    /**
     * A mask: 0 key padding (per batch row, the first lens[bi] keys kept, lens in [1, lk]); 1 BOOL per query (each
     * entry kept three times in four, key 0 always); 2 additive per head (N(0, 1), −∞ one time in five except at key
     * 0). {@code flags} marks dropped (kind 1) or −∞ (kind 2) entries; it shrinks toward none.
     */
    record Mask(int kind, long[] lens, List<Boolean> flags, TensorSpec values) {
        static Arbitrary<Mask> draw(Sizes s) {
            long b = s.b(), lq = s.lq(), lk = s.lk(), hq = s.hq();
            Arbitrary<Boolean> dropped =
                    Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true)));
            Arbitrary<Boolean> infinite =
                    Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true)));
            return Arbitraries.oneOf(
                    Arbitraries.longs()
                            .between(1, lk)
                            .array(long[].class)
                            .ofSize((int) b)
                            .map(l -> new Mask(0, l, null, null)),
                    dropped.list().ofSize((int) (b * lq * lk)).map(f -> new Mask(1, null, f, null)),
                    Combinators.combine(
                                    infinite.list().ofSize((int) (b * hq * lq * lk)),
                                    Draws.contiguous(DType.F32, b, hq, lq, lk))
                            .as((f, v) -> new Mask(2, null, f, v)));
        }

        Tensor tensor(Sizes s) {
            long b = s.b(), lq = s.lq(), lk = s.lk(), hq = s.hq();
            switch (kind) {
                case 0 -> {
                    boolean[] keep = new boolean[(int) (b * lk)];
                    for (int bi = 0; bi < b; bi++) for (int j = 0; j < lens[bi]; j++) keep[(int) (bi * lk + j)] = true;
                    return Tensor.of(keep, b, 1, 1, lk);
                }
                case 1 -> {
                    boolean[] keep = new boolean[(int) (b * lq * lk)];
                    for (int i = 0; i < keep.length; i++) keep[i] = i % lk == 0 || !flags.get(i);
                    return Tensor.of(keep, b, 1, lq, lk);
                }
                default -> {
                    double[] v = values.tensor().toDoubleArray();
                    float[] add = new float[(int) (b * hq * lq * lk)];
                    for (int i = 0; i < add.length; i++)
                        add[i] = i % lk != 0 && flags.get(i) ? Float.NEGATIVE_INFINITY : (float) v[i];
                    return Tensor.of(add, b, hq, lq, lk);
                }
            }
        }

        String name() {
            return new String[] {"key padding", "bool per query", "additive per head"}[kind];
        }
    }

    /** q, k, v as views and a mask. */
    record MaskedCase(Qkv qkv, Mask mask) {}

    /** b in [1, 3], lk around the 64-key blocks, lq = lk or in [1, lk], d from 1 to 64. */
    @Provide
    Arbitrary<MaskedCase> masked() {
        return SizesFirst.flatMap(
                sizes(
                        Draws.between(1, 3),
                        new long[] {1, 2, 7, 17, 31, 63, 64, 65, 130},
                        lk -> Arbitraries.oneOf(Arbitraries.just(lk), Draws.between(1, lk)),
                        new long[] {1, 3, 8, 13, 32, 64}),
                s -> Combinators.combine(Qkv.draw(s, shape -> Draws.views(DType.F32, shape)), Mask.draw(s))
                        .as(MaskedCase::new));
    }

    @Property(tries = 40, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void maskedAttentionAgreesWithTheReference(@ForAll("masked") MaskedCase in) throws Exception {
        Sizes s = in.qkv().s();
        long b = s.b(), lq = s.lq(), lk = s.lk(), d = s.d(), group = s.group();
        boolean causal = s.causal();
        Tensor q = in.qkv().q().tensor(),
                k = in.qkv().k().tensor(),
                v = in.qkv().v().tensor();
        Tensor mask = in.mask().tensor(s);
        String kind = in.mask().name();
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

    /** One decode step: q [b, hkv·group, 1, d], k [b, hkv, lk, d], v [b, hkv, lk, dv], as views. */
    record DecodeCase(long group, long dv, boolean causal, Qkv qk, TensorSpec v) {}

    /**
     * Single query rows against every key (no mask): the decode kernel's case. Head dimensions on both sides of the
     * small-head score kernel's limit (16) and of the vector widths (a masked last piece of the score dots, one, two or
     * four vectors of output columns and a half-width last piece), value dimensions apart from the key dimension,
     * lengths from one key to past the blocked kernel's 512-key decode blocks, GQA groups up to 4.
     */
    @Provide
    Arbitrary<DecodeCase> decodeSteps() {
        return decodeSteps(DType.F32);
    }

    /** {@link #decodeSteps()} with keys and values of {@code kv} (queries F32). */
    private static Arbitrary<DecodeCase> decodeSteps(DType kv) {
        return SizesFirst.flatMap(
                Combinators.combine(
                                Draws.between(1, 2),
                                Draws.oneOf(1, 2, 7, 16, 17, 63, 64, 65, 300, 515),
                                Draws.between(1, 2),
                                Draws.between(1, 4),
                                Draws.oneOf(1, 3, 8, 13, 16, 17, 40, 64, 80, 128),
                                Draws.oneOf(1, 5, 8, 16, 24, 48, 64, 72, 128),
                                Arbitraries.of(false, true))
                        .as((b, lk, hkv, group, d, dv, causal) ->
                                new long[] {b, lk, hkv, group, d, dv, causal ? 1 : 0}),
                z -> {
                    Sizes s = new Sizes(z[0], 1, z[1], z[2], z[3], z[4], z[6] == 1);
                    return Combinators.combine(
                                    Draws.views(DType.F32, s.b(), s.hq(), 1, s.d()),
                                    Draws.views(kv, s.b(), s.hkv(), s.lk(), s.d()),
                                    Draws.views(kv, z[0], z[2], z[1], z[5]))
                            .as((q, k, v) -> new DecodeCase(z[3], z[5], s.causal(), new Qkv(s, q, k, v), v));
                });
    }

    /**
     * The decode kernel against the reference backend's float64 attention. Tolerance as for the other kernels: the
     * scores are float dots of up to 128 products of N(0, 1) values (rounding error about √d·2⁻²⁴ of their size,
     * scaled by 1/√d), each output a float sum of up to 515 weights times N(0, 1) values, and exp in float: well
     * inside 2e-5 relative + 2e-6.
     */
    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void decodeStepAgreesWithTheReference(@ForAll("decodeSteps") DecodeCase in) throws Exception {
        checkDecode(in, "decode step");
    }

    /** The SIMD backend's attention for one decode case against the reference backend's. */
    private static void checkDecode(DecodeCase in, String what) throws Exception {
        Sizes s = in.qk().s();
        Tensor q = in.qk().q().tensor(), k = in.qk().k().tensor(), v = in.v().tensor();
        double scale = 1 / Math.sqrt(s.d());
        close(
                on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, in.causal(), scale)),
                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, in.causal(), scale)),
                what + " " + k.dtype() + " b=" + s.b() + " lk=" + s.lk() + " hkv=" + s.hkv() + " group=" + in.group()
                        + " d=" + s.d() + " dv=" + in.dv() + " causal=" + in.causal());
    }

    @Provide
    Arbitrary<DecodeCase> halfCacheSteps() {
        return Arbitraries.of(DType.F16, DType.BF16).flatMap(RopeAttentionSimdTest::decodeSteps);
    }

    /**
     * A decode step against an F16 or BF16 KV cache (F32 queries), read by the SIMD backend as it is (views with unit
     * innermost stride; the others widened a head at a time), against the reference backend's float64 attention,
     * which reads the same 16-bit keys and values element by element (each widening is exact). After the widening the
     * SIMD arithmetic is the F32 decode's, so the tolerance is {@link #decodeStepAgreesWithTheReference}'s.
     */
    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void halfCacheDecodeAgreesWithTheReference(@ForAll("halfCacheSteps") DecodeCase in) throws Exception {
        checkDecode(in, "half cache");
    }

    /**
     * A prompt against a half-precision cache (F32 queries, F16 or BF16 keys and values): several query rows, the
     * causal rows offset by the cached prefix, lengths around the 64-row blocks, as views. These widen a kv head at a
     * time; the reference reads the 16-bit elements in float64. Tolerance as for the F32 kernels (the same F32
     * arithmetic after an exact widening).
     */
    @Provide
    Arbitrary<Qkv> halfCachePrompts() {
        return Arbitraries.of(DType.F16, DType.BF16)
                .flatMap(kv -> SizesFirst.flatMap(
                        sizes(
                                Arbitraries.just(1L),
                                new long[] {2, 7, 17, 64, 65, 130},
                                lk -> Draws.between(2, lk),
                                new long[] {1, 8, 13, 64}),
                        s -> Combinators.combine(
                                        Draws.views(DType.F32, s.b(), s.hq(), s.lq(), s.d()),
                                        Draws.views(kv, s.b(), s.hkv(), s.lk(), s.d()),
                                        Draws.views(kv, s.b(), s.hkv(), s.lk(), s.d()))
                                .as((q, k, v) -> new Qkv(s, q, k, v))));
    }

    @Property(tries = 30, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void halfCachePromptAgreesWithTheReference(@ForAll("halfCachePrompts") Qkv in) throws Exception {
        Sizes s = in.s();
        Tensor q = in.q().tensor(), k = in.k().tensor(), v = in.v().tensor();
        double scale = 1 / Math.sqrt(s.d());
        close(
                on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, s.causal(), scale)),
                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, s.causal(), scale)),
                "half cache prompt " + k.dtype() + " lq=" + s.lq() + " lk=" + s.lk() + " d=" + s.d() + " group="
                        + s.group() + " causal=" + s.causal());
    }

    /**
     * A contiguous half-precision cache goes to the in-place decode ({@code DecodeAttention.halfKvDecode} takes the
     * call) and gives what the F32 kernels give on the widened cache; a prefill chunk (two query rows) is left to the
     * widening path.
     */
    @org.junit.jupiter.api.Test
    void aContiguousHalfCacheIsReadInPlace() throws Exception {
        for (DType kv : new DType[] {DType.F16, DType.BF16}) {
            for (long lk : new long[] {1, 16, 37, 515}) {
                Tensor q = Tensor.randn(Shape.of(1, 8, 1, 64), lk), k32 = Tensor.randn(Shape.of(1, 2, lk, 64), lk + 1);
                Tensor v32 = Tensor.randn(Shape.of(1, 2, lk, 64), lk + 2);
                Tensor k = k32.to(kv), v = v32.to(kv);
                try (var use = Backends.use(new SimdBackend())) {
                    Tensor o = Tensor.zeros(DType.F32, Shape.of(1, 8, 1, 64));
                    boolean took = DecodeAttention.halfKvDecode(
                            q.storage(),
                            q.layout(),
                            k.storage(),
                            k.layout(),
                            v.storage(),
                            v.layout(),
                            null,
                            0.125f,
                            o.storage(),
                            o.layout());
                    if (!took) throw new AssertionError(kv + " lk=" + lk + ": the in-place decode declined");
                    close(
                            on(
                                    ReferenceBackend.INSTANCE,
                                    () -> Tensor.scaledDotProductAttention(
                                            q, k.to(DType.F32), v.to(DType.F32), true, 0.125)),
                            o.toDoubleArray(),
                            kv + " in place, lk=" + lk);
                    Tensor q2 = Tensor.randn(Shape.of(1, 8, 2, 64), lk + 3);
                    Tensor o2 = Tensor.zeros(DType.F32, Shape.of(1, 8, 2, 64));
                    if (DecodeAttention.halfKvDecode(
                            q2.storage(),
                            q2.layout(),
                            k.storage(),
                            k.layout(),
                            v.storage(),
                            v.layout(),
                            null,
                            0.125f,
                            o2.storage(),
                            o2.layout())) throw new AssertionError("two query rows went to the decode path");
                }
            }
        }
    }

    /** A decode step and a mask over its keys. */
    record MaskedDecode(DecodeCase step, Mask mask) {}

    @Provide
    Arbitrary<MaskedDecode> maskedDecodeSteps() {
        return Arbitraries.of(DType.F32, DType.F16, DType.BF16)
                .flatMap(kv ->
                        decodeSteps(kv).flatMap(c -> Mask.draw(c.qk().s()).map(m -> new MaskedDecode(c, m))));
    }

    /**
     * A decode step with a mask (key padding per batch row as a batched generation passes it, a BOOL mask per query,
     * an additive mask per head with −∞ entries; key 0 always kept) over F32, F16 and BF16 keys and values: the
     * decode kernel adds each row's mask to its scaled scores, the half-precision cache read in place. Against the
     * reference backend's float64 attention over the same mask; tolerance as for the unmasked decode step, since the
     * mask adds exact values (0 or −∞) or one rounding per score.
     */
    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void maskedDecodeStepAgreesWithTheReference(@ForAll("maskedDecodeSteps") MaskedDecode in) throws Exception {
        DecodeCase c = in.step();
        Sizes s = c.qk().s();
        Tensor q = c.qk().q().tensor(),
                k = c.qk().k().tensor(),
                v = c.v().tensor(),
                m = in.mask().tensor(s);
        double scale = 1 / Math.sqrt(s.d());
        close(
                on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, m, c.causal(), scale)),
                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, m, c.causal(), scale)),
                "masked decode (" + in.mask().name() + ") " + k.dtype() + " b=" + s.b() + " lk=" + s.lk() + " hkv="
                        + s.hkv() + " group=" + c.group() + " d=" + s.d() + " dv=" + c.dv() + " causal="
                        + c.causal());
    }

    /**
     * A prompt with a mask against a half-precision cache (several query rows: the kv heads widened, the mask added to
     * each head's scores), as views, against the reference's float64 attention.
     */
    @Property(tries = 30, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void maskedHalfCachePromptAgreesWithTheReference(@ForAll("masked") MaskedCase in, @ForAll boolean bf16)
            throws Exception {
        Sizes s = in.qkv().s();
        DType kv = bf16 ? DType.BF16 : DType.F16;
        Tensor q = in.qkv().q().tensor(),
                k = in.qkv().k().tensor().to(kv),
                v = in.qkv().v().tensor().to(kv);
        Tensor m = in.mask().tensor(s);
        double scale = 1 / Math.sqrt(s.d());
        close(
                on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, m, s.causal(), scale)),
                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, m, s.causal(), scale)),
                "masked half cache prompt (" + in.mask().name() + ") " + kv + " b=" + s.b() + " lq=" + s.lq() + " lk="
                        + s.lk() + " d=" + s.d() + " group=" + s.group() + " causal=" + s.causal());
    }

    /**
     * Attention against a half-precision cache does not convert it, with or without a key-padding mask: the host
     * pool's peak during the call (in a scope, whose tensors the pool serves) stays under the bytes of one F32 copy of
     * the keys (1 MiB here), where tensor's conversion of keys and values would take two.
     */
    @org.junit.jupiter.api.Test
    void aHalfCacheIsNotConvertedPerCall() throws Exception {
        try (var use = Backends.use(new SimdBackend())) {
            Tensor q = Tensor.randn(Shape.of(1, 8, 1, 64), 5);
            Tensor k = Tensor.randn(Shape.of(1, 2, 4096, 64), 6).to(DType.F16);
            Tensor v = Tensor.randn(Shape.of(1, 2, 4096, 64), 7).to(DType.F16);
            dev.panthera.tensor.MemoryPool pool = dev.panthera.tensor.MemoryPool.host();
            try (var scope = dev.panthera.tensor.MemoryScope.open()) { // scoped tensors come from the pool
                pool.resetPeak();
                long before = pool.stats().bytesInUse();
                Tensor o = Tensor.scaledDotProductAttention(q, k, v, true, 0.125);
                long grew = pool.stats().peakBytesInUse() - before, f32Keys = 2L * 4096 * 64 * 4;
                if (grew >= f32Keys)
                    throw new AssertionError(
                            "the call held " + grew + " more bytes (an F32 copy of the keys is " + f32Keys + ")");
                for (double x : o.toDoubleArray())
                    if (!Double.isFinite(x)) throw new AssertionError("output not finite");
                // the same with a key-padding mask (a batched decode step): the mask rows, not a copy of the cache
                boolean[] keep = new boolean[4096];
                for (int j = 0; j < keep.length; j++) keep[j] = j >= 100;
                Tensor mask = Tensor.of(keep, 1, 1, 1, 4096);
                pool.resetPeak();
                long before2 = pool.stats().bytesInUse();
                Tensor om = Tensor.scaledDotProductAttention(q, k, v, mask, false, 0.125);
                long grew2 = pool.stats().peakBytesInUse() - before2;
                if (grew2 >= f32Keys)
                    throw new AssertionError("the masked call held " + grew2
                            + " more bytes (an F32 copy of the keys is " + f32Keys + ")");
                for (double x : om.toDoubleArray())
                    if (!Double.isFinite(x)) throw new AssertionError("masked output not finite");
            }
        }
    }

    /**
     * Every score far below zero (all keys equal to u, the query −u scaled so that each score is about −500): the
     * weights are e^(s − max) = 1 only if the maximum is the scores' own (a maximum taken as 0, say from lanes past the
     * row, gives e^−500 = 0 and 0/0). The output is then the mean of the value rows.
     */
    @org.junit.jupiter.api.Test
    void decodeWithEveryScoreFarBelowZeroAveragesTheValues() throws Exception {
        for (long d : new long[] {8, 64}) {
            for (long lk : new long[] {5, 40}) {
                float[] u = Tensor.randn(Shape.of(d), 11).toFloatArray(), kv = new float[(int) (lk * d)];
                double norm = 0;
                for (float x : u) norm += x * x;
                float[] qv = new float[(int) (2 * d)];
                for (int i = 0; i < qv.length; i++) qv[i] = (float) (-500 * u[(int) (i % d)] / norm);
                for (int i = 0; i < kv.length; i++) kv[i] = u[(int) (i % d)];
                Tensor q = Tensor.of(qv, 1, 2, 1, d), k = Tensor.of(kv, 1, 1, lk, d);
                Tensor v = Tensor.randn(Shape.of(1, 1, lk, d), 12);
                close(
                        on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, true, 1.0)),
                        on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, true, 1.0)),
                        "decode with scores near -500, d=" + d + " lk=" + lk);
            }
        }
    }

    /**
     * Causal attention with more queries than keys: query i sees keys [0, i + lk − lq], so the first lq − lk rows see
     * none and are NaN, as on the reference backend; the later rows follow the causal rule. (Before, the blocked path
     * took a negative first visible count for "not causal" and let every row see every key.)
     */
    @org.junit.jupiter.api.Test
    void causalAttentionWithMoreQueriesThanKeysHidesKeysAsTheReferenceDoes() throws Exception {
        java.util.Random rnd = new java.util.Random(7);
        for (int[] c : new int[][] {{5, 1}, {5, 3}, {20, 3}, {70, 10}, {130, 64}}) {
            int lq = c[0], lk = c[1], d = 8;
            float[] q = new float[lq * d], k = new float[lk * d], v = new float[lk * d];
            for (int i = 0; i < q.length; i++) q[i] = rnd.nextFloat() * 2 - 1;
            for (int i = 0; i < k.length; i++) {
                k[i] = rnd.nextFloat() * 2 - 1;
                v[i] = rnd.nextFloat() * 2 - 1;
            }
            java.util.function.Supplier<Tensor> f = () -> Tensor.scaledDotProductAttention(
                    Tensor.of(q, 1, 1, lq, d), Tensor.of(k, 1, 1, lk, d), Tensor.of(v, 1, 1, lk, d), true, 0.35);
            double[] want = on(ReferenceBackend.INSTANCE, f), got = on(new SimdBackend(), f);
            for (int i = 0; i < lq; i++) {
                for (int e = 0; e < d; e++) {
                    int at = i * d + e;
                    String what = "lq=" + lq + " lk=" + lk + " row " + i + " dim " + e;
                    if (i < lq - lk) {
                        org.junit.jupiter.api.Assertions.assertTrue(Double.isNaN(want[at]), what + ": reference");
                        org.junit.jupiter.api.Assertions.assertTrue(Double.isNaN(got[at]), what + ": no visible key");
                    } else {
                        close(new double[] {want[at]}, new double[] {got[at]}, what);
                    }
                }
            }
        }
    }

    /** A NaN key makes the rows of its kv head NaN (softmax of a row holding NaN), and no other row. */
    @org.junit.jupiter.api.Test
    void aNanKeyMakesItsRowsNan() throws Exception {
        for (long d : new long[] {8, 64}) {
            float[] kv = Tensor.randn(Shape.of(1, 2, 40, d), 7).toFloatArray();
            kv[(int) (37 * d + 1)] = Float.NaN; // kv head 0, key 37
            Tensor q = Tensor.randn(Shape.of(1, 4, 1, d), 8), k = Tensor.of(kv, 1, 2, 40, d);
            Tensor v = Tensor.randn(Shape.of(1, 2, 40, d), 9);
            double[] got = on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, true, 0.125));
            for (int i = 0; i < got.length; i++) {
                boolean head0 = i < 2 * d; // query heads 0 and 1 read kv head 0
                if (head0 != Double.isNaN(got[i]))
                    throw new AssertionError("d=" + d + " element " + i + " (query head " + i / d + "): " + got[i]);
            }
        }
    }

    /** x [heads, seq, dim] as a view and the cos/sin tables [seq, dim / 2], N(0, 1). */
    record RopeCase(TensorSpec x, TensorSpec cos, TensorSpec sin, boolean interleaved) {}

    /** seq in [1, 9], heads in [1, 3], dim a head size (64, 128, 96) one time in four, else 2 to 80 (odd pair counts). */
    @Provide
    Arbitrary<RopeCase> ropeCases() {
        Arbitrary<Long> dims = Arbitraries.frequencyOf(
                Tuple.of(3, Draws.between(1, 40).map(p -> 2 * p)), Tuple.of(1, Draws.oneOf(64, 128, 96)));
        return Combinators.combine(Draws.between(1, 9), Draws.between(1, 3), dims, Arbitraries.of(false, true))
                .flatAs((seq, heads, dim, il) -> Combinators.combine(
                                Draws.views(DType.F32, heads, seq, dim),
                                Draws.contiguous(DType.F32, seq, dim / 2),
                                Draws.contiguous(DType.F32, seq, dim / 2))
                        .as((x0, c, sn) -> new RopeCase(x0, c, sn, il)));
    }

    @Property(tries = 40)
    void ropeAgreesWithTheReference(@ForAll("ropeCases") RopeCase in) throws Exception {
        boolean interleaved = in.interleaved();
        Tensor x = in.x().tensor();
        Tensor cos = in.cos().tensor(), sin = in.sin().tensor();
        close(
                on(ReferenceBackend.INSTANCE, () -> x.rope(cos, sin, interleaved)),
                on(new SimdBackend(), () -> x.rope(cos, sin, interleaved)),
                "rope interleaved=" + interleaved);
    }

    /**
     * A decode step (one query per head) over enough cached keys for its heads to split across GEMM's threads gives
     * the same bits on two threads as on one, each head being computed whole by one thread: 12 heads of 64 (from 11
     * keys the 12 heads split) and GQA with 4 kv heads of 8 query heads, 11, 64 and 300 keys; against the reference
     * backend as the properties above bound it.
     */
    @org.junit.jupiter.api.Test
    void decodeAttentionGivesTheSameBitsOnOneAndTwoThreads() throws Exception {
        java.util.Random r = new java.util.Random(7);
        for (int[] heads : new int[][] {{12, 12}, {32, 4}}) {
            for (int lk : new int[] {11, 64, 300}) {
                int hq = heads[0], hkv = heads[1], d = 64;
                Tensor q = gaussian(r, 1, hq, 1, d), k = gaussian(r, 1, hkv, lk, d), v = gaussian(r, 1, hkv, lk, d);
                double[][] got = new double[2][];
                for (int t = 1; t <= 2; t++) {
                    try (var use = GemmConfig.of(t).use()) {
                        got[t - 1] =
                                on(new SimdBackend(), () -> Tensor.scaledDotProductAttention(q, k, v, false, 0.125));
                    }
                }
                String what = "decode attention hq=" + hq + " hkv=" + hkv + " lk=" + lk;
                org.junit.jupiter.api.Assertions.assertArrayEquals(got[0], got[1], what + ", one vs two threads");
                close(
                        on(ReferenceBackend.INSTANCE, () -> Tensor.scaledDotProductAttention(q, k, v, false, 0.125)),
                        got[1],
                        what);
            }
        }
    }

    private static Tensor gaussian(java.util.Random r, long... shape) {
        float[] x = new float[(int) Shape.of(shape).numel()];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return Tensor.of(x, shape);
    }
}
