package dev.panthera.tensor;

import dev.panthera.tensor.spi.Backend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The checked path from a Tensor method to a backend kernel: liveness and device checks, dtype promotion,
 * broadcasting, output allocation, and the autograd record. Every IllegalArgumentException names the op and shapes.
 */
final class Ops {
    private Ops() {}

    static void sameDevice(String op, Tensor a, Tensor b) {
        if (!a.device().equals(b.device())) {
            throw new IllegalArgumentException(op + ": tensors on different devices: " + a.shape() + " on " + a.device()
                    + " and " + b.shape() + " on " + b.device());
        }
    }

    /** PyTorch's type promotion for two tensors. */
    static DType promote(DType a, DType b) {
        if (a == b) return a;
        if (a.isFloatingPoint() || b.isFloatingPoint()) {
            if (!b.isFloatingPoint()) return a;
            if (!a.isFloatingPoint()) return b;
            if (a == DType.F64 || b == DType.F64) return DType.F64;
            return DType.F32; // F32 with a 16-bit type, or F16 with BF16
        }
        if (a == DType.BOOL) return b;
        if (b == DType.BOOL) return a;
        if (a == DType.I64 || b == DType.I64) return DType.I64;
        if (a == DType.I32 || b == DType.I32) return DType.I32;
        return DType.I32; // I8 with U8: PyTorch gives I16, which we do not have
    }

    /** A rank-0 tensor holding v in t's dtype (PyTorch's wrapped-number rule: the scalar adopts the tensor's type). */
    static Tensor scalarLike(Tensor t, double v) {
        DType d = t.dtype();
        if (!d.isFloatingPoint() && (v != Math.rint(v) || Double.isInfinite(v) || Double.isNaN(v))) d = DType.F32;
        if (d == DType.BOOL) d = DType.I64;
        return Creation.full(d, v, Shape.scalar(), t.device());
    }

    /** t itself when floating point, else t converted to F32. */
    static Tensor floatLike(Tensor t) {
        return t.dtype().isFloatingPoint() ? t : t.to(DType.F32);
    }

    static Tensor alloc(DType dtype, Shape shape, Device device) {
        return Tensor.empty(dtype, shape, device);
    }

    /**
     * An op's output that its backend kernel writes element by element in full: no zero fill of a reused pooled block
     * (the fill was a few percent of a model forward). Tests run with the blocks poisoned ({@link MemoryScope#POISON}).
     */
    static Tensor output(DType dtype, Shape shape, Device device) {
        return Tensor.uninitialized(dtype, shape, device);
    }

    static Tensor copy(Tensor t, DType dtype) {
        t.checkAlive("copy");
        Tensor out = output(dtype, t.shape(), t.device());
        t.backend().copy(t.storage(), t.layout(), out.storage(), out.layout());
        return out;
    }

