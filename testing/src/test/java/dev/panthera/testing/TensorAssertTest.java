package dev.panthera.testing;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * assertClose's rule, defaults and messages on hand-made tensors whose errors are known by construction. The default
 * tolerances are torch.testing.assert_close's documented table.
 */
class TensorAssertTest {

    @Test
    void defaultTolerancesAreTorchsTable() {
        assertEquals(Tolerance.of(1e-3, 1e-5), Tolerance.defaultFor(DType.F16));
        assertEquals(Tolerance.of(1.6e-2, 1e-5), Tolerance.defaultFor(DType.BF16));
        assertEquals(Tolerance.of(1.3e-6, 1e-5), Tolerance.defaultFor(DType.F32));
        assertEquals(Tolerance.of(1e-7, 1e-7), Tolerance.defaultFor(DType.F64));
        for (DType t : new DType[] {DType.I8, DType.U8, DType.I32, DType.I64, DType.BOOL})
            assertEquals(Tolerance.of(0, 0), Tolerance.defaultFor(t));
        assertEquals(Tolerance.of(1.6e-2, 1e-5), Tolerance.defaultFor(DType.F32, DType.BF16));
    }

    @Test
    void theBoundIsAtolPlusRtolTimesExpectedInclusive() {
        // 0.25 and 0.5 are exact in binary, so |a − e| = 0.75 exactly and the bound 0.25 + 0.25·2 = 0.75 exactly
        Tensor e = Tensor.of(new double[] {2.0}, 1), onBound = Tensor.of(new double[] {2.75}, 1);
        assertDoesNotThrow(() -> TensorAssert.assertClose(onBound, e, Tolerance.of(0.25, 0.25)));
        Tensor beyond = Tensor.of(new double[] {Math.nextUp(2.75)}, 1);
        assertThrows(AssertionError.class, () -> TensorAssert.assertClose(beyond, e, Tolerance.of(0.25, 0.25)));
    }

    @Test
    void theMessageCountsMismatchesAndNamesTheWorstElement() {
        Tensor expected = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor actual = Tensor.of(new double[] {1.5, 2, 3, 4, 5, 8}, 2, 3);
        AssertionError e = assertThrows(
                AssertionError.class, () -> TensorAssert.assertClose(actual, expected, Tolerance.of(0, 0.1), "my op"));
        String m = e.getMessage();
        assertTrue(m.startsWith("my op: tensors are not close (rtol 0.0, atol 0.1)"), m);
        assertTrue(m.contains("Mismatched elements: 2 / 6 (33.3%)"), m);
        // element (1, 2) is off by 2 (20 times its allowance, rel 1/3), element (0, 0) by 0.5 (5 times, rel 0.5)
        assertTrue(
                m.contains("Worst element at index (1, 2): actual 8.0, expected 6.0 (abs error 2.0, rel error "
                        + (2.0 / 6.0) + ", allowed 0.1)"),
                m);
        assertTrue(m.contains("Greatest absolute difference: 2.0 at index (1, 2) (up to 0.1 allowed)"), m);
        assertTrue(m.contains("Greatest relative difference: 0.5 at index (0, 0) (up to 0.0 allowed)"), m);
    }

    @Test
    void nanEqualsNanOnlyWhenAsked() {
        Tensor a = Tensor.of(new double[] {Double.NaN, 1}, 2), b = Tensor.of(new double[] {Double.NaN, 1}, 2);
        AssertionError e = assertThrows(AssertionError.class, () -> TensorAssert.assertClose(a, b));
        assertTrue(e.getMessage().contains("Worst element at index (0): actual NaN, expected NaN"), e.getMessage());
        assertDoesNotThrow(() ->
                TensorAssert.assertClose(a, b, Tolerance.defaultFor(DType.F64).withEqualNan(true)));
    }

