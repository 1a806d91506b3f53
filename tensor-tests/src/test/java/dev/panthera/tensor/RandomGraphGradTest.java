package dev.panthera.tensor;

import dev.panthera.testing.GradCheck;
import dev.panthera.testing.Shapes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Gradients of random compositions: chains of 4–8 ops drawn from unary functions, broadcast binary ops with a second
 * leaf, views (transpose, permute, stepped slice, narrow, reshape round trips, expand-then-reduce), shape-preserving
 * reductions, softmax/logSoftmax, norms and matmul with a third leaf, checked against central differences in F64
 * (via {@link GradCheck#check} and its derived tolerance). Single-op checks cannot catch a rule that
 * is right alone but wrong once its input is itself a view or a broadcast result; these can.
 */
class RandomGraphGradTest {

    /** One step: a description and a function of (current value, leaves). */
    record Step(String name, BiFunction<Tensor, Tensor[], Tensor> f) {
        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * The step of {@code kind} (0 to 13) on a value of {@code shape}: d is a dim (for kind 7 one of size ≥ 2), a and b
     * dims to transpose (kind 6, rank ≥ 2), alt picks the variant of kinds 11 and 12. Every step keeps the shape (or
     * restores it).
     */
    private static Step step(long[] s, int kind, int d, int a, int b, boolean alt) {
        int rank = s.length;
        return switch (kind) {
            case 0 -> new Step("tanh", (x, l) -> x.tanh());
            case 1 -> new Step("sigmoid·2", (x, l) -> x.sigmoid().mul(2));
            case 2 -> new Step("silu", (x, l) -> x.silu());
            case 3 -> new Step("gelu", (x, l) -> x.gelu());
            case 4 -> new Step("mul leaf b", (x, l) -> x.mul(l[1]));
            case 5 -> new Step("sub leaf b", (x, l) -> x.sub(l[1].exp()));
            // transpose, work on the transposed view, transpose back
            case 6 ->
                new Step(
                        "transposed(" + a + ", " + b + ") exp(0.3x)",
                        (x, l) -> x.transpose(a, b).mul(0.3).exp().transpose(a, b));
            case 7 -> {
                long n = s[d];
                // stepped slice, then cat the two interleaved halves back: same shape, reordered
                yield new Step(
                        "slice step 2 + cat dim " + d,
                        (x, l) -> Tensor.cat(List.of(x.slice(d, 0, n, 2), x.slice(d, 1, n, 2)), d));
            }
            case 8 ->
                new Step(
                        "reshape round trip",
                        (x, l) -> x.reshape(-1).mul(x.reshape(-1).tanh()).reshape(x.dims()));
            case 9 ->
                new Step(
                        "expand + sum(0)",
                        (x, l) -> x.unsqueeze(0)
                                .expand(prepend(3, x.dims()))
                                .mul(0.5)
                                .sum(new int[] {0}, false));
            case 10 -> new Step("x - mean(dim " + d + ", keepdim)", (x, l) -> x.sub(x.mean(new int[] {d}, true)));
            case 11 ->
                alt
                        ? new Step("softmax dim " + d, (x, l) -> x.softmax(d))
                        : new Step("logSoftmax dim " + d, (x, l) -> x.logSoftmax(d));
            case 12 ->
                s[rank - 1] >= 2 && alt
                        ? new Step("layerNorm", (x, l) -> x.layerNorm(null, null, 1e-5))
                        : new Step("rmsNorm", (x, l) -> x.rmsNorm(null, 1e-5));
            default -> new Step("matmul leaf c", (x, l) -> x.matmul(l[2])); // c is [last, last]
        };
    }

    /**
     * One step valid on {@code shape}: a kind among those the shape allows (a transpose needs rank 2, a stepped slice
     * a dim of size 2 or more), shrinking toward tanh and dim 0.
     */
    private static Arbitrary<Step> steps(long[] shape) {
        int rank = shape.length;
        List<Integer> kinds = new ArrayList<>(), wide = new ArrayList<>();
        for (int d = 0; d < rank; d++) if (shape[d] >= 2) wide.add(d);
        for (int k = 0; k < 14; k++) if ((k != 6 || rank >= 2) && (k != 7 || !wide.isEmpty())) kinds.add(k);
        return Arbitraries.of(kinds).flatMap(kind -> {
            Arbitrary<Integer> dims = kind == 7 ? Arbitraries.of(wide) : Cases.choice(rank);
            return Combinators.combine(dims, Cases.choice(rank), Cases.choice(rank), Arbitraries.of(false, true))
                    .as((d, a, b, alt) -> step(shape, kind, d, a, b, alt));
        });
    }

    private static long[] prepend(long n, long[] dims) {
        long[] out = new long[dims.length + 1];
        out[0] = n;
        System.arraycopy(dims, 0, out, 1, dims.length);
        return out;
    }

    /** The leaf shapes (x, and b which broadcasts against x) and the chain of steps applied to x. */
    record Graph(long[] shape, long[] bShape, List<Step> chain) {
        @Override
        public String toString() {
            return "x " + Arrays.toString(shape) + ", b " + Arrays.toString(bShape) + ": " + chain;
        }
    }

    /**
     * x of rank 1 to 3 with sizes 1 to 3; b drops some leading dims of x and sets others to 1; a chain of 4 to 8 steps
     * drawn as a list, so a failure shrinks toward a shorter chain of simpler steps.
     */
    static Arbitrary<Graph> drawGraphs() {
        Arbitrary<long[]> shapes = Shapes.shapes(1, 3, 1, 3, 27).map(Shape::toArray);
        return shapes.flatMap(shape -> {
            int rank = shape.length;
            Arbitrary<long[]> bShapes = Combinators.combine(
                            Arbitraries.integers().between(0, rank - 1),
                            Arbitraries.of(false, true).list().ofSize(rank))
                    .as((drop, ones) -> {
                        long[] b = Arrays.copyOfRange(shape, drop, rank);
                        for (int i = 0; i < b.length; i++) if (ones.get(drop + i)) b[i] = 1;
                        return b;
                    });
            return Combinators.combine(bShapes, steps(shape).list().ofMinSize(4).ofMaxSize(8))
                    .as((b, chain) -> new Graph(shape, b, chain));
        });
    }

    @Provide
    Arbitrary<GradChecks> graphs() {
        return GradChecks.of(drawGraphs(), g -> {
            long last = g.shape()[g.shape().length - 1];
            StringBuilder name = new StringBuilder();
            for (Step st : g.chain()) name.append(st.name()).append(" → ");
            Function<Tensor[], Tensor> f = l -> {
                Tensor x = l[0];
                for (Step st : g.chain()) x = st.f().apply(x, l);
                return x;
            };
            // Each norm divides by √(mean square + 1e-5) ≥ √1e-5, so a rounding error entering it leaves at most
            // 1/√1e-5 ≈ 316 times larger; the default bound allows one such step, and every further norm in the chain
            // multiplies it by 316 (two norms after a centring that cancels to ~0 do amplify the first norm's
            // rounding 316² times, seed 4816805877971229533: x, b = 0, tanh → sub leaf b → rmsNorm → x - mean →
            // rmsNorm → rmsNorm).
            int norms = 0;
            for (Step st : g.chain()) if (st.name().endsWith("Norm")) norms++;
            double amplification = GradCheck.DEFAULT_AMPLIFICATION * Math.pow(316, Math.max(0, norms - 1));
            return List.of(new GradChecks.Check(
                    name.toString(), f, amplification, g.shape(), g.bShape(), new long[] {last, last}));
        });
    }

    @Property(tries = 40)
    void randomCompositionsMatchCentralDifferences(@ForAll("graphs") GradChecks checks) {
        checks.run();
    }
}
