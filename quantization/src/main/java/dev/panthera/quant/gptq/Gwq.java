package dev.panthera.quant.gptq;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * GWQ (Shao et al., "GWQ: Gradient-Aware Weight Quantization for Large Language Models", arXiv 2411.00850): the
 * weights with the largest |∂L/∂w| of the calibration loss — the top {@code fraction} (1% in the paper) of each weight
 * — are kept in 16 bits as a sparse outlier set; the others are quantized at low bits, here with GPTQ (given a
 * Hessian) or round-to-nearest, with the outliers excluded from their groups' ranges.
 */
public final class Gwq {
    private Gwq() {}

    /**
     * The positions of the ⌈fraction · n⌉ largest |gradient| entries (ties to the lower position), as a mask over the
     * row-major weight. A NaN or infinite gradient is refused, naming the weight.
     */
    public static boolean[] salient(String name, float[] gradient, double fraction) {
        if (!(fraction >= 0 && fraction <= 1))
            throw new IllegalArgumentException("GWQ " + name + ": outlier fraction must be in [0, 1], got " + fraction);
        for (int i = 0; i < gradient.length; i++) {
            if (!Float.isFinite(gradient[i]))
                throw new IllegalArgumentException("GWQ " + name + ": gradient at " + i + " is " + gradient[i]);
        }
        int k = (int) Math.ceil(fraction * gradient.length);
        int[] order = IntStream.range(0, gradient.length)
                .boxed()
                .sorted((a, b) -> {
                    int c = Float.compare(Math.abs(gradient[b]), Math.abs(gradient[a]));
                    return c != 0 ? c : Integer.compare(a, b);
                })
                .mapToInt(Integer::intValue)
                .toArray();
        boolean[] mask = new boolean[gradient.length];
        for (int i = 0; i < k; i++) mask[order[i]] = true;
        return mask;
    }

    /**
     * Quantizes {@code w} [out, in] keeping the top {@code fraction} by |gradient| in float16; the rest with GPTQ under
     * {@code h}, or with round-to-nearest when {@code h} is null.
     */
    public static GwqWeight quantize(
            String name, float[] w, int out, int in, float[] gradient, double fraction, Hessian h, GptqConfig c) {
        if (gradient.length != w.length)
            throw new IllegalArgumentException("GWQ " + name + ": " + gradient.length + " gradients for " + w.length
                    + " weights [" + out + ", " + in + "]");
        boolean[] keep = salient(name, gradient, fraction);
        Gptq.Result r = Gptq.run(name, w, out, in, h, c, keep);
        int[] idx = IntStream.range(0, keep.length).filter(i -> keep[i]).toArray();
        return new GwqWeight(r.weight(), idx, Arrays.copyOf(r.kept(), r.kept().length));
    }
}
