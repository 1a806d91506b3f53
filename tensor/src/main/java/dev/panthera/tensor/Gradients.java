package dev.panthera.tensor;

import java.util.List;

/** The gradient rule of every {@link Op}: one exhaustive switch, so an op without a rule does not compile. */
final class Gradients {
    private Gradients() {}

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    /** Gradients for {@code op.inputs()} in order (null where an input gets none), given the output's gradient. */
    static Tensor[] of(Op op, Tensor g, Tensor out) {
        return switch (op) {
            case Op.Unary u -> new Tensor[] {unary(u.op(), u.x(), g)};
            case Op.Binary b -> binary(b, g);
            case Op.Reduce r -> new Tensor[] {reduce(r, g, out)};
            case Op.MatMul m ->
                new Tensor[] {
                    m.a().requiresGrad() ? g.matmul(m.b().transpose(-1, -2)) : null,
                    m.b().requiresGrad() ? matmulGradB(m.a(), m.b(), g) : null
                };
            case Op.Softmax s -> new Tensor[] {FusedGradients.softmax(s, g, out)};
            case Op.LayerNorm ln -> FusedGradients.layerNorm(ln, g);
            case Op.RmsNorm rn -> FusedGradients.rmsNorm(rn, g);
            case Op.Rope r -> FusedGradients.rope(r, g);
            case Op.Attention a -> FusedGradients.attention(a, g, out);
            case Op.IndexSelect is ->
                new Tensor[] {
                    Tensor.zeros(is.x().dtype(), is.x().shape(), g.device()).indexAdd(is.dim(), is.index(), g)
                };
            case Op.Gather ga ->
                new Tensor[] {
                    Tensor.zeros(ga.x().dtype(), ga.x().shape(), g.device()).scatterAdd(ga.dim(), ga.index(), g)
                };
            case Op.Where w -> {
                Tensor zero = Tensor.zeros(g.dtype(), Shape.scalar(), g.device());
                yield new Tensor[] {Tensor.where(w.condition(), g, zero), Tensor.where(w.condition(), zero, g)};
            }
            case Op.Reshape r -> new Tensor[] {g.reshape(r.x().shape().toArray())};
            case Op.Permute p -> new Tensor[] {g.permute(inverse(p.perm()))};
            case Op.Slice s -> {
                Tensor z = Tensor.zeros(g.dtype(), s.x().shape(), g.device());
                z.slice(s.dim(), s.start(), s.start() + s.length() * s.step(), s.step())
                        .copy_(g);
                yield new Tensor[] {z};
            }
            case Op.Select s -> {
                Tensor z = Tensor.zeros(g.dtype(), s.x().shape(), g.device());
                z.select(s.dim(), s.index()).copy_(g);
                yield new Tensor[] {z};
            }
            case Op.Expand e -> new Tensor[] {sumTo(g, e.x().shape())};
            case Op.Copy c -> new Tensor[] {g};
            case Op.Cat c -> cat(c, g);
            case Op.Custom c -> custom(c, g, out);
        };
    }

    /**
     * dL/dB = Aᵀ·G, laid out as B is: when B is a transposed view of a row-major matrix (a Linear layer's Wᵀ), the
     * product is computed as (Gᵀ·A)ᵀ, the same GEMM with its operands swapped, so that the transpose's own gradient
     * rule hands W a row-major gradient instead of a transposed view (which every later elementwise pass, the
     * optimizer's included, would walk with strides).
     */
    private static Tensor matmulGradB(Tensor a, Tensor b, Tensor g) {
        int r = b.rank();
        boolean transposed = r >= 2
                && b.size(-1) > 1
                && b.size(-2) > 1
                && b.layout().stride(r - 2) == 1
                && b.layout().stride(r - 1) == b.size(-2);
        if (transposed) return g.transpose(-1, -2).matmul(a).transpose(-1, -2);
        return a.transpose(-1, -2).matmul(g);
    }

    private static Tensor unary(UnaryOp op, Tensor x, Tensor g) {
        return switch (op) {
            case NEG -> g.neg();
            case EXP -> g.mul(x.exp());
            case LOG -> g.div(x);
            case SQRT -> g.mul(x.sqrt().reciprocal().mul(0.5));
            case RSQRT -> g.mul(x.rsqrt().pow(3).mul(-0.5));
            case ABS -> g.mul(x.sign());
            case TANH -> g.mul(x.tanh().pow(2).neg().add(1));
            case SIGMOID -> {
                Tensor s = x.sigmoid();
                yield g.mul(s.mul(s.neg().add(1)));
            }
            case RELU -> g.mul(x.gt(0).to(g.dtype()));
            case GELU_ERF -> {
                // d/dx x·Φ(x) = Φ(x) + x·φ(x); Φ(x) = gelu(x)/x away from 0 and 1/2 at 0
                Tensor phiCdf = Tensor.where(
                        x.eq(0),
                        Tensor.full(g.dtype(), 0.5, Shape.scalar(), g.device()),
                        x.gelu().div(x));
                Tensor pdf = x.mul(x).mul(-0.5).exp().mul(INV_SQRT_2PI);
                yield g.mul(phiCdf.add(x.mul(pdf)));
            }
            case GELU_TANH -> {
                Tensor x2 = x.mul(x);
                Tensor t = x.add(x2.mul(x).mul(0.044715)).mul(SQRT_2_OVER_PI).tanh();
                Tensor du = x2.mul(3 * 0.044715).add(1).mul(SQRT_2_OVER_PI);
                Tensor d = t.add(1)
                        .mul(0.5)
                        .add(x.mul(0.5).mul(t.mul(t).neg().add(1)).mul(du));
                yield g.mul(d);
            }
            case SILU -> FusedGradients.silu(x, g);
            case SIGN -> g.mul(0);
        };
    }

