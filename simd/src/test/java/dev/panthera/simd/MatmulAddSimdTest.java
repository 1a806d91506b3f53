package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link Tensor#matmulAdd} through the SIMD backend's fused kernel (bias, residual and activation applied as the GEMM
 * writes each tile, or after the product on the paths without tiles). Sizes: M below and above the skinny limit and
 * around the kernel's 6- and 12-row slivers and its 96-row block; K across one and several depth blocks (256 on the
 * 16-lane Intel kernel, 1024 on AMD's; the simd surefire execution with {@code -Dpanthera.simd.kc=256} runs both);
 * N across the 32-column tile with partial tiles. Weights packed for matmul or not, F32 or BF16; the residual
 * contiguous, a row-strided view or a transposed one; inputs with a batch dimension.
 *
 * <p>Two properties: (1) every element equals, bit for bit, what the separate ops give on the same backend
 * ({@code matmul}, {@code add} of the bias, {@code add} of the residual, the unary op), which is what the fused kernel
 * promises; (2) without activation (or with ReLU, which is exact and 1-Lipschitz) the result, and the reference
 * backend's (its own product, adds and unary op), lie within the bound of
 * a float64 loop: K products and K − 1 sums, then two adds, each a rounding of relative size at most 2⁻²⁴ of a partial
 * result bounded by S = Σ|a·w| + |b| + |r|, so |got − exact| ≤ (2K + 4)·2⁻²⁴·S (the factor 2 over K as the other GEMM
 * tests take it, for the blocked sum order).
 */
class MatmulAddSimdTest {
    private static final long[] M = {1, 3, 7, 8, 12, 13, 31, 97, 130};
    private static final UnaryOp[] ACTS = {null, UnaryOp.RELU, UnaryOp.GELU_ERF, UnaryOp.SILU, UnaryOp.GELU_TANH};

