package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

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

    private static final long DIN = 24, HIDDEN = 40, CLASSES = 10, BATCH = 8;

    /** One input batch: x [batch, din] and a target class per row. */
    record Input(TensorSpec x, long[] targets) {
        @Override
        public String toString() {
            return "x " + x + ", targets " + Arrays.toString(targets);
        }
    }

    /**
     * The shared weights (N(0, 1) F32), the inputs, and the order each round submits them in: a permutation of the
     * inputs per round, drawn as a list so a failing interleaving shrinks toward submission in input order.
     */
    record Run(List<TensorSpec> weights, List<Input> inputs, List<List<Integer>> schedule) {}

    @Provide
    Arbitrary<Run> runs() {
        Arbitrary<List<TensorSpec>> weights = Cases.all(List.of(
                Cases.contiguous(DType.F32, DIN, HIDDEN),
                Cases.contiguous(DType.F32, HIDDEN, CLASSES),
                Cases.contiguous(DType.F32, CLASSES),
                Cases.contiguous(DType.F32, DIN)));
        Arbitrary<Input> input = Combinators.combine(
                        Cases.contiguous(DType.F32, BATCH, DIN), Cases.indices((int) BATCH, CLASSES))
                .as(Input::new);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < INPUTS; i++) order.add(i);
        Arbitrary<List<List<Integer>>> schedule =
                Arbitraries.shuffle(order).list().ofSize(ROUNDS);
        return Combinators.combine(weights, input.list().ofSize(INPUTS), schedule)
                .as(Run::new);
    }

    @Property(tries = 3)
    void threadsSharingWeightsGetTheSingleThreadResults(@ForAll("runs") Run run) throws Exception {
        Tensor[] weights = new Tensor[run.weights().size()];
        for (int w = 0; w < weights.length; w++)
            weights[w] = run.weights().get(w).tensor().requiresGrad(true);
        List<Tensor> xs = new ArrayList<>(), ts = new ArrayList<>();
        for (Input in : run.inputs()) {
            xs.add(in.x().tensor());
            ts.add(Tensor.of(in.targets(), BATCH, 1));
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
                List<Integer> order = run.schedule().get(round); // a different interleaving each round
                for (int i = 0; i < INPUTS; i++) {
                    int k = order.get(i);
                    futures.add(pool.submit(() -> step(weights, xs.get(k), ts.get(k))));
                }
                for (int i = 0; i < INPUTS; i++) {
                    int k = order.get(i);
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
