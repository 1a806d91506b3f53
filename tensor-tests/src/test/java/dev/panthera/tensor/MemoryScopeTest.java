package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Native memory has an owner; use after free is an exception naming the tensor, never a crash. */
class MemoryScopeTest {

    @Test
    void tensorsMadeInAScopeAreFreedWhenItCloses() {
        Tensor inside;
        try (var scope = MemoryScope.open()) {
            inside = Tensor.ones(4).mul(2).name("activations");
            assertTrue(inside.storage().isAlive());
        }
        assertFalse(inside.storage().isAlive());
        Tensor dead = inside;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> dead.add(1));
        assertTrue(e.getMessage().contains("'activations'") && e.getMessage().contains("[4]"), e.getMessage());
        assertThrows(IllegalStateException.class, dead::toFloatArray);
        assertThrows(IllegalStateException.class, () -> dead.get(0));
        assertTrue(dead.toString().contains("freed"), "printing a freed tensor does not touch its memory");
    }

    @Test
    void keepMovesATensorToTheEnclosingOwner() {
        Tensor kept;
        try (var outer = MemoryScope.open()) {
            try (var inner = MemoryScope.open()) {
                Tensor t = Tensor.arange(0, 6, 1).reshape(2, 3).t(); // a view: keep makes it contiguous
                kept = inner.keep(t);
            }
            assertArrayEquals(new long[] {0, 3, 1, 4, 2, 5}, kept.toLongArray(), "alive in the outer scope");
            assertSame(outer, kept.storage().owner());
        }
        assertFalse(kept.storage().isAlive(), "freed with the outer scope");
        Tensor survivor;
        try (var scope = MemoryScope.open()) {
            survivor = scope.keep(Tensor.ones(3));
        }
        assertArrayEquals(new float[] {1, 1, 1}, survivor.toFloatArray(), "kept from the outermost scope: GC-managed");
    }

    @Test
    void codeWithoutScopesIsGcManagedAndUnscopedEscapesScopes() {
        Tensor free = Tensor.ones(3).add(1);
        assertArrayEquals(new float[] {2, 2, 2}, free.toFloatArray());
        Tensor state;
        try (var scope = MemoryScope.open()) {
            state = MemoryScope.unscoped(() -> Tensor.zeros(2));
            assertNotSame(scope, state.storage().owner());
        }
        assertTrue(state.storage().isAlive());
    }

    @Test
    void gradientsOfLeavesOutliveTheStepScope() {
        Tensor w = Tensor.ones(2).requiresGrad(true);
        for (int step = 0; step < 3; step++) {
            try (var scope = MemoryScope.open()) {
                w.mul(w).sum().backward();
            }
        }
        assertArrayEquals(new float[] {6, 6}, w.grad().toFloatArray(), "2·w accumulated over three steps");
    }

    @Test
    void scopesCloseInnermostFirstOnTheirOwnThread() throws Exception {
        var outer = MemoryScope.open();
        var inner = MemoryScope.open();
        assertThrows(IllegalStateException.class, outer::close);
        inner.close();
        Thread other = new Thread(() -> assertThrows(IllegalStateException.class, outer::close));
        other.start();
        other.join();
        outer.close();
        outer.close(); // idempotent
    }

    @Test
    void workerThreadsMayReadScopeMemory() throws Exception {
        try (var scope = MemoryScope.open()) {
            Tensor t = Tensor.ones(1000);
            double[] sum = new double[1];
            Thread th = new Thread(() -> sum[0] = t.sum().item());
            th.start();
            th.join();
            assertTrue(sum[0] == 1000);
        }
    }

    /**
     * bytesHeld counts the bytes requested for the scope's own live blocks: a 1000-float tensor is one 4,000-byte
     * request; released or promoted blocks leave the count.
     */
    @Test
    void bytesHeldCountsTheScopesOwnBlocks() {
        long block = 4000;
        try (var outer = MemoryScope.open()) {
            try (var scope = MemoryScope.open()) {
                assertEquals(0, scope.bytesHeld());
                Tensor a = Tensor.zeros(1000), b = Tensor.zeros(1000);
                assertEquals(2 * block, scope.bytesHeld());
                assertEquals(0, outer.bytesHeld(), "the outer scope owns none of them");
                scope.release(a);
                assertEquals(block, scope.bytesHeld());
                scope.promote(b);
                assertEquals(0, scope.bytesHeld());
                assertEquals(block, outer.bytesHeld());
            }
        }
    }
}