    static Tensor unary(UnaryOp op, Tensor x) {
        x.checkAlive(opName(op));
        if (x.dtype() == DType.BOOL && op != UnaryOp.NEG) x = x.to(DType.I64);
        if (op == UnaryOp.NEG && x.dtype() == DType.BOOL)
            throw new IllegalArgumentException("neg: not defined for BOOL tensors " + x.shape());
        Tensor in = op.needsFloat() ? floatLike(x) : x;
        Tensor out = output(in.dtype(), in.shape(), in.device());
        in.backend().unary(op, in.storage(), in.layout(), out.storage(), out.layout());
        return out.record(new Op.Unary(op, in));
    }

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = opName(op);
        a.checkAlive(name);
        b.checkAlive(name);
        sameDevice(name, a, b);
        Shape shape = Shape.broadcast(name, a.shape(), b.shape());
        DType t = promote(a.dtype(), b.dtype());
        if ((op == BinaryOp.DIV || op == BinaryOp.POW) && !t.isFloatingPoint()) t = DType.F32;
        if (t == DType.BOOL && !op.isComparison()) t = DType.I64;
        Tensor x = a.to(t), y = b.to(t);
        Tensor out = output(op.isComparison() ? DType.BOOL : t, shape, a.device());
        x.backend()
                .binary(
                        op,
                        x.storage(),
                        x.layout().expand(name, shape),
                        y.storage(),
                        y.layout().expand(name, shape),
                        out.storage(),
                        out.layout());
        if (op.isComparison()) return out;
        return out.record(new Op.Binary(op, x, y));
    }

    static Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepdim) {
        String name = op.name().toLowerCase();
        x.checkAlive(name);
        int[] d = Views.normalizeDims(name, dims, x.rank());
        if (x.rank() == 0) { // reducing a scalar over dim 0/-1 is the identity (PyTorch)
            d = new int[0];
        }
        long[] keep = x.dims();
        for (int i : d) {
            if (keep[i] == 0 && op != ReduceOp.SUM) {
                throw new IllegalArgumentException(
                        name + ": cannot reduce over a zero-size dimension " + i + " of shape " + x.shape());
            }
            keep[i] = 1;
        }
        boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
        DType outType = arg ? DType.I64 : (op == ReduceOp.SUM && !x.dtype().isFloatingPoint() ? DType.I64 : x.dtype());
        Tensor in = op == ReduceOp.SUM && x.dtype() == DType.BOOL ? x.to(DType.I64) : x;
        Tensor out = alloc(outType, Shape.of(keep), x.device()); // some reduction kernels accumulate into it
        if (arg && x.rank() == 0) {
            out.fill_(0);
        } else {
            in.backend().reduce(op, in.storage(), in.layout(), d, out.storage(), out.layout());
        }
        Tensor r = out;
        if (!keepdim && d.length > 0) {
            long[] squeezed = new long[keep.length - d.length];
            for (int i = 0, j = 0, k = 0; i < keep.length; i++) {
                if (k < d.length && d[k] == i) {
                    k++;
                    continue;
                }
                squeezed[j++] = keep[i];
            }
            r = new Tensor(out.storage(), Layout.contiguous(Shape.of(squeezed)));
        }
        return arg ? r : r.record(new Op.Reduce(op, in, d, keepdim));
    }

    static Tensor matmul(Tensor a, Tensor b) {
        a.checkAlive("matmul");
        b.checkAlive("matmul");
        sameDevice("matmul", a, b);
        if (a.rank() == 0 || b.rank() == 0) {
            throw new IllegalArgumentException(
                    "matmul: both arguments need at least 1 dimension, got " + a.shape() + " and " + b.shape());
        }
        if (a.rank() > 2 && b.rank() == 2 && a.size(-1) == b.size(0)) {
            // [..., M, K] × [K, N] is one [(…·M), K] × [K, N] product: a broadcast batch of GEMMs would pack the same
            // B once per batch matrix and run each with a small M
            long[] d = a.dims();
            long rows = 1;
            for (int i = 0; i < d.length - 1; i++) rows *= d[i];
            long[] od = d.clone();
            od[od.length - 1] = b.size(1);
            return matmul(a.reshape(rows, d[d.length - 1]), b).reshape(od);
        }
        DType t = promote(a.dtype(), b.dtype());
        if (!t.isFloatingPoint()) t = DType.F32;
        Tensor x = a.to(t);
        // F32 activations × 16-bit weights: the backend widens the weights as it reads them (see Backend#matmul)
        boolean mixed = t == DType.F32 && (b.dtype() == DType.BF16 || b.dtype() == DType.F16);
        Tensor y = mixed ? b : b.to(t);
        boolean vecA = x.rank() == 1, vecB = y.rank() == 1;
        if (vecA) x = x.unsqueeze(0);
        if (vecB) y = y.unsqueeze(1);
        long k = x.size(-1);
        if (y.size(-2) != k) {
            throw new IllegalArgumentException("matmul: shapes " + a.shape() + " and " + b.shape()
                    + " cannot be multiplied (" + k + " vs " + y.size(-2) + ")");
        }
        Tensor out;
        if (x.rank() == 2 && y.rank() == 2) {
            // no batch dims to broadcast (a projection's [rows, K] × [K, N], every decode step's products): the
            // operands go to the backend as they are
            out = output(t, Shape.of(x.size(0), y.size(1)), a.device());
        } else {
            long[] ab = Arrays.copyOf(x.dims(), x.rank() - 2), bb = Arrays.copyOf(y.dims(), y.rank() - 2);
            Shape batch;
            try {
                batch = Shape.broadcast("matmul", Shape.of(ab), Shape.of(bb));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("matmul: batch dimensions of " + a.shape() + " and " + b.shape()
                        + " cannot be broadcast (" + Shape.of(ab) + " vs " + Shape.of(bb) + ")");
            }
            long m = x.size(-2), n = y.size(-1);
            long[] xs = Arrays.copyOf(batch.toArray(), batch.rank() + 2), ys = xs.clone(), os = xs.clone();
            xs[batch.rank()] = m;
            xs[batch.rank() + 1] = k;
            ys[batch.rank()] = k;
            ys[batch.rank() + 1] = n;
            os[batch.rank()] = m;
            os[batch.rank() + 1] = n;
            x = x.expand(xs);
            y = y.expand(ys);
            out = output(t, Shape.of(os), a.device());
        }
        x.backend().matmul(x.storage(), x.layout(), y.storage(), y.layout(), out.storage(), out.layout());
        Tensor r = out.record(new Op.MatMul(x, y));
        if (vecA) r = r.squeeze(-2);
        if (vecB) r = r.squeeze(-1);
        return r;
    }

    private static void checkIndex(String op, Tensor index) {
        index.checkAlive(op);
        if (index.dtype() != DType.I32 && index.dtype() != DType.I64) {
            throw new IllegalArgumentException(
                    op + ": index must be I32 or I64, got " + index.dtype() + " " + index.shape());
        }
    }

    static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        x.checkAlive("indexSelect");
        checkIndex("indexSelect", index);
        sameDevice("indexSelect", x, index);
        if (index.rank() > 1)
            throw new IllegalArgumentException("indexSelect: index must be 0-D or 1-D, got " + index.shape());
        int d = Shape.normalize(dim, x.rank(), "indexSelect");
        Tensor idx = index.reshape(-1);
        long[] shape = x.dims();
        shape[d] = idx.numel();
        Tensor out = alloc(x.dtype(), Shape.of(shape), x.device());
        x.backend().indexSelect(x.storage(), x.layout(), d, idx.storage(), idx.layout(), out.storage(), out.layout());
        return out.record(new Op.IndexSelect(x, d, idx));
    }

    static Tensor gather(Tensor x, int dim, Tensor index) {
        x.checkAlive("gather");
        checkIndex("gather", index);
        sameDevice("gather", x, index);
        int d = Shape.normalize(dim, x.rank(), "gather");
        if (index.rank() != x.rank())
            throw new IllegalArgumentException(
                    "gather: index " + index.shape() + " must have the rank of input " + x.shape());
        for (int i = 0; i < x.rank(); i++) {
            if (i != d && index.size(i) > x.size(i)) {
                throw new IllegalArgumentException(
                        "gather: index " + index.shape() + " is larger than input " + x.shape() + " in dimension " + i);
            }
        }
        Tensor out = alloc(x.dtype(), index.shape(), x.device());
        x.backend().gather(x.storage(), x.layout(), d, index.storage(), index.layout(), out.storage(), out.layout());
        return out.record(new Op.Gather(x, d, index));
    }

    static Tensor indexAdd(Tensor x, int dim, Tensor index, Tensor src) {
        x.checkAlive("indexAdd");
        src.checkAlive("indexAdd");
        checkIndex("indexAdd", index);
        int d = Shape.normalize(dim, x.rank(), "indexAdd");
        Tensor idx = index.reshape(-1);
        long[] want = x.dims();
        want[d] = idx.numel();
        if (!src.shape().equals(Shape.of(want))) {
            throw new IllegalArgumentException("indexAdd: source " + src.shape() + " must have shape " + Shape.of(want)
                    + " for input " + x.shape() + " and index " + index.shape());
        }
        if (src.requiresGrad() && Autograd.isGradEnabled() || x.requiresGrad() && Autograd.isGradEnabled()) {
            throw new UnsupportedOperationException(
                    "indexAdd: gradient not supported (used by autograd internally); input " + x.shape());
        }
        Tensor out = copy(x, x.dtype());
        Tensor s = src.to(x.dtype());
        x.backend().indexAdd(out.storage(), out.layout(), d, idx.storage(), idx.layout(), s.storage(), s.layout());
        return out;
    }

    static Tensor scatterAdd(Tensor x, int dim, Tensor index, Tensor src) {
        x.checkAlive("scatterAdd");
        src.checkAlive("scatterAdd");
        checkIndex("scatterAdd", index);
        int d = Shape.normalize(dim, x.rank(), "scatterAdd");
        if (index.rank() != x.rank() || !src.shape().equals(index.shape())) {
            throw new IllegalArgumentException("scatterAdd: index " + index.shape() + " and source " + src.shape()
                    + " must agree and have the rank of input " + x.shape());
        }
        if (src.requiresGrad() && Autograd.isGradEnabled() || x.requiresGrad() && Autograd.isGradEnabled()) {
            throw new UnsupportedOperationException(
                    "scatterAdd: gradient not supported (used by autograd internally); input " + x.shape());
        }
        Tensor out = copy(x, x.dtype());
        Tensor s = src.to(x.dtype());
        x.backend()
                .scatterAdd(out.storage(), out.layout(), d, index.storage(), index.layout(), s.storage(), s.layout());
        return out;
    }

    static Tensor where(Tensor c, Tensor a, Tensor b) {
        c.checkAlive("where");
        a.checkAlive("where");
        b.checkAlive("where");
        sameDevice("where", c, a);
        sameDevice("where", a, b);
        Shape s = Shape.broadcast("where", Shape.broadcast("where", c.shape(), a.shape()), b.shape());
        DType t = promote(a.dtype(), b.dtype());
        Tensor cc = c.dtype() == DType.BOOL ? c : c.ne(0);
        Tensor x = a.to(t), y = b.to(t);
        Tensor out = alloc(t, s, a.device());
        x.backend()
                .where(
                        cc.storage(),
                        cc.layout().expand("where", s),
                        x.storage(),
                        x.layout().expand("where", s),
                        y.storage(),
                        y.layout().expand("where", s),
                        out.storage(),
                        out.layout());
        return out.record(new Op.Where(cc.expand(s.toArray()), x.expand(s.toArray()), y.expand(s.toArray())));
    }

    static Tensor cat(List<Tensor> ts, int dim) {
        if (ts.isEmpty()) throw new IllegalArgumentException("cat: expects a non-empty list of tensors");
        Tensor first = ts.get(0);
        if (first.rank() == 0)
            throw new IllegalArgumentException(
                    "cat: zero-dimensional tensor " + first.shape() + " cannot be concatenated; use stack");
        int d = Shape.normalize(dim, first.rank(), "cat");
        DType t = first.dtype();
        long total = 0;
        for (Tensor x : ts) {
            x.checkAlive("cat");
            sameDevice("cat", first, x);
            if (x.rank() != first.rank())
                throw new IllegalArgumentException("cat: tensors of rank " + first.rank() + " and " + x.rank() + ": "
                        + first.shape() + " and " + x.shape());
            for (int i = 0; i < x.rank(); i++) {
                if (i != d && x.size(i) != first.size(i)) {
                    throw new IllegalArgumentException("cat: shapes " + first.shape() + " and " + x.shape()
                            + " differ in dimension " + i + " (concatenating along " + d + ")");
                }
            }
            t = promote(t, x.dtype());
            total += x.size(d);
        }
        long[] shape = first.dims();
        shape[d] = total;
        Tensor out = alloc(t, Shape.of(shape), first.device());
        Backend be = first.backend();
        long at = 0;
        List<Tensor> inputs = new ArrayList<>();
        for (Tensor x : ts) {
            Tensor xt = x.to(t);
            inputs.add(xt);
            be.copy(xt.storage(), xt.layout(), out.storage(), out.layout().narrow(d, at, x.size(d)));
            at += x.size(d);
        }
        return out.record(new Op.Cat(List.copyOf(inputs), d));
    }

    /** An op's name in error messages: the enum constant in camel case ("ADD" -> "add", "WHERE_SELF" -> "whereSelf"). */
    static String opName(Enum<?> op) {
        return OP_NAMES.get(op.getDeclaringClass())[op.ordinal()];
    }

    /** The names of each op enum's constants, made once per enum: every op call reports its name to its checks. */
    private static final ClassValue<String[]> OP_NAMES = new ClassValue<>() {
        @Override
        protected String[] computeValue(Class<?> type) {
            Object[] constants = type.getEnumConstants();
            String[] names = new String[constants.length];
            for (int i = 0; i < names.length; i++) names[i] = camelCase(((Enum<?>) constants[i]).name());
            return names;
        }
    };

    private static String camelCase(String constant) {
        String s = constant.toLowerCase(java.util.Locale.ROOT);
        int u = s.indexOf('_');
        return u < 0 ? s : s.substring(0, u) + Character.toUpperCase(s.charAt(u + 1)) + s.substring(u + 2);
    }
}
