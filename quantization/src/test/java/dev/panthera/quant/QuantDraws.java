package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.testing.Values;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * The arbitraries the quantization properties draw their cases from, built on panthera-testing's {@link Values}: float
 * arrays of N(0, 1) values, GGML weight blocks as raw bytes with drawn scales, activation-like values with planted
 * ties. Everything is drawn by jqwik, so a failure replays from jqwik's seed and shrinks: bytes toward 0, values
 * toward 0, choices toward the first listed.
 */
final class QuantDraws {
    private QuantDraws() {}

    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LEF = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** {@code n} N(0, 1) floats (six decimals, in [-6, 6]), each shrinking toward 0. */
    static Arbitrary<float[]> normals(int n) {
        return Values.normal().list().ofSize(n).map(QuantDraws::floats);
    }

    /** {@code n} N(0, 1) floats times {@code scale}. */
    static Arbitrary<float[]> normals(int n, float scale) {
        return Values.normal().map(v -> v * scale).list().ofSize(n).map(QuantDraws::floats);
    }

    /** {@code n} values z·exp(z') (z, z' N(0, 1)): magnitudes over several orders, shrinking toward 0. */
    static Arbitrary<float[]> wideNormals(int n) {
        Arbitrary<List<Double>> z = Values.normal().list().ofSize(n);
        return Combinators.combine(z, z).as((a, e) -> {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) (a.get(i) * Math.exp(e.get(i)));
            return x;
        });
    }

    /** 1 three times in four, else 1000 (activations far from 1); shrinks toward 1. */
    static Arbitrary<Float> activationScales() {
        return Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(1f)), Tuple.of(1, Arbitraries.just(1000f)));
    }

    /**
     * An fp16-exact block scale: mostly N(0, 1)·0.1 rounded to fp16, one in eight each 0, the smallest fp16 subnormal
     * (2^-24) and ±65504 (the largest finite), so sub-block products far from 1 and exact zeros are covered. Shrinks
     * toward a small normal scale.
     */
    static Arbitrary<Float> extremeScales() {
        return Arbitraries.frequencyOf(
                Tuple.of(5, Values.normal().map(v -> fp16(v * 0.1))),
                Tuple.of(1, Arbitraries.just(0f)),
                Tuple.of(1, Arbitraries.just(0x1p-24f)),
                Tuple.of(1, Arbitraries.of(65504f, -65504f)));
    }

    /** A block scale N(0, 1)·sigma (rounded to fp16 where the block stores fp16), shrinking toward 0. */
    static Arbitrary<Float> normalScales(double sigma) {
        return Values.normal().map(v -> (float) (v * sigma));
    }

    static float fp16(double v) {
        return Float.float16ToFloat(Float.floatToFloat16((float) v));
    }

    /** How many scales {@link #patchScales} writes per block of {@code type}: the d (and m, dmin) of each format. */
    static int scalesPerBlock(GgmlType type) {
        return switch (type) {
            case Q4_1, Q5_1, Q4_K, Q5_K -> 2;
            case Q8_0, Q4_0, Q5_0, Q6_K, Q8_K -> 1;
            default -> throw new IllegalArgumentException("QuantDraws: no block scales for " + type);
        };
    }

    /**
     * Writes each block's scales over the raw bytes: fp16 d (and m or dmin) for the 32-blocks and Q4_K/Q5_K, fp16 d
     * at byte 208 for Q6_K, the float d for Q8_K; {@code scales} holds {@link #scalesPerBlock} values per block.
     */
    static void patchScales(GgmlType type, MemorySegment seg, long blocks, float[] scales) {
        int per = scalesPerBlock(type);
        for (long b = 0; b < blocks; b++) {
            long base = b * type.typeSize();
            int s = (int) (b * per);
            switch (type) {
                case Q8_0, Q4_0, Q5_0 -> seg.set(LE16, base, Float.floatToFloat16(scales[s]));
                case Q4_1, Q5_1, Q4_K, Q5_K -> {
                    seg.set(LE16, base, Float.floatToFloat16(scales[s]));
                    seg.set(LE16, base + 2, Float.floatToFloat16(scales[s + 1]));
                }
                case Q6_K -> seg.set(LE16, base + 208, Float.floatToFloat16(scales[s]));
                case Q8_K -> seg.set(LEF, base, scales[s]);
                default -> throw new AssertionError(type);
            }
        }
    }

    /**
     * The bytes of an [out, in] weight of a GGML block type: drawn bytes everywhere (every quant, every packed
     * sub-block scale) with the block scales written over them ({@link #patchScales}), so every scale is finite.
     */
    record Blocks(GgmlType type, int out, int in, byte[] raw) {
        /** The weight, in a fresh 64-byte aligned segment of {@code arena}. */
        QuantizedWeight weight(Arena arena) {
            MemorySegment seg = arena.allocate(Math.max(1, raw.length), 64);
            seg.copyFrom(MemorySegment.ofArray(raw));
            return new QuantizedWeight("w", type, out, in, seg);
        }

        /** The shape, and the non-zero bytes (offset=value) of a shrunk case, up to 48 of them. */
        @Override
        public String toString() {
            if (type == GgmlType.F32) {
                float[] w = new float[raw.length / 4];
                for (int i = 0; i < w.length; i++)
                    w[i] = MemorySegment.ofArray(raw).get(LEF, 4L * i);
                return "F32 [" + out + ", " + in + "] " + show(w);
            }
            StringBuilder sb = new StringBuilder(type + " [" + out + ", " + in + "] " + raw.length + " bytes");
            int nonZero = 0;
            for (byte b : raw) if (b != 0) nonZero++;
            sb.append(", ").append(nonZero).append(" non-zero");
            if (nonZero <= 48) {
                sb.append(":");
                for (int i = 0; i < raw.length; i++)
                    if (raw[i] != 0) sb.append(' ').append(i).append('=').append(raw[i]);
            }
            return sb.toString();
        }
    }

    /** The blocks of an [out, in] weight of {@code type} (in a multiple of its block size), scales from {@code scales}. */
    static Arbitrary<Blocks> blocks(GgmlType type, int out, int in, Arbitrary<Float> scales) {
        long blocks = (long) out * in / type.blockSize();
        int bytes = Math.toIntExact(type.bytesFor((long) out * in));
        Arbitrary<byte[]> raw = Arbitraries.bytes().array(byte[].class).ofSize(bytes);
        Arbitrary<float[]> s = scales.list()
                .ofSize(Math.toIntExact(blocks * scalesPerBlock(type)))
                .map(QuantDraws::floats);
        return Combinators.combine(raw, s).as((r, sc) -> {
            byte[] copy = r.clone();
            patchScales(type, MemorySegment.ofArray(copy), blocks, sc);
            return new Blocks(type, out, in, copy);
        });
    }

    /**
     * The F32 "blocks" of an [out, in] weight: N(0, 1) values stored as ggml stores F32 (little-endian floats), through
     * ggml's reference quantizer as {@link QuantizedWeight#quantize} does.
     */
    static Arbitrary<Blocks> f32Blocks(int out, int in) {
        return normals(out * in).map(w -> new Blocks(GgmlType.F32, out, in, GgmlQuants.quantize(GgmlType.F32, w)));
    }

    /** How a 32-value block of {@link #activations} is drawn: as drawn, all zero, or with ties planted. */
    private enum Plan {
        KEEP,
        ZERO,
        TIES
    }

    /** One block's plan with its tie values (v/2, v in [-127, 127]), and where ±127 goes. */
    private record BlockPlan(Plan plan, int[] halves, int at, boolean negative) {}

    private static Arbitrary<BlockPlan> blockPlans() {
        return Combinators.combine(
                        Arbitraries.frequencyOf(
                                Tuple.of(2, Arbitraries.just(Plan.KEEP)),
                                Tuple.of(1, Arbitraries.just(Plan.ZERO)),
                                Tuple.of(1, Arbitraries.just(Plan.TIES))),
                        Arbitraries.integers()
                                .between(-127, 127)
                                .array(int[].class)
                                .ofSize(32),
                        Arbitraries.integers().between(0, 31),
                        Arbitraries.of(false, true))
                .as(BlockPlan::new);
    }

    /**
     * Activation-like values: z·exp(z') (Gaussians of varying scale), and each whole 32-value block from the start
     * one time in four all zero, one time in four with exact ties planted for the 8-bit quantizers: halves v/2 with
     * one ±127, so amax = 127 and x·127/amax = x, and the half-integers are ties. Shrinks toward blocks as drawn and
     * values toward 0.
     */
    static Arbitrary<float[]> activations(int n) {
        return Combinators.combine(wideNormals(n), blockPlans().list().ofSize(n / 32))
                .as((x, plans) -> {
                    for (int b = 0; b < plans.size(); b++) {
                        BlockPlan p = plans.get(b);
                        int o = 32 * b;
                        switch (p.plan()) {
                            case KEEP -> {}
                            case ZERO -> Arrays.fill(x, o, o + 32, 0f);
                            case TIES -> {
                                for (int j = 0; j < 32; j++) x[o + j] = p.halves()[j] / 2f;
                                x[o + p.at()] = p.negative() ? -127 : 127;
                            }
                        }
                    }
                    return x;
                });
    }

    /** The values for a failure report: all of them up to 64, else the count and the first 16. */
    static String show(float[] values) {
        if (values == null) return "null";
        if (values.length <= 64) return Arrays.toString(values);
        return values.length + " values, first " + Arrays.toString(Arrays.copyOf(values, 16));
    }

    static float[] floats(List<? extends Number> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i).floatValue();
        return out;
    }
}
