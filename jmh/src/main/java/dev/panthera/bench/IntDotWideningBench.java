package dev.panthera.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The widenings the Vector API allows for an int8 × int8 dot, measured on a one-thread Q8_0 × Q8_0 GEMV over a weight
 * of about 96 MiB (as {@link QuantGemvBench}) beside the streaming read in the same fork. Every variant reads the same
 * blocks and the same 8-bit activation (kept in the form each variant reads, made once per token in real use) and
 * applies each block's scale d_w·d_a with one FMA; they differ in how the 32 products of a block are formed:
 *
 * <ul>
 *   <li>{@code int}: weight bytes to int lanes (B2I, {@code vpmovsxbd}), int multiply by the activation as ints,
 *       int adds, one int→float conversion per block;
 *   <li>{@code short}: the block's 32 weight bytes to 32 short lanes (B2S), short multiply by the activation as
 *       shorts (|q_w·q_a| ≤ 128·127 = 16256 fits), both halves to int lanes (S2I parts 0 and 1) and added;
 *   <li>{@code shortAcc}: short lanes of half the width: the two 16-byte halves of the block multiplied as shorts and
 *       added in shorts before one S2I (two products per lane, ≤ 2·16256 = 32512 ≤ 32767: the most the bound
 *       allows), halving the conversions;
 *   <li>{@code float}: weight bytes to float lanes (B2I then I2F) and FMAs with the activation's quants as floats
 *       (exact: integer sums below 2^24), the F32 kernel's form.
 * </ul>
 *
 * Species are static finals at the machine's preferred width (a species argument leaves vectors boxed).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 4, time = 2)
