package dev.panthera.testing.conformance;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Handle;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorAssert;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Tolerance;
import dev.panthera.testing.Values;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The backend conformance suite as a base class: a backend author extends it, names the backend and the tolerance
 * its arithmetic earns, and jqwik runs every {@link ConformanceCases case} on drawn inputs against the scalar
 * reference backend:
 *
 * <pre>{@code
 * class MyBackendConformanceTest extends BackendConformanceSuite {
 *     protected Backend backend() { return new MyBackend(); }
 *     protected Tolerance tolerance(DType dtype) { return Tolerance.of(2e-5, 2e-6); } // say why in a comment
 * }
 * }</pre>
 *
 * Each try draws a shape (rank 2..4, sizes 1..17 favouring primes and vector tails), a dtype from {@link #dtypes()},
 * two tensors in any layout (contiguous, transposed, stepped, offset; broadcast, specials and edge shapes as
 * {@link #inputs()} asks), and runs every case on both backends. The inputs are made on the backend's device. A
 * failure names the case, the backend and the worst element, and jqwik shrinks the sample toward a small contiguous
 * shape with simple values. Override {@link #agreesWithTheReferenceBackend} with another {@code @Property(tries = n)}
 * to change the number of tries (default 40).
 */
public abstract class BackendConformanceSuite {

    /** The backend under test (a new one per call is fine). */
    protected abstract Backend backend();

    /** What the backend's arithmetic earns for {@code dtype}, derived in the subclass; cases may widen atol. */
    protected abstract Tolerance tolerance(DType dtype);

    /** The dtypes drawn (F32 by default; the first is the one samples shrink toward). */
    protected List<DType> dtypes() {
        return List.of(DType.F32);
    }

    /** What the inputs hold ({@link ConformanceInputs#NORMAL} by default). */
    protected ConformanceInputs inputs() {
        return ConformanceInputs.NORMAL;
    }

    /** The cases run on each sample (all by default). */
    protected List<ConformanceCase> cases() {
        return ConformanceCases.all();
    }

    @Property(tries = 40)
    public void agreesWithTheReferenceBackend(@ForAll("conformanceSamples") ConformanceSample sample) {
        check(backend(), sample);
    }

    @Provide
    public Arbitrary<ConformanceSample> conformanceSamples() {
        ConformanceInputs in = inputs();
        Arbitrary<Shape> normal = Shapes.shapes(2, 4, 1, 17, 1 << 14);
        Arbitrary<Shape> shapes = normal;
        if (in.edgeShapes()) {
            Arbitrary<Shape> empty = Combinators.combine(
                            normal, Arbitraries.integers().between(0, 3))
                    .as((s, d) -> {
                        long[] dims = s.toArray();
                        dims[d % dims.length] = 0;
                        return Shape.of(dims);
                    });
            shapes = Arbitraries.frequencyOf(
                    Tuple.of(6, normal), Tuple.of(1, Arbitraries.just(Shape.scalar())), Tuple.of(1, empty));
        }
        List<LayoutKind> kinds = new ArrayList<>(
                List.of(LayoutKind.CONTIGUOUS, LayoutKind.TRANSPOSED, LayoutKind.STEPPED, LayoutKind.OFFSET));
        if (in.broadcasts()) kinds.add(LayoutKind.BROADCAST);
        Arbitrary<DType> dtypes = Arbitraries.of(dtypes());
        return Combinators.combine(shapes, dtypes).flatAs((shape, dtype) -> {
            Tensors t = Tensors.of(dtype)
                    .withLayouts(
                            kinds.getFirst(), kinds.subList(1, kinds.size()).toArray(LayoutKind[]::new))
                    .withValues(in.specials() ? specials(dtype) : Values.normal());
            Arbitrary<dev.panthera.testing.TensorSpec> spec = t.specs(shape, dtype);
            return Combinators.combine(spec, spec).as((a, b) -> new ConformanceSample(shape, dtype, List.of(a, b)));
        });
    }

    /**
     * Normal values with one in eight replaced by NaN, ±Inf, ±0.0 or a tiny value of the dtype (F16's subnormals are
     * far above F32's, so its tiny value is 2⁻²⁰; F32 and BF16 share 2⁻¹³⁰; F64 takes 2⁻¹⁰³⁰).
     */
    protected Arbitrary<Double> specials(DType dtype) {
        double tiny = dtype == DType.F16 ? 0x1p-20 : dtype == DType.F64 ? 0x1p-1030 : 0x1p-130;
        Arbitrary<Double> special = Arbitraries.of(
                0.0, -0.0, tiny, -3 * tiny, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN);
        return Arbitraries.frequencyOf(Tuple.of(7, Values.normal()), Tuple.of(1, special));
    }

    /** Runs every case of {@link #cases()} on {@code sample} with {@code backend} and with the reference. */
    public void check(Backend backend, ConformanceSample sample) {
        Device device = backend.device();
        for (ConformanceCase c : cases()) {
            double[] want;
            try {
                want = run(ReferenceBackend.INSTANCE, Device.CPU, c, sample).values();
            } catch (RuntimeException refused) {
                if (!inputs().edgeShapes()) throw refused;
                RuntimeException thrown = null;
                try {
                    run(backend, device, c, sample);
                } catch (RuntimeException e) {
                    thrown = e;
                }
                if (thrown == null || thrown.getClass() != refused.getClass())
                    throw new AssertionError(backend.name() + " vs reference, case '" + c.name() + "' on "
                            + sample.shape() + ": reference threw " + refused + ", backend " + thrown);
                continue;
            }
            Result res = run(backend, device, c, sample);
            double[] got = res.values();
            Tolerance tol = tolerance(sample.dtype()).withEqualNan(true);
            if (sample.dtype() != DType.F64) {
                tol = tol.withAtLeastAtol(c.conditionedAtol());
                if (c.summed() != null) tol = tol.withAtLeastAtol(summationBound(c, sample));
            }
            if (got.length != want.length)
                throw new AssertionError(backend.name() + " vs reference, case '" + c.name() + "': " + got.length
                        + " values, reference " + want.length);
            TensorAssert.assertClose(
                    got,
                    want,
                    Shape.of(res.dims()),
                    tol,
                    backend.name() + " vs reference, case '" + c.name() + "' on " + sample.dtype() + " "
                            + sample.shape());
        }
    }

    private record Result(double[] values, long[] dims) {}

    /**
     * γ_n times the largest finite element of the case applied to |inputs| by the reference backend: the forward-error
     * bound of a float32 sum of n terms in any order (see {@link ConformanceCase}). Elements that are NaN or infinite
     * there are compared by value, not by this bound.
     */
    private double summationBound(ConformanceCase c, ConformanceSample sample) {
        long[] dims = sample.shape().toArray();
        long n = dims.length == 0 ? 1 : c.summed().applyAsLong(dims);
        double u = 0x1p-24;
        double gamma = n * u / (1 - n * u);
        double largest = 0;
        Tensor[] in = new Tensor[c.arity()];
        try (Handle use = Backends.use(ReferenceBackend.INSTANCE)) {
            for (int k = 0; k < in.length; k++)
                in[k] = sample.inputs().get(k).tensor(Device.CPU).abs();
            for (double v : c.op().apply(in).toDoubleArray()) if (Double.isFinite(v)) largest = Math.max(largest, v);
        }
        return gamma * largest;
    }

    private static Result run(Backend b, Device device, ConformanceCase c, ConformanceSample s) {
        Tensor[] in = new Tensor[c.arity()];
        try (Handle use = Backends.use(b)) {
            for (int k = 0; k < in.length; k++) in[k] = s.inputs().get(k).tensor(device);
            Tensor out = c.op().apply(in);
            return new Result(out.toDoubleArray(), out.dims());
        }
    }
}
