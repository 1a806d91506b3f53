package dev.panthera.nn.bench;

import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Replays the schedule of {@code Autograd.backward} (the same iterative DFS order over {@code gradFn().inputs()}, nodes
 * processed in reverse, a gradient kept from the moment its consumer is processed until the tensor itself is) without
 * computing anything, and returns the largest number of bytes of leaf gradients that exist at the same time. Under
 * LOMO a leaf's gradient is freed right after its hook, so this is LOMO's gradient footprint during backward. If
 * Autograd's traversal changes, this replay must change with it.
 */
public final class GradientSchedule {
    private GradientSchedule() {}

    public static long peakLeafGradientBytes(Tensor root) {
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
        Map<Tensor, Boolean> pending = new IdentityHashMap<>();
        pending.put(root, Boolean.TRUE);
        long live = 0, peak = 0;
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            if (pending.remove(t) == null) continue;
            if (t.gradFn() == null) {
                live -= bytes(t);
                continue;
            }
            for (Tensor in : t.gradFn().inputs()) {
                if (!in.requiresGrad() || pending.put(in, Boolean.TRUE) != null) continue;
                if (in.gradFn() == null) live += bytes(in);
            }
            peak = Math.max(peak, live);
        }
        return peak;
    }

    private static long bytes(Tensor t) {
        return t.numel() * t.dtype().byteSize();
    }
}
