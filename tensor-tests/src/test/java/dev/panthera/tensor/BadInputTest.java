package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input, walked through case by case: shape and dtype mismatches throw IllegalArgumentException naming the op
 * and both shapes; out-of-range indices throw IndexOutOfBoundsException; NaN and Inf propagate as IEEE 754 says.
 */
class BadInputTest {

    private static void mismatch(String op, String shapeA, String shapeB, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, op);
        String m = e.getMessage();
        assertTrue(m.contains(op), "message names the op '" + op + "': " + m);
        assertTrue(m.contains(shapeA), "message names " + shapeA + ": " + m);
        assertTrue(m.contains(shapeB), "message names " + shapeB + ": " + m);
    }

    private final Tensor a23 = Tensor.zeros(2, 3);
    private final Tensor a32 = Tensor.zeros(3, 2);
    private final Tensor a4 = Tensor.zeros(4);

    @Test
    void elementwiseShapesThatDoNotBroadcast() {
        mismatch("add", "[2, 3]", "[4]", () -> a23.add(a4));
        mismatch("mul", "[2, 3]", "[3, 2]", () -> a23.mul(a32));
        mismatch("lt", "[2, 3]", "[3, 2]", () -> a23.lt(a32));
        mismatch("where", "[2, 3]", "[4]", () -> Tensor.where(a23.gt(0), a23, a4));
        mismatch("copy_", "[4]", "[2, 3]", () -> a23.copy_(a4));
    }

    @Test
    void matmulShapes() {
        mismatch("matmul", "[2, 3]", "[2, 3]", () -> a23.matmul(a23));
        mismatch("matmul", "[4]", "[2, 3]", () -> a4.matmul(a23));
        mismatch("matmul", "[2, 2, 3]", "[3, 3, 2]", () -> Tensor.zeros(2, 2, 3).matmul(Tensor.zeros(3, 3, 2)));
        mismatch("matmul", "[]", "[4]", () -> Tensor.scalar(1).matmul(a4));
    }

    @Test
    void catStackAndNormParameters() {
        mismatch("cat", "[2, 3]", "[3, 2]", () -> Tensor.cat(List.of(a23, a32), 0));
        mismatch("cat", "[2, 3]", "[4]", () -> Tensor.cat(List.of(a23, a4), 0));
        mismatch("stack", "[2, 3]", "[3, 2]", () -> Tensor.stack(List.of(a23, a32), 0));
        mismatch("layerNorm", "[4]", "[2, 3]", () -> a23.layerNorm(a4, null, 1e-5));
        mismatch("rmsNorm", "[4]", "[2, 3]", () -> a23.rmsNorm(a4, 1e-5));
        mismatch("embedding", "[4]", "", () -> Tensor.embedding(a4, Tensor.of(new long[] {0}, 1)));
    }

    @Test
    void indexingShapesAndTypes() {
        mismatch("gather", "[4]", "[2, 3]", () -> a23.gather(1, Tensor.of(new long[] {0, 0, 0, 0}, 4)));
        mismatch("gather", "[2, 5]", "[2, 3]", () -> a23.gather(0, Tensor.zeros(DType.I64, Shape.of(2, 5))));
        mismatch("indexSelect", "F32", "[2]", () -> a23.indexSelect(0, Tensor.zeros(2)));
        mismatch(
                "indexAdd",
                "[5, 3]",
                "[2, 3]",
                () -> a23.indexAdd(0, Tensor.of(new long[] {0, 1}, 2), Tensor.zeros(5, 3)));
        mismatch(
                "scatterAdd",
                "[2, 2]",
                "[2, 3]",
                () -> a23.scatterAdd(1, Tensor.zeros(DType.I64, Shape.of(2, 2)), a23));
    }

    @Test
    void viewsAndReshapes() {
        mismatch("reshape", "[2, 3]", "[4]", () -> a23.reshape(4));
        mismatch("view", "[2, 3]", "[5, -1]", () -> a23.view(5, -1));
        mismatch("expand", "[2, 3]", "[4, 3]", () -> a23.expand(4, 3));
        mismatch("permute", "[2, 3]", "", () -> a23.permute(0));
        assertThrows(IllegalArgumentException.class, () -> a23.reshape(-1, -1));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -3));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[] {1, 2}, 3));
    }

    @Test
    void dtypeAndDeviceRules() {
        mismatch(
                "requiresGrad",
                "[2]",
                "I64",
                () -> Tensor.of(new long[] {1, 2}, 2).requiresGrad(true));
        mismatch("item", "[2, 3]", "6", () -> a23.item());
        Tensor onGpu =
                new Tensor(new FakeDevice.Hidden(Tensor.zeros(2, 3).storage()), Layout.contiguous(Shape.of(2, 3)));
        mismatch("add", "cpu", "cuda:0", () -> a23.add(onGpu));
        mismatch("matmul", "cpu", "cuda:0", () -> a32.matmul(onGpu));
    }

    @Test
    void moreShapeAndArgumentErrors() {
        mismatch(
                "backward",
                "[2]",
                "[3]",
                () -> Tensor.ones(3).requiresGrad(true).mul(2).backward(Tensor.ones(2)));
        mismatch("where", "[4]", "[2, 3]", () -> Tensor.where(a4.gt(0), a23, a23));
        mismatch("indexSelect", "[2, 2]", "", () -> a23.indexSelect(0, Tensor.of(new long[] {0, 1, 1, 0}, 2, 2)));
        mismatch("gather", "[1]", "[2, 3]", () -> a23.gather(0, Tensor.of(new long[] {0}, 1)));
        mismatch("layerNorm", "[1, 3]", "[2, 3]", () -> a23.layerNorm(Tensor.ones(1, 3), null, 1e-5));
        mismatch("layerNorm", "[4]", "[2, 3]", () -> a23.layerNorm(null, a4, 1e-5));
        mismatch("expand", "[3]", "[-1, 3]", () -> Tensor.ones(3).expand(-1, 3));
        mismatch("reshape", "[-1, -1]", "", () -> a23.reshape(-1, -1));
        mismatch("sum", "[0, 0]", "", () -> a23.sum(new int[] {0, 0}, false));
        mismatch(
                "scatterAdd",
                "[2, 3]",
                "[1, 3]",
                () -> a23.scatterAdd(0, Tensor.zeros(DType.I64, Shape.of(2, 3)), Tensor.zeros(1, 3)));
        mismatch("Shape", "1099511627776", "", () -> Shape.of(1L << 40, 1L << 40));
        assertThrows(IllegalArgumentException.class, () -> Tensor.stack(List.of(), 0));
        assertThrows(IllegalArgumentException.class, () -> a23.split(0, 0));
        assertThrows(IllegalArgumentException.class, () -> a23.chunk(0, 0));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[][] {{1, 2}, {3}}));
        assertThrows(IllegalArgumentException.class, () -> Tensor.linspace(0, 1, -2));
        assertThrows(IllegalArgumentException.class, () -> Tensor.eye(-1));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(0).item());
    }

    @Test
    void indicesOutOfRange() {
        assertThrows(IndexOutOfBoundsException.class, () -> a23.select(0, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> a23.select(2, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> a23.narrow(1, 2, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> a23.sum(2));
        assertThrows(IndexOutOfBoundsException.class, () -> a23.softmax(-3));
        assertThrows(IndexOutOfBoundsException.class, () -> a23.transpose(0, 5));
        assertThrows(IndexOutOfBoundsException.class, () -> a23.get(2, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> a23.unsqueeze(4));
        IndexOutOfBoundsException e = assertThrows(
                IndexOutOfBoundsException.class, () -> Tensor.embedding(a32, Tensor.of(new long[] {0, 3}, 2)));
        assertTrue(e.getMessage().contains("3") && e.getMessage().contains("indexSelect"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> a23.indexSelect(1, Tensor.of(new long[] {-1}, 1)));
        assertThrows(
                IndexOutOfBoundsException.class, () -> a23.gather(1, Tensor.of(new long[] {0, 1, 3, 0, 0, 0}, 2, 3)));
        assertThrows(
                IndexOutOfBoundsException.class,
                () -> a23.indexAdd(0, Tensor.of(new long[] {2}, 1), Tensor.zeros(1, 3)));
    }

    @Test
    void nanAndInfinityPropagateAsIeeeSays() {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        Tensor x = Tensor.of(nan, inf, -inf, 1f, 0f);
        float[] sum = x.add(1).toFloatArray();
        assertTrue(Float.isNaN(sum[0]));
        assertEquals(inf, sum[1]);
        assertEquals(-inf, sum[2]);
        float[] prod = x.mul(0).toFloatArray();
        assertTrue(Float.isNaN(prod[0]) && Float.isNaN(prod[1]) && Float.isNaN(prod[2]), "NaN·0 and ±Inf·0 are NaN");
        float[] ex = x.exp().toFloatArray();
        assertTrue(Float.isNaN(ex[0]));
        assertEquals(inf, ex[1]);
        assertEquals(0f, ex[2]);
        float[] lg = Tensor.of(0f, -1f, inf).log().toFloatArray();
        assertEquals(-inf, lg[0], "log(0) = -inf");
        assertTrue(Float.isNaN(lg[1]), "log(-1) = NaN");
        assertEquals(inf, lg[2]);
        assertTrue(Double.isNaN(Tensor.of(0f).div(Tensor.of(0f)).item()), "0/0 = NaN");
        assertEquals(inf, Tensor.of(1f).div(Tensor.of(0f)).item());
        assertEquals(-inf, Tensor.of(-1f).div(Tensor.of(0f)).item());
        assertTrue(Double.isNaN(x.max().item()), "max with a NaN is NaN");
        assertTrue(Double.isNaN(x.min().item()));
        assertTrue(Double.isNaN(x.sum().item()));
        assertEquals(0, x.argmax().item(), "argmax points at the NaN, as in PyTorch");
        float[] sm = Tensor.of(1f, inf, 2f).softmax(0).toFloatArray();
        assertTrue(Float.isNaN(sm[1]), "softmax of a row with +inf is NaN (inf - inf)");
        float[] sm2 = Tensor.of(-inf, 0f).softmax(0).toFloatArray();
        assertEquals(0f, sm2[0]);
        assertEquals(1f, sm2[1]);
        assertTrue(Float.isNaN(Tensor.of(nan, 1f).relu().toFloatArray()[0]), "relu(NaN) = NaN");
        assertTrue(Float.isNaN(Tensor.of(-1f).sqrt().toFloatArray()[0]));
        assertEquals(0.0, Tensor.of(nan).eq(Tensor.of(nan)).item(), "NaN != NaN");
        assertEquals(1.0, Tensor.of(nan).ne(Tensor.of(nan)).item(), "NaN != NaN is true");
        assertEquals(
                0.0,
                Tensor.of(nan).lt(Tensor.of(1f)).item()
                        + Tensor.of(nan).ge(Tensor.of(1f)).item(),
                "NaN is unordered");
        // elementwise maximum/minimum propagate NaN from either side (torch.maximum), unlike Math.max's
        // order-dependence
        float[] mx = Tensor.of(nan, 1f, 2f).maximum(Tensor.of(0f, nan, 1f)).toFloatArray();
        assertTrue(Float.isNaN(mx[0]) && Float.isNaN(mx[1]) && mx[2] == 2f);
        float[] mn = Tensor.of(nan, 1f, 2f).minimum(Tensor.of(0f, nan, 1f)).toFloatArray();
        assertTrue(Float.isNaN(mn[0]) && Float.isNaN(mn[1]) && mn[2] == 1f);
        // a row of all -inf has no mass to normalise: 0/0 = NaN, as PyTorch; log-softmax of a -inf entry is -inf
        float[] allMasked = Tensor.of(-inf, -inf).softmax(0).toFloatArray();
        assertTrue(Float.isNaN(allMasked[0]) && Float.isNaN(allMasked[1]));
        float[] ls = Tensor.of(-inf, 0f).logSoftmax(0).toFloatArray();
        assertEquals(-inf, ls[0]);
        assertEquals(0f, ls[1]);
        // integer true division by zero follows float rules
        float[] q = Tensor.of(new int[] {1, 0, -1}, 3)
                .div(Tensor.of(new int[] {0, 0, 0}, 3))
                .toFloatArray();
        assertEquals(inf, q[0]);
        assertTrue(Float.isNaN(q[1]));
        assertEquals(-inf, q[2]);
        assertTrue(Double.isNaN(Tensor.of(-8f).pow(1.0 / 3).item()), "a negative base to a fractional power is NaN");
        assertEquals(inf, Tensor.of(0f).rsqrt().item(), "rsqrt(0) = +inf");
        assertEquals(
                0f,
                Tensor.of(5f, 5f, 5f).layerNorm(null, null, 1e-5).toFloatArray()[0],
                "a constant row normalises to 0, eps keeps it finite");
    }
}
