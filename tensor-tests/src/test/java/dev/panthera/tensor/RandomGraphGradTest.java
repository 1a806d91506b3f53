package dev.panthera.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Gradients of random compositions: chains of 4–8 ops drawn from unary functions, broadcast binary ops with a second
 * leaf, views (transpose, permute, stepped slice, narrow, reshape round trips, expand-then-reduce), shape-preserving
 * reductions, softmax/logSoftmax, norms and matmul with a third leaf, checked against central differences in F64
 * (via {@link GradCheck#check} and its derived tolerance). Single-op checks cannot catch a rule that
 * is right alone but wrong once its input is itself a view or a broadcast result; these can.
 */
class RandomGraphGradTest {

    /** One step: a description and a function of (current value, leaves). */
    private record Step(String name, java.util.function.BiFunction<Tensor, Tensor[], Tensor> f) {}

    private static List<Step> steps(Random r, long[] shape, int count) {
        List<Step> out = new ArrayList<>();
        long[] s = shape.clone(); // tracks the current shape; every step keeps it (or restores it)
        int rank = s.length;
        for (int i = 0; i < count; i++) {
            int d = r.nextInt(rank);
            int kind = r.nextInt(14);
            switch (kind) {
                case 0 -> out.add(new Step("tanh", (x, l) -> x.tanh()));
                case 1 -> out.add(new Step("sigmoid·2", (x, l) -> x.sigmoid().mul(2)));
                case 2 -> out.add(new Step("silu", (x, l) -> x.silu()));
                case 3 -> out.add(new Step("gelu", (x, l) -> x.gelu()));
                case 4 -> out.add(new Step("mul leaf b", (x, l) -> x.mul(l[1])));
                case 5 -> out.add(new Step("sub leaf b", (x, l) -> x.sub(l[1].exp())));
                case 6 -> {
                    if (rank < 2) {
                        i--;
                        continue;
                    }
                    int a = r.nextInt(rank), b = r.nextInt(rank);
                    // transpose, work on the transposed view, transpose back
                    out.add(new Step(
                            "transposed exp(0.3x)",
                            (x, l) -> x.transpose(a, b).mul(0.3).exp().transpose(a, b)));
                }
                case 7 -> {
                    long n = s[d];
                    if (n < 2) {
                        i--;
                        continue;
                    }
                    // stepped slice, then cat the two interleaved halves back: same shape, reordered
                    out.add(new Step(
                            "slice step 2 + cat dim " + d,
                            (x, l) -> Tensor.cat(List.of(x.slice(d, 0, n, 2), x.slice(d, 1, n, 2)), d)));
                }
                case 8 ->
                    out.add(new Step(
                            "reshape round trip",
                            (x, l) -> x.reshape(-1).mul(x.reshape(-1).tanh()).reshape(x.dims())));
                case 9 ->
                    out.add(new Step(
                            "expand + sum(0)",
                            (x, l) -> x.unsqueeze(0)
                                    .expand(prepend(3, x.dims()))
                                    .mul(0.5)
                                    .sum(new int[] {0}, false)));
                case 10 ->
                    out.add(new Step("x - mean(dim " + d + ", keepdim)", (x, l) -> x.sub(x.mean(new int[] {d}, true))));
                case 11 ->
                    out.add(
                            r.nextBoolean()
                                    ? new Step("softmax dim " + d, (x, l) -> x.softmax(d))
                                    : new Step("logSoftmax dim " + d, (x, l) -> x.logSoftmax(d)));
                case 12 ->
                    out.add(
                            s[rank - 1] >= 2 && r.nextBoolean()
                                    ? new Step("layerNorm", (x, l) -> x.layerNorm(null, null, 1e-5))
                                    : new Step("rmsNorm", (x, l) -> x.rmsNorm(null, 1e-5)));
                default -> out.add(new Step("matmul leaf c", (x, l) -> x.matmul(l[2]))); // c is [last, last]
            }
        }
        return out;
    }

    private static long[] prepend(long n, long[] dims) {
        long[] out = new long[dims.length + 1];
        out[0] = n;
        System.arraycopy(dims, 0, out, 1, dims.length);
        return out;
    }

    @Property(tries = 40)
    void randomCompositionsMatchCentralDifferences(@ForAll long seed) {
        Random r = new Random(seed);
        int rank = 1 + r.nextInt(3);
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = 1 + r.nextInt(3);
        long last = shape[rank - 1];
        // leaf b broadcasts against x: some dims 1, maybe fewer leading dims
        long[] bShape = java.util.Arrays.copyOfRange(shape, r.nextInt(rank), rank);
        for (int i = 0; i < bShape.length; i++) if (r.nextBoolean()) bShape[i] = 1;
        List<Step> chain = steps(r, shape, 4 + r.nextInt(5));
        StringBuilder name = new StringBuilder();
        for (Step s : chain) name.append(s.name()).append(" → ");
        Function<Tensor[], Tensor> f = l -> {
            Tensor x = l[0];
            for (Step s : chain) x = s.f().apply(x, l);
            return x;
        };
        Seeded.gradCheck(name.toString(), r, f, shape, bShape, new long[] {last, last});
    }
}
