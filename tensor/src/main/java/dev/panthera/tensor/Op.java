package dev.panthera.tensor;

import java.util.List;

/**
 * The autograd graph: each differentiable result remembers the op that made it. The set is sealed and
 * {@code Autograd.backward} switches over it exhaustively, so an op without a gradient rule does not compile.
 * Composite ops (silu's friends, var, mean, cat's users, embedding, maskedFill, ...) are built from these.
 */
public sealed interface Op {
    /** The tensors this op read. */
    List<Tensor> inputs();

    record Unary(UnaryOp op, Tensor x) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }

    record Binary(BinaryOp op, Tensor a, Tensor b) implements Op {
        public List<Tensor> inputs() {
            return List.of(a, b);
        }
    }
    /** SUM, MAX or MIN over {@code dims}. */
    record Reduce(ReduceOp op, Tensor x, int[] dims, boolean keepdim) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }
    /** Batched matmul of rank ≥ 2 operands whose batch dims already agree. */
    record MatMul(Tensor a, Tensor b) implements Op {
        public List<Tensor> inputs() {
            return List.of(a, b);
        }
    }

    record Softmax(Tensor x, int dim, boolean log) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }
    /** Normalisation over the last dimension; weight and bias may be null. */
    record LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps) implements Op {
        public List<Tensor> inputs() {
            return nonNull(x, weight, bias);
        }
    }

    record RmsNorm(Tensor x, Tensor weight, double eps) implements Op {
        public List<Tensor> inputs() {
            return nonNull(x, weight);
        }
    }

    /** Rotary embedding of x [..., seq, d] by tables cos and sin [seq, d/2] (see {@link Tensor#rope}). */
    record Rope(Tensor x, Tensor cos, Tensor sin, boolean interleaved) implements Op {
        public List<Tensor> inputs() {
            return List.of(x, cos, sin);
        }
    }

    /**
     * Scaled dot-product attention (see {@link Tensor#scaledDotProductAttention}). {@code mask} is the additive mask
     * broadcast to [B, Hq, Lq, Lk] or null, and gets no gradient; {@code lse} is the per-row log-sum-exp [B, Hq, Lq]
     * the forward kernel wrote for the backward, or null when it was not asked for.
     */
    record Attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale, Tensor lse)
            implements Op {
        public List<Tensor> inputs() {
            return List.of(q, k, v);
        }
    }

    record IndexSelect(Tensor x, int dim, Tensor index) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }

    record Gather(Tensor x, int dim, Tensor index) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }

    record Where(Tensor condition, Tensor a, Tensor b) implements Op {
        public List<Tensor> inputs() {
            return List.of(a, b);
        }
    }
    /** Any view or copy with the same elements in a new shape (reshape, view, squeeze, unsqueeze, flatten). */
    record Reshape(Tensor x) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }

    record Permute(Tensor x, int[] perm) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }
    /** Elements start, start+step, ... along dim (narrow, slice). */
    record Slice(Tensor x, int dim, long start, long length, long step) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }

    record Select(Tensor x, int dim, long index) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }

    record Expand(Tensor x) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }
    /** contiguous() or a dtype conversion: the same values (up to rounding) in new memory. */
    record Copy(Tensor x) implements Op {
        public List<Tensor> inputs() {
            return List.of(x);
        }
    }

    record Cat(List<Tensor> xs, int dim) implements Op {
        public List<Tensor> inputs() {
            return xs;
        }
    }

    /**
     * An op computed outside this module (a kernel over a format the tensor layer does not know, such as a packed
     * 4-bit weight), made with {@link Autograd#custom}: {@code backward} returns the gradient of each input in order
     * (null where an input gets none).
     */
    record Custom(String name, List<Tensor> inputs, CustomBackward backward) implements Op {}

    /** The gradient rule of a {@link Custom} op. */
    @FunctionalInterface
    interface CustomBackward {
        /** Gradients for the op's inputs in order, given the output {@code out} and its gradient {@code grad}. */
        Tensor[] gradients(Tensor grad, Tensor out);
    }

    private static List<Tensor> nonNull(Tensor... ts) {
        java.util.ArrayList<Tensor> l = new java.util.ArrayList<>();
        for (Tensor t : ts) if (t != null) l.add(t);
        return l;
    }
}
