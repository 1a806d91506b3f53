package dev.panthera.quant;

import dev.panthera.nn.Module;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.gptq.GptqInt4;
import dev.panthera.quant.gptq.GwqInt4;
import dev.panthera.simd.FusedRows;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * y = x·Wᵀ + b over a weight that stays quantized: a drop-in for nn's {@code Linear} at inference (same input and
 * output shapes, optional bias, registered as the buffer {@code bias}), with no trainable weight. The weight is one of
 * a GGML block format ({@link QuantizedWeight}: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K, or F32/F16), int8
 * per output channel ({@link Int8Weight}, weight-only or W8A8), group-wise int4 ({@link Int4Weight}), bitsandbytes
 * NF4/FP4 ({@link Bnb4Bit}) or a 4-bit GPTQ/GWQ checkpoint's arrays ({@link GptqInt4}, {@link GwqInt4}, multiplied by
 * {@link GptqMatmul} without decoding rows). The forward pass reads the stored bytes: one activation row (decode) and
 * many (prefill) both decode at most a tile of weight rows at a time into a small scratch, never an F32 copy of the
 * matrix. No gradient flows through the weight; an input that requires grad with gradients enabled is rejected.
 */
public final class QuantizedLinear extends Module {
    /** The matrix side: y[m·out + n] = Σ_k x[m·in + k]·W[n, k] for row-major float arrays. */
    private interface Kernel {
        void matmul(float[] x, int m, float[] y);
    }

    /** Decodes weight row {@code r} into {@code dst} from {@code at}. */
    private interface RowDecoder {
        void decode(int r, float[] dst, int at);
    }

    private final String format;
    private final long in, out, weightBytes;
    private final Kernel kernel;
    private final RowDecoder rows;
    /** The registered buffer {@code bias} (state-dict loads copy into it in place), held to skip a map per call. */
    private final Tensor bias;

    private QuantizedLinear(
            String format, long out, long in, long weightBytes, Kernel kernel, RowDecoder rows, Tensor bias) {
        if (in <= 0 || out <= 0)
            throw new IllegalArgumentException(
                    "QuantizedLinear: features must be positive, got in=" + in + " out=" + out);
        if (bias != null && (bias.rank() != 1 || bias.size(0) != out))
            throw new IllegalArgumentException(
                    "QuantizedLinear " + format + ": bias " + bias.shape() + " for " + out + " output features");
        this.format = format;
        this.in = in;
        this.out = out;
        this.weightBytes = weightBytes;
        this.kernel = kernel;
        this.rows = rows;
        this.bias = bias == null
                ? null
                : registerBuffer(
                        "bias", MemoryScope.unscoped(() -> bias.to(DType.F32).contiguous()));
    }

    /** Over GGML blocks (a GGUF tensor as mapped, or {@link QuantizedWeight#quantize}); {@code bias} may be null. */
    public static QuantizedLinear of(QuantizedWeight w, Tensor bias) {
        InterleavedWeight g = REGROUP && !QuantizedMatmul.intByDefault(w.type()) ? InterleavedWeight.regroup(w) : null;
        if (g != null) {
            unloadSource(w.blocks());
            return new QuantizedLinear(
                    w.type().toString(),
                    w.out(),
                    w.in(),
                    g.data.length - InterleavedWeight.PAD,
                    grouped(g),
                    (r, dst, at) -> w.dequantizeRow(r, dst, at),
                    bias);
        }
        return new QuantizedLinear(
                w.type().toString(),
                w.out(),
                w.in(),
                w.out() * w.rowBytes(),
                (x, m, y) -> QuantizedMatmul.matmul(x, m, w, y),
                (r, dst, at) -> w.dequantizeRow(r, dst, at),
                bias);
    }

