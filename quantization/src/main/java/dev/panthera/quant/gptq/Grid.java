package dev.panthera.quant.gptq;

/**
 * The uniform grid of one (row, group) as GPTQ's reference quantizer defines it: over the group's values the range
 * [min(min x, 0), max(max x, 0)]; symmetric grids take ±max|x| when the minimum is negative; an all-zero range
 * becomes [−1, 1]. scale = (max − min) / maxq, rounded to float16 here because the checkpoint stores it so (the
 * quantizer then works with exactly the scale the checkpoint reproduces); zero = 2^(bits−1) when symmetric, else
 * round(−min / scale). A value quantizes to q = clamp(round(x / scale) + zero, 0, maxq), rounding half to even, and
 * dequantizes to scale · (q − zero).
 */
record Grid(double scale, int zero, int maxQ) {

    /** The grid of the values {@code w[from + k·stride]}, k < count, skipping those with {@code skip[...]} set. */
    static Grid of(String name, double[] w, int from, int stride, int count, boolean[] skip, GptqConfig c) {
        double min = 0, max = 0;
        for (int k = 0; k < count; k++) {
            int i = from + k * stride;
            if (skip != null && skip[i]) continue;
            min = Math.min(min, w[i]);
            max = Math.max(max, w[i]);
        }
        int maxQ = c.maxQ();
        if (c.sym()) {
            max = Math.max(-min, max);
            if (min < 0) min = -max;
        }
        if (min == 0 && max == 0) {
            min = -1;
            max = 1;
        }
        double s = (max - min) / maxQ;
        float half = Float.float16ToFloat(Float.floatToFloat16((float) s));
        if (!(half > 0) || Float.isInfinite(half))
            throw new IllegalArgumentException("GPTQ " + name + ": a group's scale " + s
                    + " is not representable in float16 (weights from " + min + " to " + max + ")");
        int zero = c.sym() ? (maxQ + 1) / 2 : (int) Math.max(0, Math.min(maxQ, Math.rint(-min / half)));
        return new Grid(half, zero, maxQ);
    }

    int quantize(double x) {
        return (int) Math.max(0, Math.min(maxQ, Math.rint(x / scale) + zero));
    }

    double dequantize(int q) {
        return scale * (q - zero);
    }
}