public class IntDotWideningBench {
    static final int K = 4096;

    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int L = F.length();
    /** L bytes: one int vector's worth (at least 64 bits). */
    private static final VectorSpecies<Byte> BI =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, 8 * L)));
    /** Shorts of the full width: 2L lanes, from 2L bytes. */
    private static final VectorSpecies<Short> S = F.withLanes(short.class);

    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(16 * L));
    /** Shorts of half the width: L lanes, from L bytes, widening to one int vector. */
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L));

    private Arena arena;
    private MemorySegment big, w;
    private int rows;
    private int[] qi;
    private short[] qs;
    private float[] qf, ad, y;
    private ForkJoinPool pool;

    @Setup(Level.Trial)
    public void setup() {
        if (L < 8) throw new IllegalStateException("IntDotWideningBench needs 256-bit vectors or wider");
        arena = Arena.ofShared();
        big = StreamingRead.allocate(arena);
        rows = (int) (QuantGemvBench.TARGET_BYTES / (34L * K / 32));
        w = QuantGemvBench.randomWeight(dev.panthera.quant.ggml.GgmlType.Q8_0, rows, K, new SplittableRandom(17), arena)
                .blocks();
        SplittableRandom r = new SplittableRandom(3);
        qi = new int[K];
        qs = new short[K];
        qf = new float[K];
        ad = new float[K / 32];
        for (int i = 0; i < K; i++) {
            int q = r.nextInt(255) - 127;
            qi[i] = q;
            qs[i] = (short) q;
            qf[i] = q;
        }
        for (int b = 0; b < K / 32; b++) ad[b] = (float) (r.nextDouble() * 0.01);
        y = new float[rows];
        pool = new ForkJoinPool(1);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdown();
        arena.close();
    }

    private float scale(long at, int b) {
        return Float.float16ToFloat(w.get(LE_I16, at)) * ad[b];
    }

    @Benchmark
    public double streamSum() throws Exception {
        return StreamingRead.sum(pool, big, 1);
    }

    @Benchmark
    public float[] intLanes() {
        for (int r = 0; r < rows; r++) {
            long ro = 34L * (K / 32) * r;
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int b = 0; b < K / 32; b += 2) {
                s0 = intBlock(ro + 34L * b, 32 * b).fma(FloatVector.broadcast(F, scale(ro + 34L * b, b)), s0);
                s1 = intBlock(ro + 34L * b + 34, 32 * b + 32)
                        .fma(FloatVector.broadcast(F, scale(ro + 34L * b + 34, b + 1)), s1);
            }
            y[r] = s0.add(s1).reduceLanes(VectorOperators.ADD);
        }
        return y;
    }

    private FloatVector intBlock(long at, int qo) {
        IntVector acc = IntVector.zero(I);
        for (int j = 0; j < 32; j += L) {
            IntVector wq = (IntVector) ByteVector.fromMemorySegment(BI, w, at + 2 + j, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2I, I, 0);
            acc = acc.add(wq.mul(IntVector.fromArray(I, qi, qo + j)));
        }
        return (FloatVector) acc.convert(VectorOperators.I2F, 0);
    }

    @Benchmark
    public float[] shortLanes() {
        for (int r = 0; r < rows; r++) {
            long ro = 34L * (K / 32) * r;
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int b = 0; b < K / 32; b += 2) {
                s0 = shortBlock(ro + 34L * b, 32 * b).fma(FloatVector.broadcast(F, scale(ro + 34L * b, b)), s0);
                s1 = shortBlock(ro + 34L * b + 34, 32 * b + 32)
                        .fma(FloatVector.broadcast(F, scale(ro + 34L * b + 34, b + 1)), s1);
            }
            y[r] = s0.add(s1).reduceLanes(VectorOperators.ADD);
        }
        return y;
    }

    private FloatVector shortBlock(long at, int qo) {
        IntVector acc = IntVector.zero(I);
        for (int j = 0; j < 32; j += 2 * L) { // 2L shorts per step: one step at 16 float lanes, two at 8
            ShortVector wq = (ShortVector) ByteVector.fromMemorySegment(BS, w, at + 2 + j, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S, 0);
            ShortVector p = wq.mul(ShortVector.fromArray(S, qs, qo + j));
            acc = acc.add((IntVector) p.convertShape(VectorOperators.S2I, I, 0))
                    .add((IntVector) p.convertShape(VectorOperators.S2I, I, 1));
        }
        return (FloatVector) acc.convert(VectorOperators.I2F, 0);
    }

    @Benchmark
    public float[] shortAccumulated() {
        for (int r = 0; r < rows; r++) {
            long ro = 34L * (K / 32) * r;
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int b = 0; b < K / 32; b += 2) {
                s0 = shortAccBlock(ro + 34L * b, 32 * b).fma(FloatVector.broadcast(F, scale(ro + 34L * b, b)), s0);
                s1 = shortAccBlock(ro + 34L * b + 34, 32 * b + 32)
                        .fma(FloatVector.broadcast(F, scale(ro + 34L * b + 34, b + 1)), s1);
            }
            y[r] = s0.add(s1).reduceLanes(VectorOperators.ADD);
        }
        return y;
    }

    private FloatVector shortAccBlock(long at, int qo) {
        IntVector acc = IntVector.zero(I);
        for (int j = 0; j < 32; j += 2 * L) { // two L-byte pieces summed as shorts: 2 products per lane at most
            ShortVector w0 = (ShortVector) ByteVector.fromMemorySegment(BI, w, at + 2 + j, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, SH, 0);
            ShortVector w1 = (ShortVector) ByteVector.fromMemorySegment(BI, w, at + 2 + j + L, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, SH, 0);
            ShortVector p = w0.mul(ShortVector.fromArray(SH, qs, qo + j))
                    .add(w1.mul(ShortVector.fromArray(SH, qs, qo + j + L)));
            acc = acc.add((IntVector) p.convertShape(VectorOperators.S2I, I, 0));
        }
        return (FloatVector) acc.convert(VectorOperators.I2F, 0);
    }

    @Benchmark
    public float[] floatLanes() {
        for (int r = 0; r < rows; r++) {
            long ro = 34L * (K / 32) * r;
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int b = 0; b < K / 32; b += 2) {
                s0 = floatBlock(ro + 34L * b, 32 * b).fma(FloatVector.broadcast(F, scale(ro + 34L * b, b)), s0);
                s1 = floatBlock(ro + 34L * b + 34, 32 * b + 32)
                        .fma(FloatVector.broadcast(F, scale(ro + 34L * b + 34, b + 1)), s1);
            }
            y[r] = s0.add(s1).reduceLanes(VectorOperators.ADD);
        }
        return y;
    }

    private FloatVector floatBlock(long at, int qo) {
        FloatVector acc = FloatVector.zero(F);
        for (int j = 0; j < 32; j += L) {
            FloatVector wq = (FloatVector) ByteVector.fromMemorySegment(BI, w, at + 2 + j, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0);
            acc = wq.fma(FloatVector.fromArray(F, qf, qo + j), acc);
        }
        return acc;
    }
}
