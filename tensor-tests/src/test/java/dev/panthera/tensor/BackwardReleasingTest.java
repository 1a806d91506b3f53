package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Autograd#backwardReleasing} and the two {@link MemoryScope} operations it rests on: gradients identical to
 * {@link Autograd#backward}, and memory measured with the host pool's own counters (bytes in use, peak).
 */
class BackwardReleasingTest {
    private static final int LAYERS = 6, N = 64;

    /** A chain of LAYERS N×N matmuls with tanh, a residual fan-out, a transpose view and a broadcast bias. */
    private static Tensor loss(List<Tensor> ws, Tensor bias, Tensor x) {
        Tensor h = x;
        for (Tensor w : ws) h = h.matmul(w).tanh().add(h.mul(0.5)); // h used twice: two paths into each input
        return h.transpose(0, 1).add(bias.reshape(N, 1)).pow(2).sum();
    }

    private static List<Tensor> params(List<Tensor> ws, Tensor bias) {
        List<Tensor> all = new ArrayList<>(ws);
        all.add(bias);
        return all;
    }

    /**
     * The pool's bytes in use once nothing earlier is still on its way back: a leaf gradient's block whose storage
     * became unreachable without {@code zeroGrad} (an earlier test's) is returned by a cleaner after some GC, which
     * can land between two readings of one test and move the count by that block. A full GC, then readings 10 ms
     * apart until five agree (at most about 2 s).
     */
    private static long settledBytesInUse(MemoryPool pool) {
        System.gc();
        long last = pool.stats().bytesInUse();
        for (int same = 0, polls = 0; same < 5 && polls < 200; polls++) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = pool.stats().bytesInUse();
            same = now == last ? same + 1 : 0;
            last = now;
        }
        return last;
    }

    private static List<Tensor> weights() {
        List<Tensor> ws = new ArrayList<>();
        for (int i = 0; i < LAYERS; i++)
            ws.add(Tensor.randn(Shape.of(N, N), 10 + i).mul(0.1).requiresGrad(true));
        return ws;
    }

    @Test
    void givesTheSameGradientsAsBackward() {
        List<Tensor> ws = weights();
        Tensor bias = Tensor.randn(Shape.of(N), 3).requiresGrad(true);
        Tensor x = Tensor.randn(Shape.of(4, N), 4);
        loss(ws, bias, x).backward();
        Map<Tensor, float[]> released = new IdentityHashMap<>();
        try (var scope = MemoryScope.open()) {
            Tensor l = loss(ws, bias, x);
            Autograd.backwardReleasing(l, Tensor.onesLike(l), (leaf, g) -> released.put(leaf, g.toFloatArray()), true);
        }
        // same rules, same accumulation order (existing + new): the same floats, bit for bit
        for (Tensor p : params(ws, bias)) assertArrayEquals(p.grad().toFloatArray(), released.get(p));
    }

    @Test
    void releasesEveryBlockItMadeAndHoldsFarLessThanAllGradients() {
        List<Tensor> ws = weights();
        Tensor bias = Tensor.randn(Shape.of(N), 3).requiresGrad(true);
        Tensor x = Tensor.randn(Shape.of(4, N), 4);
        MemoryPool pool = MemoryPool.host();
        long gradBytes = (long) LAYERS * N * N * 4 + N * 4;
        long[] releasing = new long[2], keeping = new long[2];
        for (boolean release : new boolean[] {true, false}) {
            try (var scope = MemoryScope.open()) {
                Tensor l = loss(ws, bias, x);
                Tensor up = Tensor.onesLike(l);
                long before = pool.stats().bytesInUse();
                pool.resetPeak();
                List<Tensor> kept = new ArrayList<>();
                Autograd.backwardReleasing(l, up, (leaf, g) -> kept.add(g), release);
                long[] out = release ? releasing : keeping;
                out[0] = pool.stats().peakBytesInUse() - before;
                out[1] = pool.stats().bytesInUse() - before;
                if (!release) for (Tensor g : kept) assertTrue(g.storage().isAlive(), "a kept gradient stays alive");
                else {
                    Tensor g = kept.get(0);
                    var e = assertThrows(IllegalStateException.class, g::toFloatArray, "released gradient used");
                    assertTrue(e.getMessage().contains("freed"), e.getMessage());
                }
            }
        }
        // at most 0: blocks that earlier tests dropped may be returned by their cleaner meanwhile
        assertTrue(releasing[1] <= 0, "every block the releasing pass made went back to the pool: " + releasing[1]);
        assertTrue(keeping[1] >= gradBytes, "kept gradients stay in the scope: " + keeping[1] + " < " + gradBytes);
        // Releasing: one N×N weight gradient plus the in-flight activations' gradients (a few 4×N rows) and one rule's
        // temporaries (a transposed N×N copy, one N×N product) at a time: under four weight gradients, not LAYERS.
        long weightGrad = (long) N * N * 4;
        assertTrue(releasing[0] < 4 * weightGrad, "releasing peak " + releasing[0] + " B");
        assertTrue(keeping[0] >= gradBytes, "keeping peak " + keeping[0] + " B");
    }

    @Test
    void tensorBackwardInAScopeReleasesAsItGoesAndAccumulatesTheSameGradients() {
        List<Tensor> ws = weights();
        Tensor bias = Tensor.randn(Shape.of(N), 3).requiresGrad(true);
        Tensor x = Tensor.randn(Shape.of(4, N), 4);
        loss(ws, bias, x).backward(); // outside a scope: Autograd.backward, every gradient kept
        List<float[]> plain = new ArrayList<>();
        for (Tensor p : params(ws, bias)) {
            plain.add(p.grad().toFloatArray());
            p.zeroGrad();
        }
        MemoryPool pool = MemoryPool.host();
        long gradBytes = (long) LAYERS * N * N * 4 + N * 4;
        // the leaves' own gradient buffers are pool blocks that outlive the pass (Tensor.accumulateGrad)
        long leafBlocks = 0;
        for (Tensor p : params(ws, bias))
            leafBlocks += MemoryPool.sizeClassBytes(p.shape().numel() * 4);
        for (int pass = 0; pass < 2; pass++) { // the second pass adds into the gradients of the first
            long made = pass == 0 ? leafBlocks : 0;
            try (var scope = MemoryScope.open()) {
                Tensor l = loss(ws, bias, x);
                Tensor up = Tensor.onesLike(l);
                long before = settledBytesInUse(pool);
                pool.resetPeak();
                l.backward(up);
                assertEquals(
                        before + made,
                        pool.stats().bytesInUse(),
                        "every gradient block but the leaves' own went back to the pool");
                long peak = pool.stats().peakBytesInUse() - before - made;
                assertTrue(peak < gradBytes / 2, "peak " + peak + " B beside the leaves' " + gradBytes + " B");
            }
            List<Tensor> ps = params(ws, bias);
            for (int i = 0; i < ps.size(); i++) {
                float[] g = ps.get(i).grad().toFloatArray(), want = plain.get(i).clone();
                if (pass == 1) for (int j = 0; j < want.length; j++) want[j] += plain.get(i)[j];
                assertArrayEquals(want, g, "leaf " + i + " after pass " + pass + ": the plain pass's bits");
            }
        }
    }

    /**
     * A leaf's gradient buffer is a pool block the leaf owns: after a pass the pool holds exactly the leaves' blocks
     * more, zeroGrad hands them back (the dropped gradient is dead: reading it throws), and the next pass gives the
     * same bits as the first. Also outside a scope (Autograd.backward). The expected values are the first pass's own,
     * read before zeroGrad.
     */
    @Test
    void zeroGradHandsTheLeafGradientBuffersBackToThePool() {
        List<Tensor> ws = weights();
        Tensor bias = Tensor.randn(Shape.of(N), 3).requiresGrad(true);
        Tensor x = Tensor.randn(Shape.of(4, N), 4);
        List<Tensor> ps = params(ws, bias);
        long leafBlocks = 0;
        for (Tensor p : ps) leafBlocks += MemoryPool.sizeClassBytes(p.shape().numel() * 4);
        MemoryPool pool = MemoryPool.host();
        for (boolean scoped : new boolean[] {true, false}) {
            List<float[]> first = new ArrayList<>();
            for (int pass = 0; pass < 2; pass++) {
                long base = settledBytesInUse(pool);
                if (scoped) {
                    try (var scope = MemoryScope.open()) {
                        loss(ws, bias, x).backward();
                    }
                } else loss(ws, bias, x).backward();
                assertEquals(base + leafBlocks, pool.stats().bytesInUse(), "scoped " + scoped + ": the leaves' blocks");
                for (int i = 0; i < ps.size(); i++) {
                    float[] g = ps.get(i).grad().toFloatArray();
                    if (pass == 0) first.add(g);
                    else assertArrayEquals(first.get(i), g, "leaf " + i + ": the first pass's bits");
                }
                Tensor dropped = ps.get(0).grad();
                for (Tensor p : ps) p.zeroGrad();
                assertEquals(base, pool.stats().bytesInUse(), "scoped " + scoped + ": zeroGrad returned them");
                assertNull(ps.get(0).grad());
                assertThrows(IllegalStateException.class, dropped::toFloatArray, "a dropped gradient read");
            }
        }
    }

    @Test
    void releaseAndPromoteMoveOwnershipWithoutCopies() {
        MemoryPool pool = MemoryPool.host();
        try (var outer = MemoryScope.open()) {
            Tensor promoted;
            Tensor unowned = Tensor.ones(8);
            try (var inner = MemoryScope.open()) {
                promoted = Tensor.ones(1000);
                assertSame(promoted, inner.promote(promoted));
                assertSame(outer, promoted.storage().owner());
                assertEquals(0, inner.release(unowned), "a scope releases only what it owns");
            }
            assertEquals(1000f, promoted.sum().item(), "a promoted tensor outlives the inner scope");
            long before = settledBytesInUse(pool);
            Tensor view = promoted.reshape(10, 100);
            assertEquals(4000, outer.release(promoted));
            assertEquals(before - MemoryPool.sizeClassBytes(4000), pool.stats().bytesInUse());
            assertThrows(IllegalStateException.class, view::sum, "a view of released memory is dead");
            assertEquals(0, outer.release(promoted), "a second release does nothing");
        }
        try (var only = MemoryScope.open()) {
            Tensor t = Tensor.ones(4);
            var e = assertThrows(IllegalStateException.class, () -> only.promote(t));
            assertTrue(e.getMessage().contains("no enclosing scope"), e.getMessage());
        }
    }

    @Test
    void needsAnOpenScope() {
        Tensor w = Tensor.ones(3).requiresGrad(true);
        Tensor l = w.sum();
        var e = assertThrows(
                IllegalStateException.class,
                () -> Autograd.backwardReleasing(l, Tensor.onesLike(l), (leaf, g) -> {}, true));
        assertTrue(e.getMessage().contains("MemoryScope"), e.getMessage());
    }
}