    /**
     * One layer over the rows of {@code parts} stacked in order (one GGML type, one input width): projections of the
     * same input, such as a Llama layer's q/k/v or gate/up, computed as one product, so the activations are read
     * once and GEMM's threads take one hand-off instead of one per part. The output's last dimension holds the
     * parts' outputs one after another (split it with {@code narrow}); each value is the one the part's own layer
     * gives, the kernels computing every output row alike. The stacked rows are regrouped as {@link #of} regroups
     * one weight; where that does not happen ({@link #REGROUP} off, a type without the grouped layout, a row count
     * not a multiple of 16, a non-finite scale, the budget spent) this returns null and the caller keeps one layer
     * per part. {@code bias}, when not null, covers the stacked rows.
     */
    public static QuantizedLinear stacked(java.util.List<QuantizedWeight> parts, Tensor bias) {
        if (parts.isEmpty()) throw new IllegalArgumentException("QuantizedLinear.stacked: no weights");
        QuantizedWeight first = parts.getFirst();
        long rows = 0;
        StringBuilder name = new StringBuilder();
        for (QuantizedWeight p : parts) {
            if (p.type() != first.type() || p.in() != first.in())
                throw new IllegalArgumentException("QuantizedLinear.stacked: " + p.name() + " " + p.type() + " ["
                        + p.out() + ", " + p.in() + "] does not stack under " + first.name() + " " + first.type()
                        + " [" + first.out() + ", " + first.in() + "] (one type and one input width)");
            rows = Math.addExact(rows, p.out());
            name.append(name.isEmpty() ? "" : "+").append(p.name());
        }
        if (!REGROUP || QuantizedMatmul.intByDefault(first.type())) return null;
        InterleavedWeight g = InterleavedWeight.regroup(name.toString(), parts);
        if (g == null) return null;
        for (QuantizedWeight p : parts) unloadSource(p.blocks());
        QuantizedWeight[] ws = parts.toArray(QuantizedWeight[]::new);
        long[] starts = new long[ws.length];
        for (int i = 1; i < ws.length; i++) starts[i] = starts[i - 1] + ws[i - 1].out();
        RowDecoder decoder = (r, dst, at) -> {
            int i = ws.length - 1;
            while (starts[i] > r) i--;
            ws[i].dequantizeRow(r - starts[i], dst, at);
        };
        return new QuantizedLinear(
                first.type().toString(),
                rows,
                first.in(),
                g.data.length - InterleavedWeight.PAD,
                grouped(g),
                decoder,
                bias);
    }

    /**
     * Gives the resident pages of a regrouped weight's source blocks back to the system when they are a read-only file
     * mapping (a GGUF tensor as mapped): the kernel multiplies the heap copy, and only {@link #dequantizeRow} (a tied
     * embedding's lookups, say) reads the blocks again, faulting those pages back in from the file. Without this a
     * decode holds the file's pages beside their regrouped copy for as long as the mapping lives. A writable mapping
     * keeps its pages: dropping a private mapping's pages would lose what was written to them.
     */
    private static void unloadSource(MemorySegment blocks) {
        if (blocks.isMapped() && blocks.isReadOnly()) blocks.unload();
    }

    /**
     * The kernel over a regrouped weight, made in this one place: {@link #of} and {@link #stacked} share its class, so
     * the forward's call to it stays monomorphic.
     */
    private static Kernel grouped(InterleavedWeight g) {
        return new Grouped(g);
    }

    private record Grouped(InterleavedWeight g) implements Kernel {
        @Override
        public void matmul(float[] x, int m, float[] y) {
            InterleavedMatmul.matmul(x, m, g, y);
        }
    }

    /** Whether this layer multiplies a regrouped copy of its blocks ({@link InterleavedWeight}). */
    boolean regrouped() {
        return kernel instanceof Grouped;
    }

    /**
     * {@code panthera.quant.regroup}: {@code true} (the default) copies a Q4_0, Q8_0, Q4_K or (where their 16-bit
     * kernels run) Q5_K or Q6_K weight with a multiple of 16 rows and finite block scales into {@link
     * InterleavedWeight}'s row groups on the heap when the layer is made (within {@code
     * panthera.quant.regroupBudgetBytes}, see {@link InterleavedWeight#BUDGET}), and multiplies that copy (the source
     * blocks are then read only by {@link #dequantizeRow}); {@code false} multiplies the source blocks in place. With
     * {@code panthera.quant.decodeActivations=int8} Q4_0, Q8_0 and Q4_K keep the row-major blocks, which the integer
     * dots read.
     */
    static final boolean REGROUP = regroup();

    private static boolean regroup() {
        String v = System.getProperty("panthera.quant.regroup", "true").strip();
        return switch (v) {
            case "true", "" -> true;
            case "false" -> false;
            default ->
                throw new IllegalArgumentException("panthera.quant.regroup: expected true or false, got '" + v + "'");
        };
    }

    /** Weight-only int8: activations stay float, each weight row widens to float in a scratch row. */
    public static QuantizedLinear of(Int8Weight w, Tensor bias) {
        RowDecoder d = (r, dst, at) -> {
            byte[] q = w.q();
            float s = w.scale()[r];
            int base = r * w.in();
            for (int j = 0; j < w.in(); j++) dst[at + j] = q[base + j] * s;
        };
        return new QuantizedLinear(
                "int8 per channel", w.out(), w.in(), w.q().length + 4L * w.out(), tiled(d, w.out(), w.in()), d, bias);
    }

