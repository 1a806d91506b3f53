package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panthera.cuda.CudaException;
import dev.panthera.cuda.CudaProbe;
import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Each CUDA op against the double-precision reference backend on random data, at storage level (upload, run,
 * download). Runs only with a GPU; elsewhere every test is skipped by assumption. Tolerances: F32 kernels 1e-5
 * relative (float arithmetic in a different order); TF32 GEMM 10-bit mantissa → 5e-3·sqrt(k) relative to Σ|a||b|;
 * BF16 inputs/outputs 8-bit mantissa → 2e-2 relative.
 */
@Tag("gpu")
class CudaBackendGpuTest {
    static CudaBackend gpu;
    static final ReferenceBackend REF = ReferenceBackend.INSTANCE;

    @BeforeAll
    static void open() {
        CudaProbe.Result r = CudaProbe.probe();
        assumeTrue(r.ok(), "no usable GPU: " + r.status() + " — " + r.reason());
        assumeTrue(new CudaBackendProvider().isAvailable(), "GPU present but cuBLAS/NVRTC/libcuda missing (see log)");
        gpu = new CudaBackend(Device.cuda(0));
    }

    @AfterAll
    static void closeBackend() {
        if (gpu != null) gpu.close();
    }

    @Test
    void closeReleasesTheBackendAndLaterUseThrows() {
        CudaBackend b = new CudaBackend(Device.cuda(0));
        try (Arena a = Arena.ofConfined()) {
            Layout l = Layout.contiguous(Shape.of(16));
            Storage s = b.allocate(DType.F32, 16, a);
            b.fill(s, l, 1.5);
            b.synchronize();
            b.close();
            b.close();
            var e = assertThrows(CudaException.class, () -> b.fill(s, l, 2.0));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        } // the arena frees its block on the default stream after the backend closed
    }

