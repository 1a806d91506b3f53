package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The SIMD training kernels ({@link FusedGradKernels}: attention with mask and log-sum-exp, its backward, the norm
 * backward) against the reference backend's float64 kernels through the public ops, on random shapes: GQA groups 1,
 * 2 and 4, Lq ≠ Lk, head dims around the vector width, boolean padding and additive masks, q/k/v as transposed
 * [B, T, H, D] projections or other views. Tolerance: every value is a sum of at most ~70 float products
 * (ε = 6e-8) of terms of magnitude up to ~10 for these normal inputs, so it stays within 70·6e-8·10 ≈ 4e-5 of the
 * float64 result; gradients go through two such stages (dP, then dS·K): 2e-4·max(1, |expected|).
 */
class TrainingKernelsSimdTest {
    private static final double TOL = 2e-4;

    private static Tensor heads(Random r, long b, long h, long t, long d) {
        if (r.nextBoolean())
            return Tensor.randn(Shape.of(b, t, h, d), r.nextLong()).transpose(1, 2);
        return SeededViews.randomView(r, new long[] {b, h, t, d}, DType.F32);
    }

    private static double[][] run(Backend be, Tensor[] in, Tensor mask, boolean causal, double scale, Tensor w) {
        try (var use = Backends.use(be)) {
            Tensor[] x = new Tensor[3];
            for (int i = 0; i < 3; i++) x[i] = in[i].detach().requiresGrad(true);
            Tensor o = Tensor.scaledDotProductAttention(x[0], x[1], x[2], mask, causal, scale);
            o.mul(w).sum().backward();
            return new double[][] {
                o.toDoubleArray(),
                x[0].grad().toDoubleArray(),
                x[1].grad().toDoubleArray(),
                x[2].grad().toDoubleArray()
            };
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void close(double[] want, double[] got, String what) {
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(want[i] - got[i]) <= TOL * Math.max(1, Math.abs(want[i])))) {
                throw new AssertionError(what + ": element " + i + " expected " + want[i] + " but was " + got[i]);
            }
        }
    }

    @Property(tries = 40)
    void attentionForwardAndBackwardAgreeWithTheReference(@ForAll long seed) {
        Random r = new Random(seed);
        long[] groups = {1, 2, 4}, dims = {1, 3, 8, 9, 16, 17, 33};
        long b = 1 + r.nextInt(2), hkv = 1 + r.nextInt(2), g = groups[r.nextInt(3)];
        long lk = 1 + r.nextInt(20), lq = r.nextBoolean() ? lk : 1 + r.nextInt((int) lk);
        long d = dims[r.nextInt(dims.length)], dv = dims[r.nextInt(dims.length)];
        boolean causal = r.nextBoolean();
        Tensor[] in = {heads(r, b, hkv * g, lq, d), heads(r, b, hkv, lk, d), heads(r, b, hkv, lk, dv)};
        Tensor mask = switch (r.nextInt(3)) {
            case 0 -> null;
            case 1 -> padding(r, b, lq, lk);
            default -> Tensor.randn(Shape.of(b, 1, lq, lk), r.nextLong());
        };
        Tensor w = Tensor.randn(Shape.of(b, hkv * g, lq, dv), r.nextLong());
        double scale = 1 / Math.sqrt(d);
        double[][] want = run(ReferenceBackend.INSTANCE, in, mask, causal, scale, w);
        double[][] got = run(new SimdBackend(), in, mask, causal, scale, w);
        String[] names = {"output", "dq", "dk", "dv"};
        for (int i = 0; i < 4; i++) {
            close(
                    want[i],
                    got[i],
                    names[i] + " b=" + b + " hkv=" + hkv + " g=" + g + " lq=" + lq + " lk=" + lk + " d=" + d + " dv="
                            + dv + " causal=" + causal + " mask=" + (mask == null ? "none" : mask.dtype()));
        }
    }

    /** BOOL [b, 1, lq, lk]: each batch row hides a random count of leading keys, never a query's own position. */
    private static Tensor padding(Random r, long b, long lq, long lk) {
        boolean[] m = new boolean[(int) (b * lq * lk)];
        for (int bi = 0; bi < b; bi++) {
            int pad = r.nextInt((int) lk);
            for (int i = 0; i < lq; i++)
                for (int j = 0; j < lk; j++) m[(int) ((bi * lq + i) * lk + j)] = j >= pad || j == i + lk - lq;
        }
        return Tensor.of(m, b, 1, lq, lk);
    }

    @Property(tries = 40)
    void normBackwardAgreesWithTheReference(@ForAll long seed) {
        Random r = new Random(seed);
        long[] sizes = {1, 2, 7, 8, 9, 17, 64, 100};
        long rows = 1 + r.nextInt(6), n = sizes[r.nextInt(sizes.length)];
        Tensor x = SeededViews.randomView(r, new long[] {rows, n}, DType.F32);
        Tensor wt = Tensor.randn(Shape.of(n), r.nextLong()), bias = Tensor.randn(Shape.of(n), r.nextLong());
        Tensor up = Tensor.randn(Shape.of(rows, n), r.nextLong());
        boolean rms = r.nextBoolean(), affine = r.nextBoolean();
        double[][] want = norm(ReferenceBackend.INSTANCE, x, wt, bias, up, rms, affine);
        double[][] got = norm(new SimdBackend(), x, wt, bias, up, rms, affine);
        for (int i = 0; i < want.length; i++)
            close(
                    want[i],
                    got[i],
                    (rms ? "rmsNorm" : "layerNorm") + " gradient " + i + " of [" + rows + ", " + n + "]");
    }

    private static double[][] norm(
            Backend be, Tensor x0, Tensor w0, Tensor b0, Tensor up, boolean rms, boolean affine) {
        try (var use = Backends.use(be)) {
            Tensor x = x0.detach().requiresGrad(true);
            Tensor w = affine ? w0.detach().requiresGrad(true) : null,
                    b = affine ? b0.detach().requiresGrad(true) : null;
            Tensor y = rms ? x.rmsNorm(w, 1e-6) : x.layerNorm(w, b, 1e-5);
            y.mul(up).sum().backward();
            if (!affine) return new double[][] {x.grad().toDoubleArray()};
            return rms
                    ? new double[][] {x.grad().toDoubleArray(), w.grad().toDoubleArray()}
                    : new double[][] {
                        x.grad().toDoubleArray(),
                        w.grad().toDoubleArray(),
                        b.grad().toDoubleArray()
                    };
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
