package dev.panthera.quant.bnb;

import java.util.Arrays;

/**
 * bitsandbytes' signed 8-bit dynamic (tree) code, {@code create_dynamic_map(signed=True, max_exponent_bits=7,
 * total_bits=8)}, used for double quantization of the 4-bit formats' absmax: for exponent i = 0..6, the 2^i midpoints
 * of {@code linspace(0.1, 1, 2^i + 1)} times 10^(i-6), with both signs, plus 0 and 1, sorted (256 values).
 */
public final class DynamicMap {
    private DynamicMap() {}

    private static final float[] CODE = build();

    private static float[] build() {
        float[] v = new float[256];
        int n = 0;
        for (int i = 0; i < 7; i++) {
            float[] b = linspace(0.1f, 1f, (1 << i) + 1);
            float scale = (float) Math.pow(10, i - 6); // torch multiplies the float32 tensor by the scalar as float
            for (int k = 0; k + 1 < b.length; k++) {
                float mean = (b[k] + b[k + 1]) / 2f;
                v[n++] = scale * mean;
                v[n++] = -scale * mean;
            }
        }
        v[n++] = 0f;
        v[n++] = 1f;
        if (n != 256) throw new AssertionError("dynamic map has " + n + " values");
        Arrays.sort(v);
        return v;
    }

    /** torch.linspace in float32: start + step·i for the first half, end - step·(steps-1-i) for the second. */
    static float[] linspace(float start, float end, int steps) {
        float step = (end - start) / (steps - 1);
        float[] out = new float[steps];
        for (int i = 0; i < steps; i++) out[i] = i < steps / 2 ? start + step * i : end - step * (steps - 1 - i);
        return out;
    }

    /** Value of code {@code q} (0..255). */
    public static float value(int q) {
        return CODE[q & 0xFF];
    }

    /** The code nearest to {@code scaled} in [-1, 1]; ties go to the lower index (torch.argmin). */
    public static int nearest(float scaled) {
        int i = Arrays.binarySearch(CODE, scaled);
        if (i >= 0) {
            while (i > 0 && CODE[i - 1] == scaled) i--; // the duplicate values: first index
            return i;
        }
        int hi = -i - 1;
        if (hi == 0) return 0;
        if (hi == 256) return 255;
        return scaled - CODE[hi - 1] <= CODE[hi] - scaled ? hi - 1 : hi;
    }
}
