package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Corners the random-shape properties rarely reach: rank-0 tensors, zero-size dimensions, one-step linspace, dtype
 * rules of maskedFill, and gradients at points where a naive formula divides by zero. Expected values are PyTorch's
 * documented semantics, restated next to each check.
 */
class EdgeCasesTest {

    @Test
    void scalarsReduceOverDimZeroAsThemselves() {
        Tensor s = Tensor.scalar(3);
        // torch.tensor(3.).sum(0) == mean(0) == max(-1) == 3; argmax(0) == 0; var with correction 0 is 0, with 1 is NaN
        assertEquals(3.0, s.sum(0).item());
        assertEquals(3.0, s.mean(0).item());
        assertEquals(3.0, s.max(-1).item());
        assertEquals(0.0, s.argmax(0, false).item());
        assertEquals(0.0, s.var(new int[] {0}, 0, false).item());
        assertTrue(Double.isNaN(s.var(new int[] {0}, 1, false).item()), "n - correction = 0 divides by zero");
        assertEquals(0, s.sum(0).rank());
        assertEquals(1.0, s.softmax(0).item(), "softmax of a single element");
        assertEquals(0.0, s.logSoftmax(-1).item());
        assertArrayEquals(new long[] {1}, s.unsqueeze(0).dims());
        assertArrayEquals(new long[] {2}, Tensor.stack(List.of(s, s), 0).dims(), "stack of scalars is 1-D");
        assertEquals(6.0, s.mul(2).item(), "scalar arithmetic");
        assertThrows(
                IllegalArgumentException.class, () -> s.matmul(Tensor.of(2f)), "matmul needs at least 1-D operands");
    }

    @Test
    void scalarsHaveNoDimensionsToIndex() {
        Tensor s = Tensor.scalar(3);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> s.size(0));
        assertTrue(e.getMessage().contains("rank 0"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> s.select(0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> s.narrow(0, 0, 1));
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> Tensor.cat(List.of(s, s), 0));
        assertTrue(c.getMessage().contains("cat"), c.getMessage());
    }

