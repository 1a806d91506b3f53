package dev.panthera.tensor;

/**
 * The checked path of in-place ops ({@code add_}, {@code addcmul_}, {@code clamp_}, ...), with PyTorch's rules: the
 * other operands broadcast into self's shape (self's shape never changes), self's dtype is kept (an error when the
 * result type cannot be cast to it, as float into an integer tensor), and an error on a leaf that requires grad
 * while grad is recorded. Autograd keeps no record of in-place changes, so they are refused on any tensor of a
 * recorded graph; under {@link Autograd#noGrad()} (optimizer updates) they run. Same-dtype operands are read where
 * they are: no temporaries.
 */
final class InPlace {
    private InPlace() {}

    private static void checkTarget(String op, Tensor self, Tensor... others) {
        self.checkAlive(op);
        self.checkWritable(op);
        boolean tracked = self.requiresGrad();
        for (Tensor o : others) {
            o.checkAlive(op);
            Ops.sameDevice(op, self, o);
            tracked |= o.requiresGrad();
        }
        if (Autograd.isGradEnabled() && tracked) {
            if (self.requiresGrad() && self.gradFn() == null)
                throw new IllegalStateException(op + ": a leaf that requires grad, " + self.describe()
                        + ", is being modified in place while grad is recorded; use Autograd.noGrad()");
            throw new IllegalStateException(op + ": in-place ops on tensors of a recorded graph are not supported ("
                    + self.describe() + "); use the out-of-place op, or Autograd.noGrad()");
        }
        long[] strides = self.layout().strides();
        for (int i = 0; i < strides.length; i++) {
            if (strides[i] == 0 && self.size(i) > 1)
                throw new IllegalArgumentException(op + ": more than one element of the written-to tensor "
                        + self.describe() + " refers to a single memory location (dimension " + i
                        + " is expanded); clone it first");
        }
    }

    /** PyTorch's canCast: no float into an integer type, nothing but BOOL into BOOL. */
    private static boolean canCast(DType from, DType to) {
        if (from.isFloatingPoint() && !to.isFloatingPoint()) return false;
        return to != DType.BOOL || from == DType.BOOL;
    }

    private static void checkCast(String op, DType result, Tensor self) {
        if (!canCast(result, self.dtype()))
            throw new IllegalArgumentException(op + ": result type " + result
                    + " can't be cast to the desired output type " + self.dtype() + " of " + self.describe());
    }

    /**
     * {@code o} in self's dtype, broadcast to self's shape; a snapshot when it shares memory with self in another
     * layout (x.add_(x.t())), since the kernel would otherwise read elements it already wrote.
     */
    private static Tensor operand(String op, Tensor self, Tensor o) {
        Shape b = Shape.broadcast(op, self.shape(), o.shape());
        if (!b.equals(self.shape()))
            throw new IllegalArgumentException(op + ": output with shape " + self.shape()
                    + " doesn't match the broadcast shape " + b + " (other operand " + o.shape() + ")");
        Tensor x = o.dtype() == self.dtype() ? o : Ops.copy(o, self.dtype());
        Layout l = x.layout().expand(op, self.shape());
        if (x.storage() == self.storage() && !l.equals(self.layout()) && overlap(l, self.layout())) {
            x = Ops.copy(x, self.dtype());
            l = x.layout().expand(op, self.shape());
        }
        return new Tensor(x.storage(), l);
    }

    private static boolean overlap(Layout a, Layout b) {
        long[] x = a.span(), y = b.span();
        return x[0] >= 0 && y[0] >= 0 && x[0] <= y[1] && y[0] <= x[1];
    }

    static Tensor binary(BinaryOp bop, Tensor self, Tensor o) {
        String op = Ops.opName(bop) + "_";
        checkTarget(op, self, o);
        DType t = Ops.promote(self.dtype(), o.dtype());
        if ((bop == BinaryOp.DIV || bop == BinaryOp.POW) && !t.isFloatingPoint()) t = DType.F32;
        if (t == DType.BOOL) t = DType.I64;
        checkCast(op, t, self);
        if (t != self.dtype()) { // computed in the promoted type, then stored, as PyTorch does
            operand(op, self, o); // the shape check
            Tensor r = Ops.binary(bop, self, o);
            self.backend().copy(r.storage(), r.layout().expand(op, self.shape()), self.storage(), self.layout());
            return self;
        }
        Tensor y = operand(op, self, o);
        self.backend()
                .binary(bop, self.storage(), self.layout(), y.storage(), y.layout(), self.storage(), self.layout());
        return self;
    }

    static Tensor unary(UnaryOp uop, Tensor self) {
        String op = Ops.opName(uop) + "_";
        checkTarget(op, self);
        if (uop.needsFloat()) checkCast(op, DType.F32, self);
        if (self.dtype() == DType.BOOL) checkCast(op, DType.I64, self);
        self.backend().unary(uop, self.storage(), self.layout(), self.storage(), self.layout());
        return self;
    }

    static Tensor clamp(Tensor self, double min, double max) {
        checkTarget("clamp_", self);
        if (Double.isNaN(min) || Double.isNaN(max))
            throw new IllegalArgumentException("clamp_: bounds must not be NaN, got " + min + ", " + max);
        if (min > Double.NEGATIVE_INFINITY) binary(BinaryOp.MAXIMUM, self, Ops.scalarLike(self, min));
        if (max < Double.POSITIVE_INFINITY) binary(BinaryOp.MINIMUM, self, Ops.scalarLike(self, max));
        return self;
    }

    /** self ← op(self, a, b, value) in one pass (b null for ops that take one operand). */
    static Tensor update(UpdateOp uop, String op, Tensor self, Tensor a, Tensor b, double value) {
        if (b == null) checkTarget(op, self, a);
        else checkTarget(op, self, a, b);
        if (!self.dtype().isFloatingPoint()) {
            if (uop != UpdateOp.ADD_SCALED)
                throw new IllegalArgumentException(
                        op + ": needs a floating-point tensor to update, got " + self.describe());
            operand(op, self, a); // the shape check
            return binary(BinaryOp.ADD, self, value == 1 ? a : a.mul(value)); // integer add_ with alpha
        }
        Tensor x = operand(op, self, a), y = b == null ? null : operand(op, self, b);
        self.backend()
                .update(
                        uop,
                        x.storage(),
                        x.layout(),
                        y == null ? null : y.storage(),
                        y == null ? null : y.layout(),
                        value,
                        self.storage(),
                        self.layout());
        return self;
    }
}
