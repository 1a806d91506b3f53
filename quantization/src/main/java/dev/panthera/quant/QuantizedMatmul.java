package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.FilledSgemm;
import dev.panthera.simd.GemmConfig;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.VectorSpecies;

/**
 * y = x · Wᵀ for an F32 activation x [..., in] and a {@link QuantizedWeight} W [out, in] that stays quantized: the
 * weight is never expanded to an F32 matrix.
 *
 * <ul>
 *   <li>Fewer than {@value #DOTS_BELOW_M} activation rows (decode): rows of every GGML block type are dotted block by
 *       block from their bytes, each weight row against every activation row while it is in L1. With
 *       {@link #matmulInt8Activations} (or {@code panthera.quant.decodeActivations=int8}, see {@link #intByDefault})
 *       one row with a Q8_0, Q4_0, Q4_K (or Q6_K) weight is first quantized to 8 bits as llama.cpp does
 *       ({@link Q8Activation}) and the dots are integer ones ({@link IntDot}); by default, and always for more rows,
 *       the other types and
 *       {@link #matmulF32Activations}, dot the F32 activation ({@link GgmlDot} for Q8_0 and Q4_0, {@link BlockDot}
 *       for Q4_1, Q5_0 and Q5_1, {@link KQuantDot} for the K-quants).
 *   <li>More rows (prefill), and F32/F16/BF16 weights: SGEMM's packed micro-kernel over blocks of Wᵀ decoded straight
 *       into its slivers ({@link #panels}, {@link FilledSgemm}), so each weight is unpacked once per call, not once
 *       per token, and no F32 copy of the whole matrix exists.
 * </ul>
 *
 * Large products split the output rows over GEMM's threads ({@link Sgemm#parallelRanges}: the thread count of the
 * current {@code GemmConfig} or {@link Sgemm#setThreads}, as for an F32 matmul), when the weight's memory may be read
 * from other threads (a shared, global or automatic arena; a confined arena's weight runs on the calling thread).
 */
public final class QuantizedMatmul {
    private QuantizedMatmul() {}

    /** Ranges of output rows handed to threads are multiples of this. */
    static final int TILE = 8;

    /** Stands for "some other thread" when asking whether a segment is confined to its owner. */
    private static final Thread OTHER = Thread.ofVirtual().unstarted(() -> {});

    /** y [..., out] = x [..., in] · Wᵀ, in F32 (x is read as F32 whatever its dtype). */
    public static Tensor matmul(Tensor x, QuantizedWeight w) {
        long[] dims = x.dims();
        if (dims.length == 0 || dims[dims.length - 1] != w.in()) {
            throw new IllegalArgumentException("QuantizedMatmul.matmul: x " + x.shape() + " times " + w.name() + " "
                    + w.type() + " [" + w.out() + ", " + w.in() + "]ᵀ: the last dim of x must be " + w.in());
        }
        long m = 1; // rows of x: the product of its leading dims (an empty x has none)
        for (int i = 0; i < dims.length - 1; i++) m *= dims[i];
        float[] xa = x.toFloatArray();
        float[] y = new float[Math.toIntExact(Math.multiplyExact(m, w.out()))];
        matmul(QuantLanes.F, xa, Math.toIntExact(m), w, y);
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = w.out();
        return Tensor.of(y, outDims);
    }

    /** y[m·out + n] = Σ_k x[m·in + k]·W[n, k], row-major arrays. */
    public static void matmul(float[] x, int m, QuantizedWeight w, float[] y) {
        matmul(QuantLanes.F, x, m, w, y, Activations.DEFAULT);
    }

    /**
     * As {@link #matmul(float[], int, QuantizedWeight, float[])}, but the decode dots read the F32 activation of every
     * type instead of quantizing it to 8 bits first.
     */
    public static void matmulF32Activations(float[] x, int m, QuantizedWeight w, float[] y) {
        matmul(QuantLanes.F, x, m, w, y, Activations.F32);
    }

    /**
     * As {@link #matmul(float[], int, QuantizedWeight, float[])}, but one activation row with a Q8_0, Q4_0, Q4_K or
     * Q6_K weight always takes the integer dots over its 8-bit quantization ({@link Q8Activation}, {@link IntDot}), as
     * llama.cpp computes it; other products as {@code matmul}.
     */
    public static void matmulInt8Activations(float[] x, int m, QuantizedWeight w, float[] y) {
        matmul(QuantLanes.F, x, m, w, y, Activations.INT8);
    }

