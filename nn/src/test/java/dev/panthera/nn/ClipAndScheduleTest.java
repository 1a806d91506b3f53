package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.nn.optim.LrSchedule;
import dev.panthera.nn.optim.Optimizer;
import dev.panthera.nn.optim.Sgd;
import dev.panthera.tensor.Tensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Optimizer#clipGradNorm} against torch.nn.utils.clip_grad_norm_ and {@link LrSchedule#linear} /
 * {@link LrSchedule#cosine} against transformers' get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup
 * and get_cosine_with_min_lr_schedule_with_warmup, from {@code optim/clip_schedules.txt} (written by
 * {@code nn/src/test/python/clip_schedule_fixtures.py}; its docstring has the command and the format).
 */
class ClipAndScheduleTest {
    private static final long[][] SHAPES = {{3, 5}, {7}};

    /**
     * Both sides in float64 over 22 gradient entries: the norm is a sum of 22 non-negative terms (torch sums per
     * tensor then over the two tensor norms, we sum all terms), each order within ~22 ulp of the exact sum, then one
     * root; the clipped values are one multiplication more. 1e-13 relative is a few times that bound.
     */
    private static final double REL = 1e-13;

    /** A schedule factor is ≤ 1 and a handful of float64 roundings from either side's formula: 1e-14 absolute. */
    private static final double SCHEDULE_ABS = 1e-14;

    @Test
    void clipGradNormMatchesTorch() throws IOException {
        int cases = 0;
        for (List<String[]> c : records("clip")) {
            String[] head = c.get(0);
            String name = head[1];
            double normType = Double.parseDouble(head[2]), maxNorm = Double.parseDouble(head[3]);
            boolean raises = head[4].equals("True");
            List<Tensor> params = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Tensor p = Tensor.of(new double[SHAPES[i].length == 2 ? 15 : 7], SHAPES[i])
                        .requiresGrad(true);
                p.setGrad(Tensor.of(values(find(c, "grad", i)), SHAPES[i]));
                params.add(p);
            }
            String[] total = find(c, "total", -1);
            if (total[1].equals("raises")) {
                assertTrue(raises, name);
                var e = assertThrows(
                        IllegalStateException.class,
                        () -> Optimizer.clipGradNorm(params, maxNorm, normType, true),
                        name);
                assertTrue(e.getMessage().contains("clipGradNorm"), e.getMessage());
            } else {
                double got = Optimizer.clipGradNorm(params, maxNorm, normType, raises);
                close(Double.parseDouble(total[1]), got, name + " norm");
                for (int i = 0; i < 2; i++) {
                    double[] want = values(find(c, "clipped", i)),
                            have = params.get(i).grad().toDoubleArray();
                    for (int j = 0; j < want.length; j++) close(want[j], have[j], name + " grad " + i + "[" + j + "]");
                }
            }
            cases++;
        }
        assertEquals(11, cases, "clip cases in the fixture");
    }

    @Test
    void schedulesMatchTransformers() throws IOException {
        int cases = 0;
        for (List<String[]> c : records("schedule")) {
            String[] r = c.get(0);
            String name = r[1];
            long warmup = Long.parseLong(r[3]), total = Long.parseLong(r[4]);
            double minRatio = Double.parseDouble(r[6]);
            LrSchedule s = switch (r[2]) {
                case "linear" -> LrSchedule.linear(warmup, total);
                case "cosine" ->
                    r[5].equals("default")
                            ? (minRatio == 0
                                    ? LrSchedule.cosine(warmup, total)
                                    : LrSchedule.cosine(warmup, total, minRatio))
                            : LrSchedule.cosine(warmup, total, minRatio, Double.parseDouble(r[5]));
                default -> throw new IllegalStateException(name + ": kind " + r[2]);
            };
            double[] want = Arrays.stream(r, 8, r.length)
                    .mapToDouble(Double::parseDouble)
                    .toArray();
            assertTrue(want.length > total, name + " should record steps past num_training_steps");
            // through an optimizer, as LambdaLR drives torch's: the lr before each step, base lr 1
            Tensor x = Tensor.of(new double[1], 1).requiresGrad(true);
            Sgd opt = new Sgd(List.of(x), 1.0);
            opt.schedule(s);
            for (int step = 0; step < want.length; step++) {
                assertEquals(want[step], opt.currentLr(), SCHEDULE_ABS, name + " lr before step " + step);
                x.setGrad(Tensor.of(new double[1], 1));
                opt.step();
            }
            cases++;
        }
        assertEquals(6, cases, "schedule cases in the fixture");
    }

    @Test
    void badArgumentsAreRefused() {
        Tensor p = Tensor.of(new double[2], 2).requiresGrad(true);
        p.setGrad(Tensor.of(new double[] {1, 2}, 2));
        var e = assertThrows(IllegalArgumentException.class, () -> Optimizer.clipGradNorm(List.of(p), 1, 0, false));
        assertTrue(e.getMessage().contains("norm type"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(5, 5));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(1, 5, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.linear(-1, 5));
        assertEquals(1.0, p.grad().toDoubleArray()[0], "a refused clip leaves the gradient alone");
    }

    private static void close(double want, double got, String what) {
        if (Double.isNaN(want)) {
            assertTrue(Double.isNaN(got), what + ": want NaN, got " + got);
            return;
        }
        if (Double.isInfinite(want)) {
            assertEquals(want, got, what);
            return;
        }
        assertEquals(want, got, REL * Math.max(1, Math.abs(want)), what);
    }

    private static String[] find(List<String[]> c, String kind, int index) {
        for (String[] r : c) if (r[0].equals(kind) && (index < 0 || Integer.parseInt(r[1]) == index)) return r;
        throw new IllegalStateException(c.get(0)[1] + ": no " + kind + " " + index);
    }

    private static double[] values(String[] r) {
        return Arrays.stream(r, 2, r.length).mapToDouble(Double::parseDouble).toArray();
    }

    /** The fixture's records grouped by case: each group starts with a line whose first word is {@code kind}. */
    private static List<List<String[]>> records(String kind) throws IOException {
        var in = ClipAndScheduleTest.class.getResourceAsStream("/optim/clip_schedules.txt");
        if (in == null) throw new IllegalStateException("missing test resource /optim/clip_schedules.txt");
        List<List<String[]>> out = new ArrayList<>();
        boolean inside = false;
        try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] w = line.trim().split("\\s+");
                if (w[0].equals("clip") || w[0].equals("schedule")) {
                    inside = w[0].equals(kind);
                    if (inside) out.add(new ArrayList<>());
                }
                if (inside) out.get(out.size() - 1).add(w);
            }
        }
        return out;
    }
}