    @Test
    void infinitiesMatchOnlyThemselves() {
        Tensor inf = Tensor.of(new double[] {Double.POSITIVE_INFINITY}, 1);
        assertDoesNotThrow(() -> TensorAssert.assertClose(inf, inf, Tolerance.of(1, 1)));
        Tensor max = Tensor.of(new double[] {Double.MAX_VALUE}, 1);
        assertThrows(AssertionError.class, () -> TensorAssert.assertClose(max, inf, Tolerance.of(1, 1)));
    }

    @Test
    void dtypeShapeAndDeviceAreChecked() {
        Tensor f32 = Tensor.of(new float[] {1, 2}), f64 = Tensor.of(new double[] {1, 2}, 2);
        AssertionError d = assertThrows(AssertionError.class, () -> TensorAssert.assertClose(f32, f64));
        assertTrue(d.getMessage().contains("the dtypes differ: actual F32, expected F64"), d.getMessage());
        assertDoesNotThrow(() -> TensorAssert.assertClose(
                f32, f64, Tolerance.defaultFor(DType.F32).withCheckDtype(false)));
        AssertionError s = assertThrows(AssertionError.class, () -> TensorAssert.assertClose(f64.reshape(1, 2), f64));
        assertTrue(s.getMessage().contains("the shapes differ: actual [1, 2], expected [2]"), s.getMessage());
    }

    @Test
    void integersCompareExactlyByDefault() {
        Tensor a = Tensor.of(new long[] {1L << 60, 3}, 2), b = Tensor.of(new long[] {(1L << 60) + 1, 3}, 2);
        // the two differ below a double's precision; the long comparison still sees it
        assertThrows(AssertionError.class, () -> TensorAssert.assertClose(a, b));
        assertDoesNotThrow(() -> TensorAssert.assertClose(a, Tensor.of(new long[] {1L << 60, 3}, 2)));
    }

    @Test
    void ulpDistanceCountsRepresentableValues() {
        // neighbours by construction: Math.nextUp and the 16-bit formats' spacing at 1 (2⁻¹⁰ for F16, 2⁻⁷ for BF16)
        assertEquals(1, TensorAssert.ulpDistance(DType.F64, 1.0, Math.nextUp(1.0)));
        assertEquals(1, TensorAssert.ulpDistance(DType.F32, 1.0, Math.nextUp(1.0f)));
        assertEquals(1, TensorAssert.ulpDistance(DType.F16, 1.0, 1 + 0x1p-10));
        assertEquals(1, TensorAssert.ulpDistance(DType.BF16, 1.0, 1 + 0x1p-7));
        assertEquals(0, TensorAssert.ulpDistance(DType.F32, 0.0, -0.0));
        assertEquals(2, TensorAssert.ulpDistance(DType.F32, -Float.MIN_VALUE, Float.MIN_VALUE));
        assertEquals(1, TensorAssert.ulpDistance(DType.F32, Float.MAX_VALUE, Double.POSITIVE_INFINITY));
        assertEquals(Long.MAX_VALUE, TensorAssert.ulpDistance(DType.F64, -Double.MAX_VALUE, Double.MAX_VALUE));
    }

    @Test
    void ulpModeFailsWithTheDistanceInTheMessage() {
        Tensor e = Tensor.of(new float[] {1, 2});
        Tensor a = Tensor.of(new float[] {1, Math.nextUp(Math.nextUp(2f))});
        assertDoesNotThrow(() -> TensorAssert.assertUlpClose(a, e, 2));
        AssertionError err = assertThrows(AssertionError.class, () -> TensorAssert.assertUlpClose(a, e, 1));
        assertTrue(err.getMessage().contains("Mismatched elements: 1 / 2 (50.0%)"), err.getMessage());
        assertTrue(err.getMessage().contains("Worst element at index (1)"), err.getMessage());
        assertTrue(
                err.getMessage().contains("(2 ulp, abs error " + (double) (Math.nextUp(Math.nextUp(2f)) - 2f)),
                err.getMessage());
    }
}