    static void matmul(VectorSpecies<Float> fs, float[] x, int m, QuantizedWeight w, float[] y) {
        matmul(fs, x, m, w, y, Activations.DEFAULT);
    }

    /**
     * Which decode dots a product takes: DEFAULT as {@link #intByDefault} says, F32 the float dots, INT8 the integer
     * ones wherever {@link IntDot} has a kernel.
     */
    enum Activations {
        DEFAULT,
        F32,
        INT8
    }

    /**
     * {@code panthera.quant.decodeActivations}: {@code auto} (the default) quantizes the activation to 8 bits, as
     * llama.cpp does, for one-row products over a regrouped Q8_0, Q4_0, Q4_K, Q5_K or Q6_K weight on a machine with
     * 512-bit vectors ({@link InterleavedMatmul}'s 16-bit kernels, the fastest decode of those types there) and keeps
     * the float dots for everything else; {@code f32} keeps the float dots everywhere; {@code int8} also makes one-row
     * products of Q8_0, Q4_0 and Q4_K weights in their row-major blocks take the integer dots ({@link IntDot}; those
     * weights are then not regrouped). The integer paths round the activation to 8 bits, so they give llama.cpp's
     * numbers rather than the dequantized weights' float product; their speed beside the float dots is in BENCHMARKS.md
     * ("Integer activations", "16-bit 4-bit decodes").
     */
    static final String DECODE_ACTIVATIONS = decodeActivations();

    static final boolean INT8_BY_DEFAULT = DECODE_ACTIVATIONS.equals("int8");

    private static String decodeActivations() {
        String v =
                System.getProperty("panthera.quant.decodeActivations", "auto").strip();
        return switch (v) {
            case "auto", "" -> "auto";
            case "f32", "int8" -> v;
            default ->
                throw new IllegalArgumentException(
                        "panthera.quant.decodeActivations: expected auto, f32 or int8, got '" + v + "'");
        };
    }

    /**
     * Whether a one-row (decode) product of a {@link QuantizedLinear} over {@code t} blocks, as this JVM is set ({@code
     * panthera.quant.decodeActivations}), rounds its activation to 8 bits as llama.cpp does rather than multiplying the
     * F32 activation: Q8_0, Q4_0, Q4_K, Q5_K and Q6_K at 512-bit vectors unless {@code f32}, and Q8_0, Q4_0 and Q4_K
     * with {@code int8} at any width. (A Q8_0, Q4_0, Q4_K, Q5_K or Q6_K weight the layer could not regroup, see {@link
     * QuantizedLinear#of(QuantizedWeight, Tensor)}, keeps the float dots under {@code auto}.)
     */
    public static boolean decodeQuantizesActivations(GgmlType t) {
        return groupedInt(t, 1) || intByDefault(t);
    }

    /**
     * Whether a product of m rows over a regrouped weight of type {@code t} quantizes its activation rows to 8 bits and
     * takes the 16-bit group kernels ({@link InterleavedIntDot#q8_0Int}, {@link InterleavedIntDot#q4_0Int}, {@link
     * InterleavedKIntDot#q4KInt}, {@link InterleavedKIntDot#q5KInt}, {@link InterleavedKIntDot#q6KInt} and their
     * several-row forms, which give each row the one-row kernel's bits): fewer than {@link #DOTS_BELOW_M} rows (a
     * decode step, or a batch's) of Q8_0, Q4_0, Q4_K, Q5_K or Q6_K at 512-bit vectors ({@link
     * InterleavedIntDot#INT_KERNELS}: AVX-512 machines), unless {@code panthera.quant.decodeActivations=f32}.
     */
    static boolean groupedInt(GgmlType t, int m) {
        return m >= 1
                && m < DOTS_BELOW_M
                && (t == GgmlType.Q8_0
                        || t == GgmlType.Q4_0
                        || t == GgmlType.Q4_K
                        || t == GgmlType.Q5_K
                        || t == GgmlType.Q6_K)
                && InterleavedIntDot.INT_KERNELS
                && !DECODE_ACTIVATIONS.equals("f32");
    }

