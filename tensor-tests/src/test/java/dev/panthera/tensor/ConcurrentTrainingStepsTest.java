package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import net.jqwik.api.Example;

/**
 * Several threads running forward and backward on one small network whose weights they share read-only: each
 * thread's loss and gradients (collected through a leaf hook, so the shared weights' .grad is never written) equal,
 * bit for bit, what the same input gives on one thread. The computation is deterministic, so any difference is
 * shared state leaking between threads (a graph, a buffer, a scope), not rounding.
 */
class ConcurrentTrainingStepsTest {
    private static final int THREADS = 4, INPUTS = 16, ROUNDS = 5;

    private record Result(double loss, double[][] grads) {}

    private static Result step(Tensor[] weights, Tensor x, Tensor target) {
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor h = x.layerNorm(weights[3], null, 1e-5).matmul(weights[0]).gelu();
            Tensor logits = h.matmul(weights[1]).add(weights[2]);
            Tensor loss = logits.logSoftmax(-1).gather(1, target).neg().mean();
            Map<Tensor, double[]> grads = new IdentityHashMap<>();
            Autograd.backward(loss, Tensor.full(DType.F32, 1.0), (leaf, g) -> grads.put(leaf, g.toDoubleArray()));
            double[][] out = new double[weights.length][];
            for (int k = 0; k < weights.length; k++) out[k] = grads.get(weights[k]);
            return new Result(loss.item(), out);
        }
    }

    @Example
    void threadsSharingWeightsGetTheSingleThreadResults() throws Exception {
        Random r = new Random(11);
        long din = 24, hidden = 40, classes = 10, batch = 8;
        Tensor[] weights = {
            Seeded.normal(r, new long[] {din, hidden}, DType.F32).requiresGrad(true),
            Seeded.normal(r, new long[] {hidden, classes}, DType.F32).requiresGrad(true),
            Seeded.normal(r, new long[] {classes}, DType.F32).requiresGrad(true),
            Seeded.normal(r, new long[] {din}, DType.F32).requiresGrad(true)
        };
        List<Tensor> xs = new ArrayList<>(), ts = new ArrayList<>();
        for (int i = 0; i < INPUTS; i++) {
            xs.add(Seeded.normal(r, new long[] {batch, din}, DType.F32));
            long[] t = new long[(int) batch];
            for (int j = 0; j < t.length; j++) t[j] = r.nextInt((int) classes);
            ts.add(Tensor.of(t, batch, 1));
        }
        Result[] single = new Result[INPUTS];
        for (int i = 0; i < INPUTS; i++) {
            single[i] = step(weights, xs.get(i), ts.get(i));
            for (int w = 0; w < weights.length; w++) {
                double[] g = single[i].grads()[w];
                assertEquals(weights[w].numel(), g.length, "weight " + w + " got a gradient");
                assertTrue(java.util.Arrays.stream(g).anyMatch(v -> v != 0), "weight " + w + " gradient is not 0");
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            for (int round = 0; round < ROUNDS; round++) {
                List<Future<Result>> futures = new ArrayList<>();
                for (int i = 0; i < INPUTS; i++) {
                    int k = (i * 7 + round) % INPUTS; // a different interleaving each round
                    futures.add(pool.submit(() -> step(weights, xs.get(k), ts.get(k))));
                }
                for (int i = 0; i < INPUTS; i++) {
                    int k = (i * 7 + round) % INPUTS;
                    Result got = futures.get(i).get();
                    assertEquals(single[k].loss(), got.loss(), 0.0, "loss of input " + k + ", round " + round);
                    for (int w = 0; w < weights.length; w++)
                        assertArrayEquals(single[k].grads()[w], got.grads()[w], 0.0, "grad " + w + " of input " + k);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        for (Tensor w : weights) assertEquals(null, w.grad(), "the hook kept the shared weights' .grad untouched");
    }
}
