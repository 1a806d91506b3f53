package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every way of touching a tensor whose scope has closed — as the receiver, as the second operand, as an index, mask,
 * weight or in-place source, through a view made before the close, or inside backward — throws IllegalStateException
 * naming that tensor. None may reach freed memory (which would crash the JVM or read garbage).
 */
class UseAfterFreeTest {

    private static void freedAccess(String what, String name, Executable call) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call, what);
        assertTrue(
                e.getMessage().contains("'" + name + "'"), what + ": the message names the tensor: " + e.getMessage());
    }

    @Test
    void everyOpOnAFreedTensorThrowsNamingIt() {
        Tensor dead, deadView, deadIndex, deadMask;
        try (var scope = MemoryScope.open()) {
            dead = Tensor.ones(2, 3).mul(2).name("acts");
            deadView = dead.t().name("actsT"); // a view made while alive shares the storage that will be freed
            deadIndex = Tensor.of(new long[] {0, 1}, 2).name("ids");
            deadMask = Tensor.ones(2, 3).gt(0).name("mask");
        }
        Tensor live = Tensor.ones(2, 3), w = Tensor.ones(3);
        Map<String, Function<Tensor, Object>> unaryUses = new LinkedHashMap<>();
        unaryUses.put("add", t -> t.add(live));
        unaryUses.put("add as second operand", t -> live.add(t));
        unaryUses.put("exp", Tensor::exp);
        unaryUses.put("sum", t -> t.sum(new int[] {0}, true));
        unaryUses.put("argmax", t -> t.argmax(1, false));
        unaryUses.put("matmul", t -> t.matmul(live.t()));
        unaryUses.put("matmul as second operand", t -> live.t().matmul(t));
        unaryUses.put("softmax", t -> t.softmax(-1));
        unaryUses.put("layerNorm", t -> t.layerNorm(w, null, 1e-5));
        unaryUses.put("layerNorm weight", t -> live.layerNorm(t.select(0, 0), null, 1e-5));
        unaryUses.put("rmsNorm", t -> t.rmsNorm(null, 1e-5));
        unaryUses.put("view", t -> t.view(6));
        unaryUses.put("transpose", t -> t.transpose(0, 1));
        unaryUses.put("narrow", t -> t.narrow(1, 0, 1));
        unaryUses.put("expand", t -> t.unsqueeze(0).expand(2, 2, 3));
        unaryUses.put("contiguous of a view", t -> t.t().contiguous());
        unaryUses.put("to", t -> t.to(DType.F64));
        unaryUses.put("copy_ into", t -> t.copy_(live));
        unaryUses.put("copy_ from", t -> live.copy_(t));
        unaryUses.put("fill_", t -> t.fill_(1));
        unaryUses.put("add_ into", t -> t.add_(live));
        unaryUses.put("add_ from", t -> live.add_(t));
        unaryUses.put("mul_ scalar", t -> t.mul_(2));
        unaryUses.put("addcmul_ operand", t -> live.addcmul_(live, t, 0.5));
        unaryUses.put("addcdiv_ into", t -> t.addcdiv_(live, live, 0.5));
        unaryUses.put("lerp_ end", t -> live.lerp_(t, 0.5));
        unaryUses.put("clamp_", t -> t.clamp_(0, 1));
        unaryUses.put("sqrt_", Tensor::sqrt_);
        unaryUses.put("zero_", Tensor::zero_);
        unaryUses.put("cat", t -> Tensor.cat(List.of(live, t), 0));
        unaryUses.put("where", t -> Tensor.where(live.gt(0), t, live));
        unaryUses.put("indexSelect", t -> t.indexSelect(0, Tensor.of(new long[] {0}, 1)));
        unaryUses.put("toFloatArray", Tensor::toFloatArray);
        unaryUses.put("toLongArray", Tensor::toLongArray);
        unaryUses.put("get", t -> t.get(0, 0));
        unaryUses.put("item", t -> t.select(0, 0).select(0, 0).item());
        for (var e : unaryUses.entrySet())
            freedAccess(e.getKey(), "acts", () -> e.getValue().apply(dead));
        freedAccess("a view made before the close", "actsT", () -> deadView.toFloatArray());
        freedAccess("index", "ids", () -> live.indexSelect(0, deadIndex));
        freedAccess("gather index", "ids", () -> live.gather(1, deadIndex.reshape(2, 1)));
        freedAccess("mask", "mask", () -> live.maskedFill(deadMask, 0));
        // metadata needs no memory and stays readable; printing says the tensor was freed
        assertArrayEquals(new long[] {2, 3}, dead.dims());
        assertEquals(DType.F32, dead.dtype());
        assertTrue(dead.toString().contains("freed") && dead.toString().contains("acts"), dead.toString());
    }

    @Test
    void backwardThroughAFreedGraphThrowsInsteadOfReadingFreedMemory() {
        Tensor w = Tensor.ones(3).requiresGrad(true);
        Tensor loss;
        try (var scope = MemoryScope.open()) {
            loss = w.mul(w).exp().sum(); // intermediates live in the scope
        }
        assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(w.storage().isAlive(), "the leaf was made outside the scope and is unaffected");
    }

    @Test
    void keepAfterCloseAndMemoryFreedExactlyOnce() {
        var scope = MemoryScope.open();
        Tensor t = Tensor.ones(4);
        scope.close();
        assertThrows(IllegalStateException.class, () -> scope.keep(t));
        assertThrows(IllegalStateException.class, scope::arena);
        assertFalse(t.storage().isAlive());
        scope.close(); // closing twice is harmless
    }

    @Test
    void keepPreservesValuesDtypeAndRequiresGrad() {
        Tensor kept;
        try (var scope = MemoryScope.open()) {
            Tensor x = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3)
                    .name("logits")
                    .requiresGrad(true);
            kept = scope.keep(x.slice(1, 0, 3, 2)); // a strided view: the kept copy is contiguous
        }
        assertTrue(kept.storage().isAlive());
        assertTrue(kept.isContiguous());
        assertEquals(DType.F64, kept.dtype());
        assertTrue(kept.requiresGrad());
        assertArrayEquals(new double[] {1, 3, 4, 6}, kept.toDoubleArray());
    }
}