    /**
     * The types whose one-row product takes the integer dots by default: Q8_0, Q4_0 and Q4_K when
     * {@code panthera.quant.decodeActivations=int8}, none otherwise. Q6_K's integer dot needs a second int multiply
     * per 16 weights for its sub-block scale and measured slower than its float dot, so it is never a default.
     */
    static boolean intByDefault(GgmlType t) {
        return INT8_BY_DEFAULT && (t == GgmlType.Q8_0 || t == GgmlType.Q4_0 || t == GgmlType.Q4_K);
    }

    /**
     * Whether a product of m rows at species {@code fs} over row-major blocks takes the integer dots ({@link IntDot}):
     * one row (decode) of a type that has an integer kernel, at the kernels' own width (other widths, in tests, dot
     * F32 activations), and chosen by {@code mode}. Two to seven rows over row-major blocks keep the float dots (this
     * path has been measured for decode only); over regrouped Q8_0, Q4_0, Q4_K, Q5_K and Q6_K weights they take
     * {@link #groupedInt}.
     */
    static boolean intActivations(VectorSpecies<Float> fs, GgmlType t, int m, Activations mode) {
        if (m != 1 || fs != QuantLanes.F || activationBlock(t) == 0) return false;
        return mode == Activations.INT8 || (mode == Activations.DEFAULT && intByDefault(t));
    }

    /** The activation block form {@code t}'s integer dot takes: 32 (Q8_0), 256 (Q8_K), or 0 for none. */
    static int activationBlock(GgmlType t) {
        return switch (t) {
            case Q8_0, Q4_0 -> 32;
            case Q4_K, Q6_K -> 256;
            default -> 0;
        };
    }