    static Storage randomHost(Arena a, DType t, long n, long seed) {
        Storage s = Storage.allocate(DType.F64, n, a);
        Random r = new Random(seed);
        for (long i = 0; i < n; i++) s.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, r.nextGaussian());
        Storage out = Storage.allocate(t, n, a);
        REF.copy(s, Layout.contiguous(Shape.of(n)), out, Layout.contiguous(Shape.of(n)));
        return out;
    }

    Storage up(Arena a, Storage host) {
        Storage d = gpu.allocate(host.dtype(), host.numel(), a);
        Layout l = Layout.contiguous(Shape.of(host.numel()));
        gpu.copy(host, l, d, l);
        return d;
    }

    double[] down(Arena a, Storage dev, Layout l) {
        Storage h = Storage.allocate(DType.F64, l.numel(), a);
        Storage tmp = Storage.allocate(dev.dtype(), l.numel(), a);
        gpu.copy(dev, l, tmp, Layout.contiguous(l.shape()));
        REF.copy(tmp, Layout.contiguous(l.shape()), h, Layout.contiguous(l.shape()));
        return h.segment().toArray(ValueLayout.JAVA_DOUBLE);
    }

    double[] host(Arena a, Storage s, Layout l) {
        Storage h = Storage.allocate(DType.F64, l.numel(), a);
        REF.copy(s, l, h, Layout.contiguous(l.shape()));
        return h.segment().toArray(ValueLayout.JAVA_DOUBLE);
    }

    static void close(double[] expected, double[] actual, double rtol, double atol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], g = actual[i];
            if (Double.isNaN(e)) {
                assertTrue(Double.isNaN(g), what + " [" + i + "] expected NaN got " + g);
                continue;
            }
            if (e == g) continue; // exact, including infinities
            assertTrue(
                    Math.abs(e - g) <= atol + rtol * Math.abs(e), what + " [" + i + "]: expected " + e + " got " + g);
        }
    }

    @Test
    void unaryAndBinaryOnStridedViews() {
        try (Arena a = Arena.ofConfined()) {
            Layout base = Layout.contiguous(Shape.of(7, 13));
            Layout view = base.transpose(0, 1); // 13 x 7, non-contiguous
            Storage hx = randomHost(a, DType.F32, 91, 1), hy = randomHost(a, DType.F32, 91, 2);
            Storage dx = up(a, hx), dy = up(a, hy);
            for (UnaryOp op : UnaryOp.values()) {
                Storage hd = Storage.allocate(DType.F32, 91, a), dd = gpu.allocate(DType.F32, 91, a);
                Layout out = Layout.contiguous(view.shape());
                REF.unary(op, hx, view, hd, out);
                gpu.unary(op, dx, view, dd, out);
                close(host(a, hd, out), down(a, dd, out), 1e-5, 1e-6, "unary " + op);
            }
            for (BinaryOp op : BinaryOp.values()) {
                DType dt = op.isComparison() ? DType.BOOL : DType.F32;
                Storage hd = Storage.allocate(dt, 91, a), dd = gpu.allocate(dt, 91, a);
                Layout out = Layout.contiguous(view.shape());
                REF.binary(op, hx, view, hy, view, hd, out);
                gpu.binary(op, dx, view, dy, view, dd, out);
                close(host(a, hd, out), down(a, dd, out), 1e-5, 1e-6, "binary " + op);
            }
        }
    }

    @Test
    void reductionsOverEachDim() {
        try (Arena a = Arena.ofConfined()) {
            Layout l = Layout.contiguous(Shape.of(5, 17, 3));
            Storage hx = randomHost(a, DType.F32, l.numel(), 3), dx = up(a, hx);
            for (ReduceOp op : ReduceOp.values()) {
                for (int d = 0; d < 3; d++) {
                    long[] shape = l.shape().toArray();
                    shape[d] = 1;
                    Layout out = Layout.contiguous(Shape.of(shape));
                    DType dt = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN ? DType.I64 : DType.F32;
                    Storage hd = Storage.allocate(dt, out.numel(), a), dd = gpu.allocate(dt, out.numel(), a);
                    REF.reduce(op, hx, l, new int[] {d}, hd, out);
                    gpu.reduce(op, dx, l, new int[] {d}, dd, out);
                    close(host(a, hd, out), down(a, dd, out), 1e-5, 1e-5, "reduce " + op + " dim " + d);
                }
            }
        }
    }

    /**
     * TF32 GEMM against a rigorous bound: each F32 input rounded (or truncated) to TF32's 10-bit mantissa has
     * relative error ≤ 2^-10, so each product is off by ≤ ~2^-9·|a||b| and the sum by ≤ 2^-9·(|A|·|B|)_ij (F32
     * accumulation error is far smaller). The bound matrix |A|·|B| comes from the reference backend.
     */
    @Test
    void tf32MatmulWithinTheMantissaBound() {
        try (CudaBackend tf32 = new CudaBackend(Device.cuda(0), true)) {
            tf32MatmulCase(tf32);
        }
    }

    void tf32MatmulCase(CudaBackend tf32) {
        try (Arena a = Arena.ofConfined()) {
            int m = 96, k = 257, n = 80;
            Layout al = Layout.contiguous(Shape.of(m, k)),
                    bl = Layout.contiguous(Shape.of(k, n)),
                    cl = Layout.contiguous(Shape.of(m, n));
            Storage ha = randomHost(a, DType.F32, al.numel(), 21), hb = randomHost(a, DType.F32, bl.numel(), 22);
            Storage hc = Storage.allocate(DType.F32, cl.numel(), a), bound = Storage.allocate(DType.F32, cl.numel(), a);
            Storage absA = Storage.allocate(DType.F32, al.numel(), a),
                    absB = Storage.allocate(DType.F32, bl.numel(), a);
            REF.matmul(ha, al, hb, bl, hc, cl);
            REF.unary(UnaryOp.ABS, ha, al, absA, al);
            REF.unary(UnaryOp.ABS, hb, bl, absB, bl);
            REF.matmul(absA, al, absB, bl, bound, cl);
            Storage da = tf32.allocate(DType.F32, al.numel(), a), db = tf32.allocate(DType.F32, bl.numel(), a);
            Storage dc = tf32.allocate(DType.F32, cl.numel(), a);
            tf32.copy(ha, al, da, al);
            tf32.copy(hb, bl, db, bl);
            tf32.matmul(da, al, db, bl, dc, cl);
            Storage back = Storage.allocate(DType.F32, cl.numel(), a);
            tf32.copy(dc, cl, back, cl);
            double[] e = host(a, hc, cl), g = host(a, back, cl), bd = host(a, bound, cl);
            double worst = 0;
            for (int i = 0; i < e.length; i++) {
                double err = Math.abs(e[i] - g[i]);
                assertTrue(
                        err <= Math.scalb(bd[i], -9) + 1e-6, "tf32 [" + i + "]: |err| " + err + " > 2^-9 * " + bd[i]);
                worst = Math.max(worst, err / bd[i]);
            }
            // cuBLAS may, but need not, use TF32 under COMPUTE_32F_FAST_TF32: report which happened
            System.out.println("tf32 GEMM worst |err| / (|A||B|) = " + worst
                    + (worst > 1e-7 ? " (reduced precision used)" : " (F32-exact: TF32 not used)"));
        }
    }

    void matmulCase(DType t, int b, int m, int k, int n, boolean transposeB, double rtol) {
        try (Arena a = Arena.ofConfined()) {
            Layout al = Layout.contiguous(Shape.of(b, m, k));
            Layout bl = transposeB
                    ? Layout.contiguous(Shape.of(b, n, k)).transpose(1, 2)
                    : Layout.contiguous(Shape.of(b, k, n));
            Layout cl = Layout.contiguous(Shape.of(b, m, n));
            Storage ha = randomHost(a, t, al.numel(), 4), hb = randomHost(a, t, (long) b * k * n, 5);
            Storage hc = Storage.allocate(t, cl.numel(), a), dc = gpu.allocate(t, cl.numel(), a);
            REF.matmul(ha, al, hb, bl, hc, cl);
            gpu.matmul(up(a, ha), al, up(a, hb), bl, dc, cl);
            close(
                    host(a, hc, cl),
                    down(a, dc, cl),
                    rtol,
                    rtol * Math.sqrt(k),
                    t + " matmul " + b + "x" + m + "x" + k + "x" + n);
        }
    }

    @Test
    void matmulF32Bf16F16BatchedAndTransposed() {
        matmulCase(DType.F32, 1, 1, 1, 1, false, 1e-5);
        matmulCase(DType.F32, 1, 37, 61, 29, false, 1e-4);
        matmulCase(DType.F32, 3, 17, 33, 9, true, 1e-4);
        matmulCase(DType.BF16, 2, 64, 128, 32, false, 2e-2);
        matmulCase(DType.F16, 2, 31, 64, 15, true, 5e-3);
    }

    @Test
    void softmaxKernelsWithoutCudnnOverEveryDimAndFloatType() {
        try (CudaBackend plain = new CudaBackend(Device.cuda(0), false, false);
                Arena a = Arena.ofConfined()) {
            Layout l = Layout.contiguous(Shape.of(6, 5, 33));
            for (DType t : new DType[] {DType.F32, DType.F64, DType.F16, DType.BF16}) {
                Storage hx = randomHost(a, t, l.numel(), 16);
                Storage dx = plain.allocate(t, l.numel(), a);
                plain.copy(hx, l, dx, l);
                double tol = t == DType.BF16 ? 1e-2 : t == DType.F16 ? 1e-3 : 1e-5;
                for (int dim = 0; dim < 3; dim++) {
                    for (boolean log : new boolean[] {false, true}) {
                        Storage hd = Storage.allocate(t, l.numel(), a), dd = plain.allocate(t, l.numel(), a);
                        REF.softmax(hx, l, dim, log, hd, l);
                        plain.softmax(dx, l, dim, log, dd, l);
                        Storage back = Storage.allocate(t, l.numel(), a);
                        plain.copy(dd, l, back, l);
                        close(
                                host(a, hd, l),
                                host(a, back, l),
                                tol,
                                tol,
                                t + " softmax kernel dim " + dim + " log " + log);
                    }
                }
            }
        }
    }

    @Test
    void halfPrecisionElementwiseAndNormsMatchTheReference() {
        try (Arena a = Arena.ofConfined()) {
            Layout view = Layout.contiguous(Shape.of(7, 13)).transpose(0, 1);
            Layout out = Layout.contiguous(view.shape());
            for (DType t : new DType[] {DType.F16, DType.BF16}) {
                double tol = t == DType.BF16 ? 1e-2 : 2e-3;
                Storage hx = randomHost(a, t, 91, 31), hy = randomHost(a, t, 91, 32);
                Storage dx = up(a, hx), dy = up(a, hy);
                for (UnaryOp op : UnaryOp.values()) {
                    Storage hd = Storage.allocate(t, 91, a), dd = gpu.allocate(t, 91, a);
                    REF.unary(op, hx, view, hd, out);
                    gpu.unary(op, dx, view, dd, out);
                    close(host(a, hd, out), down(a, dd, out), tol, tol, t + " unary " + op);
                }
                for (BinaryOp op : BinaryOp.values()) {
                    DType dt = op.isComparison() ? DType.BOOL : t;
                    Storage hd = Storage.allocate(dt, 91, a), dd = gpu.allocate(dt, 91, a);
                    REF.binary(op, hx, view, hy, view, hd, out);
                    gpu.binary(op, dx, view, dy, view, dd, out);
                    close(host(a, hd, out), down(a, dd, out), tol, tol, t + " binary " + op);
                }
                Layout l = Layout.contiguous(Shape.of(6, 5, 33)), wl = Layout.contiguous(Shape.of(33));
                Storage hn = randomHost(a, t, l.numel(), 33),
                        hw = randomHost(a, t, 33, 34),
                        hb = randomHost(a, t, 33, 35);
                Storage hd = Storage.allocate(t, l.numel(), a), dd = gpu.allocate(t, l.numel(), a);
                REF.rmsNorm(hn, l, hw, wl, 1e-6, hd, l);
                gpu.rmsNorm(up(a, hn), l, up(a, hw), wl, 1e-6, dd, l);
                close(host(a, hd, l), down(a, dd, l), tol, tol, t + " rmsNorm");
                REF.layerNorm(hn, l, hw, wl, hb, wl, 1e-5, hd, l);
                gpu.layerNorm(up(a, hn), l, up(a, hw), wl, up(a, hb), wl, 1e-5, dd, l);
                close(host(a, hd, l), down(a, dd, l), tol, tol, t + " layerNorm");
            }
        }
    }

    @Test
    void fillWritesEveryDtype() {
        try (Arena a = Arena.ofConfined()) {
            Layout l = Layout.contiguous(Shape.of(5, 7)).transpose(0, 1);
            for (DType t : DType.values()) {
                double value = t == DType.BOOL ? 1 : t == DType.U8 ? 200 : -3.25;
                Storage hd = Storage.allocate(t, 35, a), dd = gpu.allocate(t, 35, a);
                REF.fill(hd, l, value);
                gpu.fill(dd, l, value);
                Layout all = Layout.contiguous(Shape.of(35));
                close(host(a, hd, all), down(a, dd, all), 0, 0, "fill " + t);
            }
        }
    }

    @Test
    void attentionWithMoreKeysThanAScoreRowCouldHoldAndWideValueHeads() {
        try (Arena a = Arena.ofConfined()) {
            int[][] cases = {{1, 2, 1, 3, 20_000, 16, 16}, {1, 4, 2, 5, 70, 8, 300}, {2, 2, 2, 33, 33, 64, 64}};
            for (int[] c : cases) {
                Layout ql = Layout.contiguous(Shape.of(c[0], c[1], c[3], c[5])),
                        kl = Layout.contiguous(Shape.of(c[0], c[2], c[4], c[5])),
                        vl = Layout.contiguous(Shape.of(c[0], c[2], c[4], c[6])),
                        ol = Layout.contiguous(Shape.of(c[0], c[1], c[3], c[6]));
                Storage q = randomHost(a, DType.F32, ql.numel(), 21),
                        k = randomHost(a, DType.F32, kl.numel(), 22),
                        v = randomHost(a, DType.F32, vl.numel(), 23);
                for (boolean causal : new boolean[] {false, true}) {
                    Storage ho = Storage.allocate(DType.F32, ol.numel(), a),
                            dout = gpu.allocate(DType.F32, ol.numel(), a);
                    REF.attention(q, ql, k, kl, v, vl, causal, 0.125, ho, ol);
                    gpu.attention(up(a, q), ql, up(a, k), kl, up(a, v), vl, causal, 0.125, dout, ol);
                    close(
                            host(a, ho, ol),
                            down(a, dout, ol),
                            1e-4,
                            1e-5,
                            "attention " + java.util.Arrays.toString(c) + " causal=" + causal);
                }
            }
        }
    }

    @Test
    void embeddingCopiesRowsOfEveryWidthAndAlignment() {
        try (Arena a = Arena.ofConfined()) {
            long[] ids = {3, 0, 9, 3, 7};
            Storage idx = Storage.allocate(DType.I64, ids.length, a);
            for (int i = 0; i < ids.length; i++) idx.segment().setAtIndex(ValueLayout.JAVA_LONG, i, ids[i]);
            Layout il = Layout.contiguous(Shape.of(ids.length));
            Storage dIdx = up(a, idx);
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.U8, DType.F64}) {
                for (int dim : new int[] {1, 3, 4, 5, 8, 33}) {
                    Layout tl = Layout.contiguous(Shape.of(10, dim)), ol = Layout.contiguous(Shape.of(ids.length, dim));
                    Storage table = randomHost(a, t, 10L * dim, 24);
                    Storage ho = Storage.allocate(t, ol.numel(), a), dout = gpu.allocate(t, ol.numel(), a);
                    REF.indexSelect(table, tl, 0, idx, il, ho, ol);
                    gpu.indexSelect(up(a, table), tl, 0, dIdx, il, dout, ol);
                    close(host(a, ho, ol), down(a, dout, ol), 0, 0, "embedding " + t + " dim " + dim);
                    // an odd offset into the output: the kernel must fall back to narrower words
                    Layout shifted = Layout.contiguous(Shape.of(ids.length * dim + 1))
                            .narrow(0, 1, (long) ids.length * dim)
                            .reshapeView(ol.shape());
                    Storage wide = gpu.allocate(t, ids.length * dim + 1L, a);
                    gpu.indexSelect(up(a, table), tl, 0, dIdx, il, wide, shifted);
                    close(host(a, ho, ol), down(a, wide, shifted), 0, 0, "embedding at offset 1, " + t + " dim " + dim);
                }
            }
        }
    }

    @Test
    void softmaxNormsRopeAttentionEmbedding() {
        try (Arena a = Arena.ofConfined()) {
            Layout l = Layout.contiguous(Shape.of(6, 5, 33));
            Storage hx = randomHost(a, DType.F32, l.numel(), 6), dx = up(a, hx);
            for (int dim = 0; dim < 3; dim++) {
                for (boolean log : new boolean[] {false, true}) {
                    Storage hd = Storage.allocate(DType.F32, l.numel(), a), dd = gpu.allocate(DType.F32, l.numel(), a);
                    REF.softmax(hx, l, dim, log, hd, l);
                    gpu.softmax(dx, l, dim, log, dd, l);
                    close(host(a, hd, l), down(a, dd, l), 1e-5, 1e-6, "softmax dim " + dim + " log " + log);
                }
            }
            Layout wl = Layout.contiguous(Shape.of(33));
            Storage hw = randomHost(a, DType.F32, 33, 7), hb = randomHost(a, DType.F32, 33, 8);
            Storage hd = Storage.allocate(DType.F32, l.numel(), a), dd = gpu.allocate(DType.F32, l.numel(), a);
            REF.rmsNorm(hx, l, hw, wl, 1e-6, hd, l);
            gpu.rmsNorm(dx, l, up(a, hw), wl, 1e-6, dd, l);
            close(host(a, hd, l), down(a, dd, l), 1e-5, 1e-5, "rmsNorm");
            REF.layerNorm(hx, l, hw, wl, hb, wl, 1e-5, hd, l);
            gpu.layerNorm(dx, l, up(a, hw), wl, up(a, hb), wl, 1e-5, dd, l);
            close(host(a, hd, l), down(a, dd, l), 1e-5, 1e-5, "layerNorm");

            Layout xl = Layout.contiguous(Shape.of(2, 3, 5, 8)), cs = Layout.contiguous(Shape.of(5, 4));
            Storage hq = randomHost(a, DType.F32, xl.numel(), 9),
                    hcos = randomHost(a, DType.F32, 20, 10),
                    hsin = randomHost(a, DType.F32, 20, 11);
            for (boolean inter : new boolean[] {true, false}) {
                Storage ho = Storage.allocate(DType.F32, xl.numel(), a), dout = gpu.allocate(DType.F32, xl.numel(), a);
                REF.rope(hq, xl, hcos, cs, hsin, cs, inter, ho, xl);
                gpu.rope(up(a, hq), xl, up(a, hcos), cs, up(a, hsin), cs, inter, dout, xl);
                close(host(a, ho, xl), down(a, dout, xl), 1e-5, 1e-6, "rope interleaved=" + inter);
            }

            Layout ql = Layout.contiguous(Shape.of(2, 4, 3, 8)), kl = Layout.contiguous(Shape.of(2, 2, 7, 8));
            Storage q = randomHost(a, DType.F32, ql.numel(), 12),
                    k = randomHost(a, DType.F32, kl.numel(), 13),
                    v = randomHost(a, DType.F32, kl.numel(), 14);
            for (boolean causal : new boolean[] {false, true}) {
                Storage ho = Storage.allocate(DType.F32, ql.numel(), a), dout = gpu.allocate(DType.F32, ql.numel(), a);
                REF.attention(q, ql, k, kl, v, kl, causal, 0.35, ho, ql);
                gpu.attention(up(a, q), ql, up(a, k), kl, up(a, v), kl, causal, 0.35, dout, ql);
                close(host(a, ho, ql), down(a, dout, ql), 1e-5, 1e-6, "attention causal=" + causal);
            }

            Layout tl = Layout.contiguous(Shape.of(10, 6)),
                    il = Layout.contiguous(Shape.of(4)),
                    ol = Layout.contiguous(Shape.of(4, 6));
            Storage table = randomHost(a, DType.F32, 60, 15), idx = Storage.allocate(DType.I64, 4, a);
            long[] ids = {3, 0, 9, 3};
            for (int i = 0; i < 4; i++) idx.segment().setAtIndex(ValueLayout.JAVA_LONG, i, ids[i]);
            Storage ho = Storage.allocate(DType.F32, 24, a), dout = gpu.allocate(DType.F32, 24, a);
            REF.indexSelect(table, tl, 0, idx, il, ho, ol);
            Storage dIdx = up(a, idx);
            gpu.indexSelect(up(a, table), tl, 0, dIdx, il, dout, ol);
            close(host(a, ho, ol), down(a, dout, ol), 0, 0, "embedding");
            idx.segment().setAtIndex(ValueLayout.JAVA_LONG, 2, 10);
            Storage badIdx = up(a, idx);
            assertThrows(
                    IndexOutOfBoundsException.class, () -> gpu.indexSelect(up(a, table), tl, 0, badIdx, il, dout, ol));
            assertNull(gpu.failure(), "a bad index is the caller's error, not a device fault");
        }
    }

    @Test
    void gatherScatterAddIndexAddWithRepeatedIndices() {
        try (Arena a = Arena.ofConfined()) {
            Layout sl = Layout.contiguous(Shape.of(4, 7, 3)), il = Layout.contiguous(Shape.of(4, 5, 3));
            Storage src = randomHost(a, DType.F32, sl.numel(), 31);
            Storage idx = Storage.allocate(DType.I64, il.numel(), a);
            Random r = new Random(32);
            for (long i = 0; i < il.numel(); i++) idx.segment().setAtIndex(ValueLayout.JAVA_LONG, i, r.nextInt(7));
            Storage dSrc = up(a, src), dIdx = up(a, idx);
            Storage hg = Storage.allocate(DType.F32, il.numel(), a), dg = gpu.allocate(DType.F32, il.numel(), a);
            REF.gather(src, sl, 1, idx, il, hg, il);
            gpu.gather(dSrc, sl, 1, dIdx, il, dg, il);
            close(host(a, hg, il), down(a, dg, il), 0, 0, "gather");

            Storage vals = randomHost(a, DType.F32, il.numel(), 33);
            Storage hs = Storage.allocate(DType.F32, sl.numel(), a), ds = gpu.allocate(DType.F32, sl.numel(), a);
            REF.scatterAdd(hs, sl, 1, idx, il, vals, il);
            gpu.scatterAdd(ds, sl, 1, dIdx, il, up(a, vals), il);
            close(host(a, hs, sl), down(a, ds, sl), 1e-5, 1e-6, "scatterAdd");

            Layout i1 = Layout.contiguous(Shape.of(5)), srcL = Layout.contiguous(Shape.of(4, 5, 3));
            Storage idx1 = Storage.allocate(DType.I32, 5, a);
            int[] ids = {6, 0, 6, 2, 6};
            for (int i = 0; i < 5; i++) idx1.segment().setAtIndex(ValueLayout.JAVA_INT, i, ids[i]);
            Storage hi = Storage.allocate(DType.F32, sl.numel(), a), di = gpu.allocate(DType.F32, sl.numel(), a);
            REF.indexAdd(hi, sl, 1, idx1, i1, vals, srcL);
            gpu.indexAdd(di, sl, 1, up(a, idx1), i1, up(a, vals), srcL);
            close(host(a, hi, sl), down(a, di, sl), 1e-5, 1e-6, "indexAdd");

            idx1.segment().setAtIndex(ValueLayout.JAVA_INT, 3, 7);
            Storage badIdx = up(a, idx1);
            assertThrows(IndexOutOfBoundsException.class, () -> gpu.indexAdd(di, sl, 1, badIdx, i1, up(a, vals), srcL));
        }
    }

    @Test
    void onDeviceFloatConversionsMatchTheReferenceExactly() {
        try (Arena a = Arena.ofConfined()) {
            Layout l = Layout.contiguous(Shape.of(257));
            Storage f64 = Storage.allocate(DType.F64, 257, a);
            Random r = new Random(41);
            for (int i = 0; i < 257; i++)
                f64.segment()
                        .setAtIndex(ValueLayout.JAVA_DOUBLE, i, r.nextGaussian() * Math.pow(10, r.nextInt(13) - 6));
            f64.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, 0, Double.NaN);
            f64.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, 1, Double.POSITIVE_INFINITY);
            f64.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, 2, -0.0);
            f64.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, 3, 1e6); // beyond F16's range -> inf
            DType[] types = {DType.F64, DType.F32, DType.F16, DType.BF16};
            for (DType from : types) {
                Storage hs = Storage.allocate(from, 257, a);
                REF.copy(f64, l, hs, l);
                Storage ds = up(a, hs);
                for (DType to : types) {
                    Storage hd = Storage.allocate(to, 257, a),
                            dd = gpu.allocate(to, 257, a),
                            back = Storage.allocate(to, 257, a);
                    REF.copy(hs, l, hd, l);
                    gpu.copy(ds, l, dd, l);
                    gpu.copy(dd, l, back, l);
                    // exact values (NaN payloads may differ between the JVM's and PTX's conversions, so NaN is compared
                    // as NaN)
                    close(host(a, hd, l), host(a, back, l), 0, 0, from + " -> " + to);
                }
            }
        }
    }

    @Test
    void storageDiesWithItsArena() {
        Storage d;
        try (Arena a = Arena.ofConfined()) {
            d = gpu.allocate(DType.F32, 16, a);
            assertTrue(d.isAlive());
        }
        assertFalse(d.isAlive());
        Storage dead = d;
        assertThrows(IllegalStateException.class, () -> ((CudaStorage) dead).pointer(0));
        gpu.synchronize();
    }
}