    @Test
    void zeroSizeDimensions() {
        Tensor e = Tensor.zeros(0, 3);
        assertEquals(0, e.numel());
        assertArrayEquals(new float[] {0, 0, 0}, e.sum(0).toFloatArray(), "an empty sum is 0");
        float[] mean = e.mean(0).toFloatArray();
        assertTrue(Float.isNaN(mean[0]), "an empty mean is 0/0 = NaN (PyTorch)");
        IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> e.max(0));
        assertTrue(m.getMessage().contains("max") && m.getMessage().contains("[0, 3]"), m.getMessage());
        assertThrows(IllegalArgumentException.class, () -> e.argmax(0, false));
        assertArrayEquals(new long[] {0}, e.sum(1).dims());
        assertArrayEquals(new long[] {0, 3}, e.softmax(0).dims());
        assertArrayEquals(new long[] {0, 5}, e.matmul(Tensor.zeros(3, 5)).dims());
        assertArrayEquals(
                new float[] {0, 0, 0, 0},
                Tensor.zeros(2, 0).matmul(Tensor.zeros(0, 2)).toFloatArray(),
                "k = 0 gives zeros");
        assertArrayEquals(
                new long[] {2, 3}, Tensor.cat(List.of(e, Tensor.ones(2, 3)), 0).dims());
        assertEquals(0, Tensor.arange(5).slice(0, 3, 3, 1).numel());
        assertEquals(0, Tensor.linspace(0, 1, 0).numel());
    }

    @Test
    void linspaceEndpoints() {
        // torch.linspace(0, 1, 1) == tensor([0.]); two steps are exactly the endpoints; the last value is exactly end
        assertArrayEquals(new float[] {0f}, Tensor.linspace(0, 1, 1).toFloatArray());
        assertArrayEquals(new float[] {-2f, 5f}, Tensor.linspace(-2, 5, 2).toFloatArray());
        float[] v = Tensor.linspace(0.1, 0.7, 13).toFloatArray();
        assertEquals(0.1f, v[0]);
        assertEquals(0.7f, v[12]);
        for (int i = 0; i < v.length; i++) assertEquals(0.1 + 0.05 * i, v[i], 1e-7, "step " + i);
        assertThrows(IllegalArgumentException.class, () -> Tensor.linspace(0, 1, -1));
    }

    @Test
    void uniformValuesStayBelowOneEvenWhenTheDoubleRoundsUpToOneAsAFloat() {
        // a generator whose doubles sit in [1 - 2^-25, 1): every one of them rounds to 1.0f as a float
        java.util.random.RandomGenerator nearOne = new java.util.random.RandomGenerator() {
            private long k;

            @Override
            public long nextLong() {
                return k++;
            }

            @Override
            public double nextDouble() {
                return 1.0 - 0x1p-26 * (1 + (k++ % 3)) / 4;
            }
        };
        for (float v : Tensor.rand(nearOne, 16).toFloatArray()) {
            assertTrue(v < 1f && v >= 0f, "rand must be in [0, 1), got " + v);
        }
        assertEquals(1.0f, (float) (1.0 - 0x1p-26), "the premise: such a double rounds to 1.0f");
    }

    @Test
    void negativeZeroIsKeptByFactoriesAndScalarOperands() {
        // IEEE: 1/-0 = -inf, -0 + -0 = -0; a factory that drops the sign of zero changes both
        assertEquals(
                Double.NEGATIVE_INFINITY,
                Tensor.of(1f).div(Tensor.full(DType.F32, -0.0, 1)).item());
        assertEquals(
                Double.doubleToRawLongBits(-0.0),
                Double.doubleToRawLongBits(Tensor.of(-0f).add(-0.0).item()));
        assertEquals(
                Double.doubleToRawLongBits(-0.0),
                Double.doubleToRawLongBits(Tensor.of(2f).mul(-0.0).item()));
        assertEquals(
                Double.doubleToRawLongBits(0.0),
                Double.doubleToRawLongBits(Tensor.zeros(1).item()));
    }

    @Test
    void zeroCopyTensorsOverMisalignedMemoryWork() {
        // a weight file may place an F32 tensor at an offset that is not a multiple of 4
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate(64, 8).asSlice(2, 24);
            for (int i = 0; i < 6; i++) seg.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L, i + 0.5f);
            Tensor x = Tensor.fromSegment(seg, DType.F32, Shape.of(2, 3));
            assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f}, x.toFloatArray());
            assertArrayEquals(
                    new float[] {1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f}, x.add(1).toFloatArray());
            assertArrayEquals(
                    new double[] {0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, x.to(DType.F64).toDoubleArray());
            assertEquals(0.5 * 3.5 + 1.5 * 4.5 + 2.5 * 5.5, x.matmul(x.t()).get(0, 1), 1e-6);
        }
    }

    @Test
    void maskedFillKeepsTheTensorsType() {
        Tensor mask = Tensor.of(new boolean[] {true, false, true}, 3);
        Tensor ints = Tensor.arange(3).maskedFill(mask, 7);
        assertEquals(DType.I64, ints.dtype());
        assertArrayEquals(new long[] {7, 1, 7}, ints.toLongArray());
        // PyTorch casts the value to the tensor's type: 0.5 into a long tensor is 0
        assertArrayEquals(
                new long[] {0, 1, 0}, Tensor.arange(3).maskedFill(mask, 0.5).toLongArray());
        Tensor halves = Tensor.ones(3).to(DType.BF16).maskedFill(mask, Double.NEGATIVE_INFINITY);
        assertEquals(DType.BF16, halves.dtype());
        assertArrayEquals(new float[] {Float.NEGATIVE_INFINITY, 1, Float.NEGATIVE_INFINITY}, halves.toFloatArray());
        // a mask that broadcasts: a causal mask over rows
        Tensor causal = Tensor.arange(3).unsqueeze(0).gt(Tensor.arange(3).unsqueeze(1));
        assertArrayEquals(
                new float[] {1, 0, 0, 1, 1, 0, 1, 1, 1},
                Tensor.ones(3, 3).maskedFill(causal, 0).toFloatArray());
    }

    @Test
    void powGradientAtZeroFollowsPyTorch() {
        // d/dx x^0 = 0 everywhere (0·x^-1 would be NaN at 0); d/dx x^2 at 0 = 0; d/dx x^1 = 1
        Tensor x = Tensor.of(new double[] {0, 0, 0, 2}, 4).requiresGrad(true);
        Tensor y = Tensor.of(new double[] {0, 2, 1, 0}, 4);
        x.pow(y).sum().backward();
        assertArrayEquals(new double[] {0, 0, 1, 0}, x.grad().toDoubleArray());
        // d/dy x^y = x^y·ln x; at x = 0 with y >= 0 the limit is 0 (PyTorch masks it), at x = 2: 2^y·ln 2
        Tensor base = Tensor.of(new double[] {0, 0, 2}, 3);
        Tensor ex = Tensor.of(new double[] {0, 3, 3}, 3).requiresGrad(true);
        base.pow(ex).sum().backward();
        assertArrayEquals(new double[] {0, 0, 8 * Math.log(2)}, ex.grad().toDoubleArray(), 1e-15);
        // a scalar exponent: x.pow(0.0)
        Tensor z = Tensor.of(new double[] {0, 1.5}, 2).requiresGrad(true);
        z.pow(0).sum().backward();
        assertArrayEquals(new double[] {0, 0}, z.grad().toDoubleArray());
    }

    @Test
    void gradientsAtKinksUsePyTorchsConventions() {
        // relu'(0) = 0, |x|'(0) = 0, sign' = 0, maximum/minimum split ties evenly, max over ties splits evenly (amax)
        Tensor x = Tensor.of(new double[] {0, 0, 0}, 3).requiresGrad(true);
        x.relu().sum().backward();
        assertArrayEquals(new double[] {0, 0, 0}, x.grad().toDoubleArray());
        x.zeroGrad();
        x.abs().sum().backward();
        assertArrayEquals(new double[] {0, 0, 0}, x.grad().toDoubleArray());
        Tensor a = Tensor.of(new double[] {1, 2}, 2).requiresGrad(true),
                b = Tensor.of(new double[] {1, 3}, 2).requiresGrad(true);
        a.maximum(b).sum().backward();
        assertArrayEquals(new double[] {0.5, 0}, a.grad().toDoubleArray());
        assertArrayEquals(new double[] {0.5, 1}, b.grad().toDoubleArray());
        Tensor t = Tensor.of(new double[] {4, 1, 4}, 3).requiresGrad(true);
        t.max().backward();
        assertArrayEquals(new double[] {0.5, 0, 0.5}, t.grad().toDoubleArray());
    }

    @Test
    void nestedNoGradAndRequiresGradRules() throws Exception {
        Tensor w = Tensor.of(new double[] {1, 2}, 2).requiresGrad(true);
        try (var outer = Autograd.noGrad()) {
            try (var inner = Autograd.noGrad()) {
                assertTrue(!Autograd.isGradEnabled());
            }
            assertTrue(!Autograd.isGradEnabled(), "still disabled after the inner scope closes");
            assertTrue(!w.mul(2).requiresGrad());
        }
        assertTrue(Autograd.isGradEnabled());
        Tensor y = w.mul(2);
        assertThrows(
                IllegalStateException.class,
                () -> y.requiresGrad(false),
                "a non-leaf cannot drop requiresGrad; use detach");
        assertThrows(
                IllegalStateException.class,
                () -> w.copy_(Tensor.zeros(DType.F64, Shape.of(2))),
                "in-place write to a leaf");
        try (var ng = Autograd.noGrad()) {
            w.copy_(Tensor.of(new double[] {5, 6}, 2)); // allowed without recording (an optimizer step)
        }
        assertArrayEquals(new double[] {5, 6}, w.toDoubleArray());
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(3).requiresGrad(true));
        Tensor i = Tensor.arange(3).to(DType.F64).requiresGrad(true);
        assertTrue(!i.argmax().requiresGrad(), "argmax is an integer result with no graph");
        assertTrue(!i.gt(1).requiresGrad(), "comparisons have no graph");
    }
}
