package dev.panthera.tensor;

import dev.panthera.testing.GradCheck;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import net.jqwik.api.Arbitrary;

/**
 * A list of gradient checks ({@link GradCheck#check}, its derived tolerance) whose leaves jqwik draws: parameters
 * (sizes, choices) are drawn first, the checks follow from them, and each check gets its own N(0, 1) F64 contiguous
 * leaves of the shapes it names. A failure shrinks the parameters toward small sizes first ({@link SizesFirst}), then
 * the leaves' values toward 0, and reports both.
 *
 * @param params what the checks were made from, as drawn
 * @param checks the checks, in order
 * @param leaves each check's leaves
 */
record GradChecks(Object params, List<Check> checks, List<List<TensorSpec>> leaves) {

    /**
     * One check: its name, the function of its leaves, the bound on how far the function amplifies a rounding
     * ({@link GradCheck#check(String, Function, double, Tensor...)}), and the leaves' shapes.
     */
    record Check(String what, Function<Tensor[], Tensor> f, double amplification, long[]... shapes) {
        /** A check of a function no worse conditioned than {@link GradCheck#DEFAULT_AMPLIFICATION} assumes. */
        Check(String what, Function<Tensor[], Tensor> f, long[]... shapes) {
            this(what, f, GradCheck.DEFAULT_AMPLIFICATION, shapes);
        }
    }

    /** The checks {@code make} gives for drawn {@code params}, with their leaves drawn too. */
    static <P> Arbitrary<GradChecks> of(Arbitrary<P> params, Function<P, List<Check>> make) {
        return SizesFirst.flatMap(params, p -> {
            List<Check> checks = make.apply(p);
            List<Arbitrary<List<TensorSpec>>> each = new ArrayList<>();
            for (Check c : checks) {
                List<Arbitrary<TensorSpec>> leaves = new ArrayList<>();
                for (long[] s : c.shapes()) leaves.add(Cases.contiguous(DType.F64, s));
                each.add(Cases.all(leaves));
            }
            return Cases.all(each).map(l -> new GradChecks(p, checks, l));
        });
    }

    /** Runs every check on its leaves. */
    void run() {
        for (int i = 0; i < checks.size(); i++)
            GradCheck.check(
                    checks.get(i).what(),
                    checks.get(i).f(),
                    checks.get(i).amplification(),
                    Cases.tensors(leaves.get(i)));
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("params ")
                .append(params instanceof long[] a ? Arrays.toString(a) : String.valueOf(params));
        for (int i = 0; i < checks.size(); i++)
            s.append("\n  ").append(checks.get(i).what()).append(": ").append(leaves.get(i));
        return s.toString();
    }
}