    /**
     * W8A8: activations quantized per token to int8 at call time and multiplied with int32 accumulation
     * ({@link Int8Matmul}); SmoothQuant's execution. The first product of {@link Int8Matmul#BLOCKED_ROWS} rows or
     * more also keeps the weight's bytes in sliver order for the blocked kernel (one more byte per weight, counted in
     * {@link #weightBytes} from then on); a layer that only ever decodes does not hold them.
     */
    public static QuantizedLinear w8a8(Int8Weight w, Tensor bias) {
        RowDecoder d = (r, dst, at) -> {
            for (int j = 0; j < w.in(); j++) dst[at + j] = w.q()[r * w.in() + j] * w.scale()[r];
        };
        return new QuantizedLinear("int8 W8A8", w.out(), w.in(), w.q().length + 4L * w.out(), new W8A8(w), d, bias);
    }

    /** {@link #w8a8}'s kernel: the dot path for few rows, the blocked one over slivers made on first use. */
    private static final class W8A8 implements Kernel {
        private final Int8Weight w;
        private volatile Int8Matmul.Slivers slivers;

        W8A8(Int8Weight w) {
            this.w = w;
        }

        @Override
        public void matmul(float[] x, int m, float[] y) {
            if (m < Int8Matmul.BLOCKED_ROWS) {
                Int8Matmul.matmul(jdk.incubator.vector.IntVector.SPECIES_PREFERRED, x, m, w, y);
                return;
            }
            Int8Matmul.Slivers s = slivers;
            if (s == null) {
                synchronized (this) {
                    s = slivers;
                    if (s == null) slivers = s = Int8Matmul.Slivers.of(w);
                }
            }
            Int8Matmul.blocked(x, m, w, s, y);
        }

        long sliverBytes() {
            Int8Matmul.Slivers s = slivers;
            return s == null ? 0 : s.q().length;
        }
    }

    /** Group-wise asymmetric int4. */
    public static QuantizedLinear of(Int4Weight w, Tensor bias) {
        RowDecoder d = w::dequantizeRow;
        return new QuantizedLinear(
                "int4 g" + w.groupSize(),
                w.out(),
                w.in(),
                w.packed().length + 5L * w.scale().length,
                tiled(d, w.out(), w.in()),
                d,
                bias);
    }

    /** A bitsandbytes NF4/FP4 tensor holding the row-major [out, in] weight (blocks run across rows). */
    public static QuantizedLinear of(Bnb4Bit w, int out, int in, Tensor bias) {
        if ((long) out * in != w.n())
            throw new IllegalArgumentException("QuantizedLinear " + w.code() + ": [" + out + ", " + in + "] needs "
                    + (long) out * in + " weights, the tensor holds " + w.n());
        RowDecoder d = (r, dst, at) -> w.dequantize((long) r * in, in, dst, at);
        return new QuantizedLinear(
                w.code() + " block " + w.blockSize(), out, in, w.byteSize(), tiled(d, out, in), d, bias);
    }

    /**
     * A 4-bit GPTQ weight as transformers' checkpoint stores it (qweight / qzeros / scales / g_idx, act-order or not),
     * multiplied from those arrays by {@link GptqMatmul}.
     */
    public static QuantizedLinear of(GptqInt4 w, Tensor bias) {
        return new QuantizedLinear(
                "GPTQ int4 group " + w.groupSize(),
                w.out(),
                w.in(),
                w.byteSize(),
                (x, m, y) -> GptqMatmul.matmul(x, m, w, y),
                w::dequantizeRow,
                bias);
    }

    /** GWQ: the 4-bit GPTQ kernel, then the sparse float16 outliers (index and value, 6 bytes each). */
    public static QuantizedLinear of(GwqInt4 w, Tensor bias) {
        float[] deltas = w.deltas();
        return new QuantizedLinear(
                "GWQ int4 group " + w.dense().groupSize() + " + " + w.outlierIndex().length + " outliers",
                w.dense().out(),
                w.dense().in(),
                w.dense().byteSize() + 6L * w.outlierIndex().length,
                (x, m, y) -> GptqMatmul.matmul(x, m, w, deltas, y),
                w::dequantizeRow,
                bias);
    }

    /** Weight rows decoded together: each is decoded once per call and dotted with every activation row. */
    static final int TILE = 8;

    /** Multiply-adds below which one thread does the whole product. */
    private static final long PARALLEL_WORK = 1L << 21;

