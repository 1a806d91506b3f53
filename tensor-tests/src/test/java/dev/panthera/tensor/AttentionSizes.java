package dev.panthera.tensor;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * The sizes of an attention problem as the properties draw them: batch b, hkv key/value heads and group query heads
 * per key head (GQA), lk keys and lq queries aligned to the end of the keys (lq = lk for a prefill, fewer for the
 * last positions of a decode), head dims d (queries and keys) and dv (values), and whether it is causal.
 */
record AttentionSizes(long b, long hkv, long group, long lq, long lk, long d, long dv, boolean causal) {

    long hq() {
        return hkv * group;
    }

    /**
     * Sizes from the given arbitraries; lq is lk (a prefill) or a size in [1, lk], drawn one way or the other with
     * equal weight, shrinking toward the prefill.
     */
    static Arbitrary<AttentionSizes> draw(
            Arbitrary<Long> b,
            Arbitrary<Long> hkv,
            Arbitrary<Long> group,
            Arbitrary<Long> lk,
            Arbitrary<Long> d,
            Arbitrary<Long> dv) {
        return Combinators.combine(b, hkv, group, lk, d, dv, Arbitraries.of(false, true))
                .flatAs((bb, h, g, k, dd, ddv, causal) -> Combinators.combine(
                                Arbitraries.of(true, false), Cases.between(1, k))
                        .as((prefill, q) -> new AttentionSizes(bb, h, g, prefill ? k : q, k, dd, ddv, causal)));
    }
}
