package dev.panthera.quant.gptq;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * GPTQ against gptq_fixture.py, an independent float64 implementation written from the paper (column by column, no
 * lazy batches, H⁻¹ by torch.linalg.inv and its upper Cholesky factor). Both run the same float64 algorithm up to the
 * order of summation, so their weights agree to ~n·cond(H)·2^-52 (cond(H) stays below ~1e4 after 1% dampening on these
 * inputs): the integer q, the float16 scales, the zero points and g_idx must match exactly, unless a value lands within
 * that distance of a rounding boundary, which none of these fixed cases does.
 */
class GptqAgainstFloat64Test {

    record Case(
            String name,
            long seed,
            int out,
            int in,
            int n,
            GptqConfig config,
            int[] dead,
            double wSum,
            double xSum,
            int[] q,
            float[] scales,
            int[] zeros,
            int[] gIdx) {}

    static List<Case> cases() throws IOException {
        List<Case> cases = new ArrayList<>();
        try (InputStream s = GptqAgainstFloat64Test.class.getResourceAsStream("/gptq/gptq_cases.txt")) {
            assertNotNull(s, "gptq/gptq_cases.txt (generate with quantization/src/test/python/gptq_fixture.py)");
            String[] lines = new String(s.readAllBytes(), StandardCharsets.UTF_8).split("\n");
            for (int i = 0; i < lines.length; i += 6) {
                String[] h = lines[i].trim().split(" ");
                int[] dead =
                        Arrays.stream(h).skip(10).mapToInt(Integer::parseInt).toArray();
                String[] sums = lines[i + 1].split(" ");
                cases.add(new Case(
                        h[1],
                        Long.parseLong(h[2]),
                        Integer.parseInt(h[3]),
                        Integer.parseInt(h[4]),
                        Integer.parseInt(h[5]),
                        GptqConfig.of(
                                Integer.parseInt(h[6]), Integer.parseInt(h[7]), h[8].equals("1"), h[9].equals("1")),
                        dead,
                        Double.parseDouble(sums[1]),
                        Double.parseDouble(sums[2]),
                        ints(lines[i + 2]),
                        floats(lines[i + 3]),
                        ints(lines[i + 4]),
                        ints(lines[i + 5])));
            }
        }
        return cases;
    }

    private static int[] ints(String line) {
        return Arrays.stream(line.trim().split(" "))
                .skip(1)
                .mapToInt(Integer::parseInt)
                .toArray();
    }

    private static float[] floats(String line) {
        String[] p = line.trim().split(" ");
        float[] f = new float[p.length - 1];
        for (int i = 1; i < p.length; i++) f[i - 1] = (float) Double.parseDouble(p[i]);
        return f;
    }

    /** The case's weights and Hessian, regenerated with the fixture's generator (checked by its sums). */
    static Object[] data(Case c) {
        SplitMix64 rng = new SplitMix64(c.seed());
        float[] w = rng.weights(c.out(), c.in());
        float[] x = rng.correlatedInputs(c.n(), c.in());
        for (int t = 0; t < c.n(); t++) for (int d : c.dead()) x[t * c.in() + d] = 0;
        double ws = 0, xs = 0;
        for (float v : w) ws += v;
        for (float v : x) xs += v;
        // the fixture summed the same float32 values in float64 in another order: equal to a few ulps of the sum
        assertEquals(
                c.wSum(), ws, 1e-12 * c.out() * c.in(), c.name() + ": generated weights differ from the fixture's");
        assertEquals(
                c.xSum(), xs, 1e-12 * c.n() * c.in() * 4, c.name() + ": generated inputs differ from the fixture's");
        Hessian h = new Hessian(c.name(), c.in());
        // in two batches, as calibration accumulates them
        int half = c.n() / 2;
        h.add(Arrays.copyOfRange(x, 0, half * c.in()), half);
        h.add(Arrays.copyOfRange(x, half * c.in(), x.length), c.n() - half);
        return new Object[] {w, h};
    }

    @Test
    void matchesTheFloat64ReferenceForEveryCase() throws IOException {
        List<Case> cases = cases();
        assertEquals(5, cases.size());
        for (Case c : cases) {
            Object[] d = data(c);
            check(c, Gptq.quantize(c.name(), (float[]) d[0], c.out(), c.in(), (Hessian) d[1], c.config()));
        }
    }

    @Test
    void smallerLazyBlocksGiveTheSameResult() throws IOException {
        for (Case c : cases()) {
            GptqConfig k = c.config();
            int block = k.groupSize() == -1 ? 16 : k.groupSize();
            GptqConfig small = new GptqConfig(k.bits(), k.groupSize(), k.sym(), k.actOrder(), k.percDamp(), block);
            Object[] d = data(c);
            check(c, Gptq.quantize(c.name(), (float[]) d[0], c.out(), c.in(), (Hessian) d[1], small));
        }
    }

    private static void check(Case c, GptqWeight g) {
        assertArrayEquals(c.gIdx(), g.gIdx(), c.name() + " g_idx");
        assertArrayEquals(c.zeros(), g.zeros(), c.name() + " zeros");
        assertArrayEquals(c.scales(), g.scales(), c.name() + " scales");
        int[] q = new int[g.q().length];
        for (int i = 0; i < q.length; i++) q[i] = g.q()[i] & 0xFF;
        assertArrayEquals(c.q(), q, c.name() + " q");
    }
}