    /** A tile-decoding kernel over {@code d}, output rows split over the common pool for large products. */
    private static Kernel tiled(RowDecoder d, long outL, long inL) {
        int n = Math.toIntExact(outL), k = Math.toIntExact(inL);
        return (x, m, y) -> {
            int tiles = (n + TILE - 1) / TILE;
            boolean parallel = (long) m * n * k >= PARALLEL_WORK && tiles > 1;
            int chunks = parallel ? Math.min(tiles, Runtime.getRuntime().availableProcessors() * 4) : 1;
            IntStream range = IntStream.range(0, chunks);
            (parallel ? range.parallel() : range).forEach(c -> {
                int from = (int) ((long) tiles * c / chunks) * TILE,
                        to = Math.min(n, (int) ((long) tiles * (c + 1) / chunks) * TILE);
                float[] tile = new float[TILE * k];
                for (int r0 = from; r0 < to; r0 += TILE) {
                    int count = Math.min(TILE, to - r0);
                    for (int i = 0; i < count; i++) d.decode(r0 + i, tile, i * k);
                    for (int row = 0; row < m; row++) {
                        for (int i = 0; i < count; i++)
                            y[row * n + r0 + i] = GgmlDot.dot(QuantLanes.F, x, row * k, tile, i * k, k);
                    }
                }
            });
        };
    }

    public long inFeatures() {
        return in;
    }

    public long outFeatures() {
        return out;
    }

    /** The format's name, e.g. "Q4_K", "int8 per channel", "NF4 block 64". */
    public String format() {
        return format;
    }

    /**
     * Bytes the quantized weight occupies (blocks, scales, zero points, and copies a kernel keeps, such as W8A8's
     * slivers once made), excluding the bias.
     */
    public long weightBytes() {
        return weightBytes + (kernel instanceof W8A8 k ? k.sliverBytes() : 0);
    }

    /** The bias (F32), or null. */
    public Tensor bias() {
        return bias;
    }

    /** Weight row {@code r} decoded to floats, for tests, references and calibration. */
    public float[] dequantizeRow(int r) {
        if (r < 0 || r >= out)
            throw new IndexOutOfBoundsException("QuantizedLinear " + format + ": row " + r + " of " + out);
        float[] dst = new float[Math.toIntExact(in)];
        rows.decode(r, dst, 0);
        return dst;
    }

    /** The whole weight [out, in] decoded to floats: for tests and references, not used by {@link #forward}. */
    public Tensor dequantizedWeight() {
        int k = Math.toIntExact(in), n = Math.toIntExact(out);
        float[] w = new float[Math.multiplyExact(n, k)];
        for (int r = 0; r < n; r++) rows.decode(r, w, r * k);
        return Tensor.of(w, out, in);
    }

    /** y [..., out] = x [..., in]·Wᵀ + b in F32 (x of any float dtype, any strides). */
    @Override
    public Tensor forward(Tensor x) {
        return product(x, null, false);
    }

    /**
     * x·Wᵀ + b + residual, residual of the output's shape [..., out]: the bits of {@code forward(x).add(residual)}.
     * Without a bias and with an F32 contiguous residual on the CPU the sum is formed as the product is copied out of
     * the kernel's array, one tensor instead of two (a decode step's o_proj and down_proj add the residual stream so).
     */
    public Tensor forward(Tensor x, Tensor residual) {
        if (residual == null)
            throw new IllegalArgumentException(
                    "QuantizedLinear " + format + ": forward(x, residual) without a residual");
        long[] dims = x.rank() == 0 ? null : x.dims();
        if (dims != null) dims[dims.length - 1] = out;
        if (bias != null
                || dims == null
                || !java.util.Arrays.equals(dims, residual.dims())
                || residual.dtype() != DType.F32
                || !residual.isContiguous()
                || !Device.CPU.equals(residual.device())) return forward(x).add(residual);
        return product(x, residual, false);
    }

    /**
     * SwiGLU over a layer whose rows are a gate map over as many rows of an up map ({@link #stacked} of Llama's
     * gate_proj and up_proj): silu(x·W_gateᵀ)·(x·W_upᵀ), [..., out / 2]; the bits of {@code forward(x)} split in
     * halves, {@code silu()} of the first times the second. Without a bias the halves are combined in the kernel's
     * array before one copy out, instead of four tensors (the product, the SiLU, the gated product) per call.
     */
    public Tensor forwardSwiGlu(Tensor x) {
        if (out % 2 != 0)
            throw new IllegalArgumentException("QuantizedLinear " + format + ": SwiGLU needs an even number of rows"
                    + " (gate over up), the weight has " + out);
        if (bias != null || !FusedRows.matchTensorOps()) {
            Tensor y = forward(x);
            return y.narrow(-1, 0, out / 2).silu().mul(y.narrow(-1, out / 2, out / 2));
        }
        return product(x, null, true);
    }