    static void matmul(VectorSpecies<Float> fs, float[] x, int m, QuantizedWeight w, float[] y, Activations mode) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in());
        checkSizes(x, m, y, w.name(), n, k);
        if (m == 0 || n == 0) return;
        if (intActivations(fs, w.type(), m, mode)) {
            Q8Activation[] acts = new Q8Activation[m];
            for (int i = 0; i < m; i++) {
                acts[i] = activationBlock(w.type()) == 32
                        ? Q8Activation.q8_0(x, i * k, k)
                        : Q8Activation.q8K(x, i * k, k);
            }
            if (!w.blocks().isAccessibleBy(OTHER)) intDots(acts, w, y, 0, n);
            else Sgemm.parallelRanges(n, 2L * m * n * k, TILE, (from, to) -> intDots(acts, w, y, from, to));
            return;
        }
        boolean confined = !w.blocks().isAccessibleBy(OTHER); // a confined weight is read on its owner thread only
        if (m >= DOTS_BELOW_M || !hasDot(w.type())) {
            if (!confined) panels(x, m, w, y);
            else {
                try (var one = GemmConfig.of(1).use()) {
                    panels(x, m, w, y);
                }
            }
            return;
        }
        float[] xs = needsGroupSums(w.type()) ? groupSums(x, m, k) : null;
        if (confined) {
            dots(fs, x, xs, m, w, y, 0, n);
            return;
        }
        // output rows split over GEMM's threads as the F32 GEMV is (GemmConfig / Sgemm.setThreads), in whole tiles
        Sgemm.parallelRanges(n, 2L * m * n * k, TILE, (from, to) -> dots(fs, x, xs, m, w, y, from, to));
    }

    /** Rejects arrays too short for m rows of k inputs times the [n, k] weight {@code name}. */
    static void checkSizes(float[] x, int m, float[] y, String name, int n, int k) {
        if (x.length < (long) m * k || y.length < (long) m * n) {
            throw new IllegalArgumentException("QuantizedMatmul.matmul: " + m + " rows of " + k + " times " + name
                    + " [" + n + ", " + k + "]ᵀ need " + (long) m * k + " inputs (have " + x.length + ") and "
                    + (long) m * n + " outputs (have " + y.length + ")");
        }
    }

    /** The 32-element sums of each of the m activation rows, row after row. */
    static float[] groupSums(float[] x, int m, int k) {
        float[] xs = new float[m * (k / 32)];
        for (int i = 0; i < m; i++) System.arraycopy(KQuantDot.groupSums(x, i * k, k), 0, xs, i * (k / 32), k / 32);
        return xs;
    }

    /** Whether one activation row runs through a block-dot kernel that reads {@code t}'s blocks in place. */
    static boolean hasDot(GgmlType t) {
        return switch (t) {
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K -> true;
            default -> false;
        };
    }

    /** Whether {@code t}'s dot needs the activation's 32-element sums (the formats with a min). */
    private static boolean needsGroupSums(GgmlType t) {
        return t == GgmlType.Q4_1 || t == GgmlType.Q5_1 || t == GgmlType.Q4_K || t == GgmlType.Q5_K;
    }

    /** Activation rows below which the block dots beat a dequantized panel through SGEMM (measured, see BENCHMARKS.md). */
    static final int DOTS_BELOW_M = 8;

    /**
     * Output columns [from, to) of every activation row (fewer than {@value #DOTS_BELOW_M}) by the block-dot kernels:
     * each weight row is dotted with every activation row while it is in L1, so the weight streams from memory once.
     * {@code xs} holds the activation rows' 32-element sums for the formats with a min, else null.
     */
    static void dots(
            VectorSpecies<Float> fs, float[] x, float[] xs, int m, QuantizedWeight w, float[] y, int from, int to) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in()), g = k / 32;
        long rb = w.rowBytes();
        MemorySegment seg = w.blocks();
        RowDot dot = rowDot(fs, w.type());
        for (int r = from; r < to; r++) {
            long ro = r * rb;
            for (int i = 0; i < m; i++) y[i * n + r] = dot.dot(seg, ro, x, i * k, xs, i * g, k);
        }
    }

    /**
     * One activation row (from {@code xo}, with its 32-element sums from {@code so} in {@code xs} for the formats
     * with a min) dotted with the weight row at byte {@code ro} of {@code seg}.
     */
    @FunctionalInterface
    private interface RowDot {
        float dot(MemorySegment seg, long ro, float[] x, int xo, float[] xs, int so, int k);
    }

    /**
     * The dot for {@code t}, as a function of its own rather than a case of a switch inside the row loop. With every
     * format's dot inlined into one loop, C2 reached its node limit (NodeCountInliningCutoff) before it had inlined
     * the lane sum at the end of a row, which then ran out of line on a vector boxed on the heap; apart, each dot is
     * compiled with its lane sum inline. Q8_0 and Q4_0 also run at a species other than the preferred one (tests);
     * the others always run at QuantLanes.F, whose width tests set with panthera.simd.bits.
     */
    private static RowDot rowDot(VectorSpecies<Float> fs, GgmlType t) {
        return switch (t) {
            case Q8_0 -> (seg, ro, x, xo, xs, so, k) -> GgmlDot.dotQ8_0(fs, seg, ro, x, xo, k);
            case Q4_0 -> (seg, ro, x, xo, xs, so, k) -> GgmlDot.dotQ4_0(fs, seg, ro, x, xo, k);
            case Q4_1 -> BlockDot::q4_1;
            case Q5_0 -> (seg, ro, x, xo, xs, so, k) -> BlockDot.q5_0(seg, ro, x, xo, k);
            case Q5_1 -> BlockDot::q5_1;
            case Q4_K -> KQuantDot::q4K;
            case Q5_K -> KQuantDot::q5K;
            case Q6_K -> (seg, ro, x, xo, xs, so, k) -> KQuantDot.q6K(seg, ro, x, xo, k);
            case Q8_K -> (seg, ro, x, xo, xs, so, k) -> KQuantDot.q8K(seg, ro, x, xo, k);
            default -> throw new IllegalArgumentException("QuantizedMatmul.dots: no block dot for " + t);
        };
    }

    /** Output columns [from, to) of every activation row by the integer dots of {@link IntDot}. */
    private static void intDots(Q8Activation[] acts, QuantizedWeight w, float[] y, int from, int to) {
        int n = Math.toIntExact(w.out());
        GgmlType t = w.type();
        long rb = w.rowBytes();
        MemorySegment seg = w.blocks();
        for (int r = from; r < to; r++) {
            long ro = r * rb;
            for (int i = 0; i < acts.length; i++) {
                Q8Activation a = acts[i];
                y[i * n + r] = switch (t) {
                    case Q8_0 -> IntDot.q8_0(seg, ro, a);
                    case Q4_0 -> IntDot.q4_0(seg, ro, a);
                    case Q4_K -> IntDot.q4K(seg, ro, a);
                    default -> IntDot.q6K(seg, ro, a);
                };
            }
        }
    }

    /**
     * y = x·Wᵀ for m rows through {@link FilledSgemm}: each block of Wᵀ the micro-kernel reads is decoded row by row,
     * a weight row's depth range into a line of floats and the line into its sliver column, so each weight is decoded
     * once per product and no decoded panel, SGEMM packing copy or per-call native buffer exists. The floats are the
     * decoders' (the Vector API ones for Q4_K, Q6_K, Q8_0 and Q4_0, the scalar one for the other types), which equal
     * the scalar decoder's.
     */
    static void panels(float[] x, int m, QuantizedWeight w, float[] y) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in());
        RowDecoder decoder = rowDecoder(w.type());
        FilledSgemm.gemm(x, m, k, n, (pc, kc, jc, nc, out) -> fill(w, decoder, pc, kc, jc, nc, out), y, TILE);
    }

    /** Wᵀ[pc .. pc + kc, jc .. jc + nc) into {@code out} in {@link FilledSgemm.Panels#fill}'s sliver layout. */
    static void fill(QuantizedWeight w, RowDecoder decoder, int pc, int kc, int jc, int nc, float[] out) {
        int s = FilledSgemm.SLIVER;
        float[] line = new float[kc];
        MemorySegment seg = w.blocks();
        long rb = w.rowBytes(), skip = w.type().bytesFor(pc);
        for (int j = 0; j < nc; j++) {
            decoder.decode(seg, (jc + j) * rb + skip, kc, line);
            for (int p = 0, o = j / s * s * kc + j % s; p < kc; p++, o += s) out[o] = line[p];
        }
    }

    /** Decodes the kc weights (whole blocks) at byte {@code at} of {@code seg} into {@code line} as floats. */
    @FunctionalInterface
    interface RowDecoder {
        void decode(MemorySegment seg, long at, int kc, float[] line);
    }

    /**
     * The decoder of {@code t}: Q4_K, Q6_K, Q8_0 and Q4_0 (the types of llama.cpp's Q4_K_M, Q8_0 and Q4_0 files) by
     * Vector API decoders that give the scalar decoder's floats, the other types by the scalar decoder. A function
     * per type rather than a switch in the row loop: with every decoder inlined into one loop, the compilation could
     * pass C2's node limit and leave vector helpers out of line. The decoders store into a float array: their vector
     * stores into a heap segment over a byte array fell back to scalar lanes in some compilations (a third of the
     * speed).
     */
    private static RowDecoder rowDecoder(GgmlType t) {
        return switch (t) {
            case Q4_K -> (seg, at, kc, line) -> KQuantDot.dequantQ4K(seg, at, kc, line, 0);
            case Q6_K -> (seg, at, kc, line) -> KQuantDot.dequantQ6K(seg, at, kc, line, 0);
            case Q8_0 -> (seg, at, kc, line) -> KQuantDot.dequantQ8_0(seg, at, kc, line, 0);
            case Q4_0 -> (seg, at, kc, line) -> KQuantDot.dequantQ4_0(seg, at, kc, line, 0);
            default ->
                (seg, at, kc, line) ->
                        GgmlQuants.dequantize(t, seg.asSlice(at, t.bytesFor(kc)), MemorySegment.ofArray(line), kc);
        };
    }

    /**
     * The scalar reference: each weight row dequantized by the scalar block decoder, then a left-to-right float sum
     * of products.
     */
    public static void reference(float[] x, int m, QuantizedWeight w, float[] y) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in());
        float[] row = new float[k];
        for (int r = 0; r < n; r++) {
            w.dequantizeRow(r, row, 0);
            for (int i = 0; i < m; i++) {
                float s = 0;
                for (int j = 0; j < k; j++) s += x[i * k + j] * row[j];
                y[i * n + r] = s;
            }
        }
    }
}