    private static Tensor[] binary(Op.Binary b, Tensor g) {
        Tensor x = b.a(), y = b.b();
        boolean gx = x.requiresGrad(), gy = y.requiresGrad();
        return switch (b.op()) {
            case ADD -> new Tensor[] {g, g};
            case SUB -> new Tensor[] {g, gy ? g.neg() : null};
            case MUL -> new Tensor[] {gx ? g.mul(y) : null, gy ? g.mul(x) : null};
            case DIV -> new Tensor[] {gx ? g.div(y) : null, gy ? g.neg().mul(x).div(y.mul(y)) : null};
            case POW -> {
                // PyTorch's masks: d/dx is 0 where y == 0 (else 0·0^-1 = NaN), d/dy is 0 where x == 0 and y >= 0 (else
                // 0·log 0)
                Tensor zero = Tensor.zeros(g.dtype(), Shape.scalar(), g.device());
                yield new Tensor[] {
                    gx ? Tensor.where(y.eq(0), zero, g.mul(y).mul(x.pow(y.sub(1)))) : null,
                    gy
                            ? Tensor.where(
                                    x.eq(0).mul(y.ge(0)), zero, g.mul(x.pow(y)).mul(x.log()))
                            : null
                };
            }
            case MAXIMUM, MINIMUM -> {
                Tensor win = b.op() == BinaryOp.MAXIMUM ? x.gt(y) : x.lt(y);
                Tensor tie = x.eq(y).to(g.dtype()).mul(0.5);
                Tensor wx = win.to(g.dtype()).add(tie);
                yield new Tensor[] {gx ? g.mul(wx) : null, gy ? g.mul(wx.neg().add(1)) : null};
            }
            case EQ, NE, LT, LE, GT, GE -> new Tensor[] {null, null};
        };
    }

    private static Tensor reduce(Op.Reduce r, Tensor g, Tensor out) {
        Tensor x = r.x();
        Tensor gk = r.keepdim() ? g : unsqueezeAll(g, r.dims());
        return switch (r.op()) {
            case SUM -> gk.expand(x.shape().toArray());
            case MAX, MIN -> {
                Tensor outK = r.keepdim() ? out : unsqueezeAll(out, r.dims());
                Tensor mask = x.eq(outK).to(g.dtype());
                yield mask.mul(gk).div(mask.sum(r.dims(), true));
            }
            case ARGMAX, ARGMIN -> throw new IllegalStateException("argmax/argmin have no gradient");
        };
    }

    private static Tensor unsqueezeAll(Tensor t, int[] sortedDims) {
        for (int d : sortedDims) t = t.unsqueeze(d);
        return t;
    }

    private static Tensor[] custom(Op.Custom c, Tensor g, Tensor out) {
        Tensor[] gs = c.backward().gradients(g, out);
        if (gs == null || gs.length != c.inputs().size())
            throw new IllegalStateException("backward of custom op " + c.name() + ": expected "
                    + c.inputs().size() + " gradients, got " + (gs == null ? "null" : gs.length));
        for (int i = 0; i < gs.length; i++) {
            if (gs[i] != null && !gs[i].shape().equals(c.inputs().get(i).shape()))
                throw new IllegalStateException("backward of custom op " + c.name() + ": gradient " + i + " has shape "
                        + gs[i].shape() + ", input " + c.inputs().get(i).shape());
        }
        return gs;
    }

    private static Tensor[] cat(Op.Cat c, Tensor g) {
        List<Tensor> xs = c.xs();
        Tensor[] out = new Tensor[xs.size()];
        long at = 0;
        for (int i = 0; i < out.length; i++) {
            long len = xs.get(i).shape().dim(c.dim());
            out[i] = g.narrow(c.dim(), at, len);
            at += len;
        }
        return out;
    }

    private static int[] inverse(int[] perm) {
        int[] inv = new int[perm.length];
        for (int i = 0; i < perm.length; i++) inv[Shape.normalize(perm[i], perm.length, "permute")] = i;
        return inv;
    }

    /** Sums a broadcast gradient back to {@code target} (the shape before broadcasting). */
    static Tensor sumTo(Tensor g, Shape target) {
        int lead = g.rank() - target.rank();
        if (lead < 0)
            throw new IllegalArgumentException("sumTo: gradient " + g.shape() + " smaller than target " + target);
        java.util.ArrayList<Integer> dims = new java.util.ArrayList<>();
        for (int i = 0; i < g.rank(); i++) {
            if (i < lead || (target.dim(i - lead) == 1 && g.shape().dim(i) != 1)) dims.add(i);
        }
        Tensor s = dims.isEmpty()
                ? g
                : g.sum(dims.stream().mapToInt(Integer::intValue).toArray(), true);
        return s.reshape(target.toArray());
    }
}