    /** forward's product, then the residual added or the halves gated as the kernel's array is copied out. */
    private Tensor product(Tensor x, Tensor residual, boolean swiGlu) {
        if (x.rank() == 0 || x.size(-1) != in) {
            throw new IllegalArgumentException("QuantizedLinear: input " + x.shape() + " must end in " + in
                    + " features (" + format + " weight [" + out + ", " + in + "])");
        }
        if (x.requiresGrad() && Autograd.isGradEnabled())
            throw new IllegalArgumentException("QuantizedLinear " + format + ": input " + x.shape()
                    + " requires grad, but a quantized layer has no backward; run it under Autograd.noGrad()");
        long[] dims = x.dims();
        long m = 1;
        for (int i = 0; i < dims.length - 1; i++) m = Math.multiplyExact(m, dims[i]);
        int rows = Math.toIntExact(m), xn = Math.toIntExact(Math.multiplyExact(m, in));
        int yn = Math.toIntExact(Math.multiplyExact(m, out));
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = swiGlu ? out / 2 : out;
        Scratch s = SCRATCH.get();
        boolean mine = !s.busy; // false when a pool worker re-enters forward while waiting inside a kernel
        s.busy = true;
        try {
            float[] xa = input(x, xn, mine ? s : null);
            float[] y = mine ? s.y(yn) : new float[yn];
            if (rows > 0) kernel.matmul(xa, rows, y);
            MemorySegment ys = MemorySegment.ofArray(y);
            if (residual != null) {
                alive(residual, "forward");
                FusedRows.add(
                        ys, 0, residual.storage().segment(), residual.layout().offset(), ys, 0, yn);
            }
            if (swiGlu) {
                // row i's gated values go to y[i·h ..]: over its own gate values or over rows already done
                int h = Math.toIntExact(out / 2);
                for (int i = 0; i < rows; i++)
                    FusedRows.siluMul(ys, 2L * i * h, ys, 2L * i * h + h, ys, (long) i * h, h);
            }
            Tensor t = Tensor.of(y, 0, Shape.of(outDims));
            return bias == null ? t : t.add(bias);
        } finally {
            if (mine) s.busy = false;
        }
    }

    /** An input read straight from its memory: an exception naming it if that memory was freed, not stale values. */
    private static void alive(Tensor t, String op) {
        if (!t.storage().isAlive())
            throw new IllegalStateException(
                    "QuantizedLinear." + op + ": tensor " + t.describe() + " was used after its memory was freed");
    }

    /** x's {@code n} values as a row-major float array: the thread's scratch when {@code s} is given. */
    private static float[] input(Tensor x, int n, Scratch s) {
        if (x.dtype() != DType.F32 || !x.isContiguous() || !Device.CPU.equals(x.device()) || n == 0)
            return x.toFloatArray();
        alive(x, "forward");
        float[] a = s != null ? s.x(n) : new float[n];
        MemorySegment.copy(
                x.storage().segment(),
                ValueLayout.JAVA_FLOAT_UNALIGNED,
                x.layout().offset() * 4,
                a,
                0,
                n);
        return a;
    }

    /**
     * Input and output arrays kept per thread between calls, so that a prefill's activations (megabytes per call)
     * are not new arrays each layer: allocated fresh, they are large enough to be G1 humongous objects, and a model
     * forward's stream of them kept the collector in back-to-back concurrent cycles. Arrays above
     * {@link #SCRATCH_KEPT} floats are not kept.
     */
    private static final class Scratch {
        private float[] x = new float[0], y = new float[0];
        private boolean busy;

        float[] x(int n) {
            return n > SCRATCH_KEPT ? new float[n] : (x = atLeast(x, n));
        }

        float[] y(int n) {
            return n > SCRATCH_KEPT ? new float[n] : (y = atLeast(y, n));
        }

        private static float[] atLeast(float[] a, int n) {
            return a.length >= n ? a : new float[n];
        }
    }

    /** The most floats a thread's input or output scratch keeps between calls (32 MiB each). */
    static final int SCRATCH_KEPT = 1 << 23;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Grows this thread's scratch arrays to at least {@code floats} and fills them with {@code v}: tests check that
     * forward overwrites every value it reads back.
     */
    static void poisonScratch(int floats, float v) {
        Scratch s = SCRATCH.get();
        java.util.Arrays.fill(s.x(floats), v);
        java.util.Arrays.fill(s.y(floats), v);
    }

    @Override
    public String toString() {
        return "QuantizedLinear(" + format + ", in=" + in + ", out=" + out + (bias() == null ? "" : ", bias") + ")";
    }
}
