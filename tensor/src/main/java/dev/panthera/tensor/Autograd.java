package dev.panthera.tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode differentiation. {@link #backward} walks the graph of {@link Op}s in reverse topological order; the
 * gradient rules sit in one exhaustive switch over the sealed {@code Op} type, so a new op without a rule does not
 * compile. Gradients are computed with ordinary tensor ops under no-grad.
 */
public final class Autograd {
    private Autograd() {}

    private static final ThreadLocal<int[]> DISABLED = ThreadLocal.withInitial(() -> new int[1]);

    /** Called with each leaf tensor as soon as its gradient is complete (see {@link #backward(Tensor, Tensor, LeafHook)}). */
    @FunctionalInterface
    public interface LeafHook {
        /** Receives the final gradient of {@code leaf}; the default accumulates it into {@code leaf.grad()}. */
        void onGradient(Tensor leaf, Tensor gradient);
    }

    /** Whether ops on this thread record the graph. */
    public static boolean isGradEnabled() {
        return DISABLED.get()[0] == 0;
    }

    /** Disables graph recording on this thread until the handle is closed: {@code try (var ng = Autograd.noGrad()) {...}}. */
    public static Handle noGrad() {
        int[] c = DISABLED.get();
        c[0]++;
        return new Handle() {
            private boolean done;

            @Override
            public void close() {
                if (!done) {
                    done = true;
                    c[0]--;
                }
            }
        };
    }

    /**
     * Records {@code result}, computed by the caller from {@code inputs} (typically under {@link #noGrad()}, by a
     * kernel the tensor layer does not know), as the output of op {@code name} whose input gradients
     * {@code backward} gives. Returns {@code result} itself, now with the op as its origin when recording is on and an
     * input requires grad; a result that already has an origin is refused.
     */
    public static Tensor custom(String name, Tensor result, List<Tensor> inputs, Op.CustomBackward backward) {
        if (result.gradFn() != null || result.requiresGrad())
            throw new IllegalArgumentException("Autograd.custom " + name + ": the result " + result.describe()
                    + " already belongs to the graph; pass a fresh tensor");
        return result.record(new Op.Custom(name, List.copyOf(inputs), backward));
    }

    /** Backward from {@code root} with upstream gradient {@code grad}, accumulating into each leaf's {@code grad()}. */
    public static void backward(Tensor root, Tensor grad) {
        backward(root, grad, Tensor::accumulateGrad);
    }

    /**
     * Backward with a hook for leaves. Each leaf's hook runs exactly once, as soon as every path into it has been
     * processed, and every intermediate gradient is dropped as soon as it has been consumed — so a hook that applies
     * an update and discards the gradient (LOMO) never holds all gradients at once.
     */
    public static void backward(Tensor root, Tensor grad, LeafHook hook) {
        checkRoot("backward", root, grad);
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        grads.put(root, grad);
        try (Handle ng = noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) continue;
                Op op = t.gradFn();
                if (op == null) {
                    if (t.requiresGrad()) hook.onGradient(t, g);
                    continue;
                }
                List<Tensor> inputs = op.inputs();
                Tensor[] gs = Gradients.of(op, g, t);
                for (int k = 0; k < inputs.size(); k++) {
                    Tensor in = inputs.get(k);
                    if (gs[k] == null || !in.requiresGrad()) continue;
                    Tensor gk = gs[k].shape().equals(in.shape()) ? gs[k] : Gradients.sumTo(gs[k], in.shape());
                    if (!gk.device().equals(in.device())) gk = gk.to(in.device());
                    if (gk.dtype() != in.dtype()) gk = gk.to(in.dtype());
                    grads.merge(in, gk, Tensor::add);
                }
            }
        }
    }

    /**
     * Backward that gives memory back as it goes, so that training which consumes each gradient at once (LOMO) holds
     * one parameter's gradient at a time in fact, not only in principle. It runs in the current {@link MemoryScope}
     * (one must be open). Each op's gradient rule runs in a scope of its own, so its temporaries return to the pool
     * when the rule returns; the gradients it produces move, without a copy, to the current scope and are released as
     * soon as every pending use has consumed them. With {@code releaseLeafGradients} a leaf's gradient is released
     * right after {@code hook} returns (the hook runs in a scope of its own and must not keep the gradient: using it
     * later is an exception); otherwise the hook may keep it and it lives until the current scope closes. Only memory
     * this pass allocated is released, never the upstream {@code grad} or tensors of the forward pass.
     */
    public static void backwardReleasing(Tensor root, Tensor grad, LeafHook hook, boolean releaseLeafGradients) {
        checkRoot("backwardReleasing", root, grad);
        MemoryScope outer = MemoryScope.current();
        if (outer == null)
            throw new IllegalStateException("backwardReleasing: needs an open MemoryScope on this thread");
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        // pending uses of each block this pass allocated; a block reaching zero goes back to the pool
        Map<MemoryPool.Allocation, int[]> uses = new IdentityHashMap<>();
        Map<MemoryPool.Allocation, Boolean> kept = new IdentityHashMap<>();
        grads.put(root, grad);
        try (Handle ng = noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) continue;
                Op op = t.gradFn();
                if (op == null) {
                    if (t.requiresGrad()) {
                        if (releaseLeafGradients) {
                            try (MemoryScope hookScope = MemoryScope.open()) {
                                hook.onGradient(t, g);
                            }
                        } else {
                            hook.onGradient(t, g);
                            MemoryPool.Allocation a = g.storage().allocation();
                            if (a != null) kept.put(a, Boolean.TRUE);
                        }
                    }
                    unuse(outer, uses, kept, g);
                    continue;
                }
                try (MemoryScope rule = MemoryScope.open()) {
                    List<Tensor> inputs = op.inputs();
                    Tensor[] gs = Gradients.of(op, g, t);
                    for (int k = 0; k < inputs.size(); k++) {
                        Tensor in = inputs.get(k);
                        if (gs[k] == null || !in.requiresGrad()) continue;
                        Tensor gk = gs[k].shape().equals(in.shape()) ? gs[k] : Gradients.sumTo(gs[k], in.shape());
                        if (!gk.device().equals(in.device())) gk = gk.to(in.device());
                        if (gk.dtype() != in.dtype()) gk = gk.to(in.dtype());
                        Tensor prev = grads.get(in);
                        Tensor sum = prev == null ? gk : prev.add(gk);
                        MemoryPool.Allocation a = sum.storage().allocation();
                        boolean fresh = a != null && a.owner() == rule;
                        rule.promote(sum);
                        if (fresh || (a != null && uses.containsKey(a))) uses.computeIfAbsent(a, x -> new int[1])[0]++;
                        grads.put(in, sum);
                        if (prev != null) unuse(outer, uses, kept, prev);
                    }
                }
                unuse(outer, uses, kept, g);
            }
        }
    }

    /** Drops one pending use of {@code g}'s block; releases the block when it was the last and no hook kept it. */
    private static void unuse(
            MemoryScope outer,
            Map<MemoryPool.Allocation, int[]> uses,
            Map<MemoryPool.Allocation, Boolean> kept,
            Tensor g) {
        MemoryPool.Allocation a = g.storage().allocation();
        int[] n = a == null ? null : uses.get(a);
        if (n == null || --n[0] > 0) return;
        uses.remove(a);
        if (!kept.containsKey(a)) outer.release(g);
    }

    private static void checkRoot(String op, Tensor root, Tensor grad) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException(
                    op + ": tensor " + root.describe() + " does not require grad and has no grad_fn");
        }
        if (!grad.shape().equals(root.shape())) {
            throw new IllegalArgumentException(
                    op + ": gradient shape " + grad.shape() + " does not match tensor shape " + root.shape());
        }
    }

    /** Tensors reachable from root, each after all tensors it depends on (iterative DFS: deep graphs are fine). */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Map<Tensor, Boolean> seen = new IdentityHashMap<>();
        ArrayList<Object[]> stack = new ArrayList<>();
        stack.add(new Object[] {root, 0});
        seen.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] top = stack.get(stack.size() - 1);
            Tensor t = (Tensor) top[0];
            int next = (Integer) top[1];
            List<Tensor> ins = t.gradFn() == null ? List.of() : t.gradFn().inputs();
            if (next < ins.size()) {
                top[1] = next + 1;
                Tensor in = ins.get(next);
                if (in.requiresGrad() && seen.put(in, Boolean.TRUE) == null) stack.add(new Object[] {in, 0});
            } else {
                stack.remove(stack.size() - 1);
                order.add(t);
            }
        }
        return order;
    }
}