    /**
     * Sizes and options, then the values: batch (1: a 2-D input; 2: [2, M, K]), weight packed, weight BF16, bias,
     * residual kind (0 none, 1 contiguous, 2 rows of a wider tensor, 3 transposed), activation index.
     */
    record Case(
            int batch,
            int m,
            int k,
            int n,
            boolean packed,
            boolean bf16,
            boolean bias,
            int res,
            int act,
            float[] a,
            float[] w,
            float[] b,
            float[] r) {
        @Override
        public String toString() {
            return "batch=" + batch + " m=" + m + " k=" + k + " n=" + n + " packed=" + packed + " bf16=" + bf16
                    + " bias=" + bias + " res=" + res + " act=" + ACTS[act] + " a=" + Draws.show(a) + " w="
                    + Draws.show(w) + " b=" + Draws.show(b) + " r=" + Draws.show(r);
        }

        int rows() {
            return batch * m;
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Case> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 2),
                        Draws.oneOf(M),
                        Arbitraries.integers().between(1, 600),
                        Arbitraries.integers().between(1, 90),
                        Arbitraries.of(true, false),
                        Arbitraries.of(false, true),
                        Arbitraries.of(true, false),
                        Arbitraries.integers().between(0, 3))
                .as((batch, m, k, n, packed, bf16, bias, res) ->
                        new Case(batch, m.intValue(), k, n, packed, bf16, bias, res, 0, null, null, null, null));
        Arbitrary<Case> withAct = sizes.flatMap(c -> Arbitraries.integers()
                .between(0, ACTS.length - 1)
                .map(act -> new Case(
                        c.batch, c.m, c.k, c.n, c.packed, c.bf16, c.bias, c.res, act, null, null, null, null)));
        return SizesFirst.flatMap(
                withAct,
                c -> Combinators.combine(
                                Draws.normals((long) c.rows() * c.k),
                                Draws.normals((long) c.k * c.n),
                                Draws.normals(c.n),
                                Draws.normals((long) c.rows() * c.n))
                        .as((a, w, b, r) ->
                                new Case(c.batch, c.m, c.k, c.n, c.packed, c.bf16, c.bias, c.res, c.act, a, w, b, r)));
    }

    private static Tensor input(Case c) {
        return c.batch == 1 ? Tensor.of(c.a, c.m, c.k) : Tensor.of(c.a, c.batch, c.m, c.k);
    }

    private static Tensor weight(Case c) {
        Tensor w = Tensor.of(c.w, c.k, c.n);
        if (c.bf16) w = w.to(DType.BF16);
        return c.packed ? w.packedForMatmul() : w;
    }

    /** The residual of the output's shape in the case's layout; r holds its values in row-major order. */
    private static Tensor residual(Case c) {
        int rows = c.rows(), n = c.n;
        Tensor r = switch (c.res) {
            case 0 -> null;
            case 1 -> Tensor.of(c.r, rows, n);
            case 2 -> { // rows n + 3 apart: the first n columns of a wider tensor
                float[] wide = new float[rows * (n + 3)];
                for (int i = 0; i < rows; i++) System.arraycopy(c.r, i * n, wide, i * (n + 3), n);
                yield Tensor.of(wide, rows, n + 3).narrow(1, 0, n);
            }
            default -> { // the transpose of an [n, rows] tensor
                float[] t = new float[rows * n];
                for (int i = 0; i < rows; i++) for (int j = 0; j < n; j++) t[j * rows + i] = c.r[i * n + j];
                yield Tensor.of(t, n, rows).transpose(0, 1);
            }
        };
        return r == null || c.batch == 1 ? r : r.reshape(c.batch, c.m, n);
    }

    private static float[] fused(Case c) {
        return fused(c, new SimdBackend());
    }

    private static float[] fused(Case c, Backend backend) {
        try (var use = Backends.use(backend)) {
            Tensor y = input(c).matmulAdd(weight(c), c.bias ? Tensor.of(c.b, c.n) : null, residual(c), ACTS[c.act]);
            assertEquals(c.batch == 1 ? 2 : 3, y.rank());
            return y.contiguous().toFloatArray();
        }
    }

    @Property(tries = 60)
    void equalsTheSeparateOps(@ForAll("cases") Case c) {
        float[] got = fused(c), want;
        try (var use = Backends.use(new SimdBackend())) {
            Tensor y = input(c).matmul(weight(c));
            if (c.bias) y = y.add(Tensor.of(c.b, c.n));
            Tensor r = residual(c);
            if (r != null) y = y.add(r);
            y = switch (ACTS[c.act]) {
                case null -> y;
                case RELU -> y.relu();
                case GELU_ERF -> y.gelu();
                case SILU -> y.silu();
                case GELU_TANH -> y.geluTanh();
                default -> throw new AssertionError();
            };
            want = y.contiguous().toFloatArray();
        }
        assertArrayEquals(want, got, c.toString());
    }

    @Property(tries = 60)
    void matchesAFloat64Loop(@ForAll("cases") Case c) {
        UnaryOp act = ACTS[c.act];
        if (act != null && act != UnaryOp.RELU) return; // the other activations: property (1) only
        float[] got = fused(c), reference = fused(c, ReferenceBackend.INSTANCE);
        int rows = c.rows(), k = c.k, n = c.n;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++) {
                    double w = c.bf16
                            ? FloatConversions.bf16ToFloat(FloatConversions.floatToBf16(c.w[p * n + j]))
                            : c.w[p * n + j];
                    s += c.a[i * k + p] * w;
                    abs += Math.abs(c.a[i * k + p] * w);
                }
                if (c.bias) {
                    s += c.b[j];
                    abs += Math.abs(c.b[j]);
                }
                if (c.res != 0) {
                    s += c.r[i * n + j];
                    abs += Math.abs(c.r[i * n + j]);
                }
                if (act == UnaryOp.RELU) s = Math.max(s, 0);
                double tol = (2.0 * k + 4) * 0x1p-24 * abs;
                double e = got[i * n + j], re = reference[i * n + j];
                assertTrue(
                        Math.abs(e - s) <= tol, "[" + i + "][" + j + "] " + e + " vs " + s + " tol " + tol + " " + c);
                assertTrue(
                        Math.abs(re - s) <= tol,
                        "reference backend [" + i + "][" + j + "] " + re + " vs " + s + " tol " + tol + " " + c);
            }
        }
    }

    @Test
    void refusesABiasOrResidualOfTheWrongShape() {
        try (var use = Backends.use(new SimdBackend())) {
            Tensor x = Tensor.zeros(4, 8), w = Tensor.zeros(8, 5);
            var e1 = assertThrows(IllegalArgumentException.class, () -> x.matmulAdd(w, Tensor.zeros(4), null));
            assertTrue(e1.getMessage().contains("matmulAdd") && e1.getMessage().contains("[4]"), e1.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> x.matmulAdd(w, null, Tensor.zeros(5, 4)));
            assertTrue(e2.getMessage().contains("matmulAdd") && e2.getMessage().contains("residual"), e2.getMessage());
        }
    }

    /** With gradients the op is the separate ops, recorded: the gradients equal theirs. */
    @Test
    void recordsTheSeparateOpsUnderAutograd() {
        try (var use = Backends.use(new SimdBackend())) {
            float[] xv = new float[12 * 9], wv = new float[9 * 5], bv = new float[5], rv = new float[12 * 5];
            java.util.Random rnd = new java.util.Random(3);
            for (float[] v : new float[][] {xv, wv, bv, rv})
                for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            Tensor[] fused = {Tensor.of(xv, 12, 9), Tensor.of(wv, 9, 5), Tensor.of(bv, 5), Tensor.of(rv, 12, 5)};
            Tensor[] split = {Tensor.of(xv, 12, 9), Tensor.of(wv, 9, 5), Tensor.of(bv, 5), Tensor.of(rv, 12, 5)};
            for (Tensor t : fused) t.requiresGrad(true);
            for (Tensor t : split) t.requiresGrad(true);
            assertTrue(Autograd.isGradEnabled());
            fused[0].matmulAdd(fused[1], fused[2], fused[3], UnaryOp.GELU_ERF)
                    .sum()
                    .backward();
            split[0].matmul(split[1]).add(split[2]).add(split[3]).gelu().sum().backward();
            for (int i = 0; i < 4; i++)
                assertArrayEquals(
                        split[i].grad().toFloatArray(), fused[i].grad().toFloatArray(), "input " + i);
        }
    }
}
