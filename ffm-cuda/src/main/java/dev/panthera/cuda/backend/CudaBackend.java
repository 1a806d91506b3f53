package dev.panthera.cuda.backend;

import dev.panthera.cuda.Cublas;
import dev.panthera.cuda.CublasComputeType;
import dev.panthera.cuda.CublasOperation;
import dev.panthera.cuda.CudaDataType;
import dev.panthera.cuda.CudaDevice;
import dev.panthera.cuda.CudaException;
import dev.panthera.cuda.CudaLibraries;
import dev.panthera.cuda.CudaLibrary;
import dev.panthera.cuda.CudaMemcpyKind;
import dev.panthera.cuda.CudaStream;
import dev.panthera.cuda.Cudart;
import dev.panthera.cuda.Cudnn;
import dev.panthera.cuda.CudnnDataType;
import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CUDA backend: matmul through cublasGemmEx / cublasGemmStridedBatchedEx (F32, TF32 when opted in with
 * {@code -Dpanthera.cuda.tf32=true}, F16 and BF16 with F32 accumulation), softmax through cuDNN (an NVRTC kernel
 * when cuDNN is absent), and elementwise ops, reductions, norms, RoPE, embedding and attention through the NVRTC
 * kernels. fill, copy and embedding take any dtype, softmax any float type, elementwise ops and norms F32, F16 and
 * BF16 (computed in float), the other kernels F32. All work is ordered on one stream; a device-side fault (illegal
 * address, launch failure) puts the backend in a failed state whose message every later call repeats.
 */
public final class CudaBackend implements Backend, FusedKernels, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CudaBackend.class);
    private static final int BLOCK = 256;

    private final Device device;
    private final CudaDevice cuda;
    private final CudaStream stream;
    private final MemorySegment cublasHandle;
    private final MemorySegment cudnnHandle; // NULL when cuDNN is absent
    private final KernelModules kernels;
    private final boolean tf32;
    private final MemoryPool pool;
    private final ReleaseChain resources;
    private volatile String failure;
    private volatile boolean closed;

    /**
     * Opens {@code device} (which must be a CUDA device) with its own stream and library handles; F32 matmul uses
     * TF32 tensor cores only when the system property {@code panthera.cuda.tf32} is true.
     */
    public CudaBackend(Device device) {
        this(device, Boolean.getBoolean("panthera.cuda.tf32"));
    }

    /** As {@link #CudaBackend(Device)}, with F32 matmul on TF32 tensor cores when {@code allowTf32}. */
    public CudaBackend(Device device, boolean allowTf32) {
        this(device, allowTf32, true);
    }

    /** As {@link #CudaBackend(Device, boolean)}; without {@code useCudnn} softmax always runs on our kernels. */
    CudaBackend(Device device, boolean allowTf32, boolean useCudnn) {
        if (device.kind() != Device.Kind.CUDA)
            throw new IllegalArgumentException("CudaBackend: not a CUDA device: " + device);
        this.device = device;
        this.cuda = CudaDevice.open(device.index());
        this.resources = new ReleaseChain("CudaBackend on " + device);
        try {
            this.stream = CudaStream.create();
            resources.add(stream::close);
            Cublas cublas = Cublas.get();
            MemorySegment blas = cublas.createHandle();
            resources.add(() -> cublas.destroyHandle(blas));
            cublas.setStream(blas, stream.handle());
            this.cublasHandle = blas;
            MemorySegment dnn = openCudnn(
                    useCudnn && CudaLibraries.isLoadable(CudaLibrary.CUDNN),
                    () -> Cudnn.get().createHandle(),
                    h -> Cudnn.get().setStream(h, stream.handle()),
                    h -> Cudnn.get().destroyHandle(h));
            if (!dnn.equals(MemorySegment.NULL)) resources.add(() -> Cudnn.get().destroyHandle(dnn));
            this.cudnnHandle = dnn;
            this.kernels = new KernelModules(cuda);
            resources.add(kernels::close);
        } catch (RuntimeException e) {
            try {
                resources.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        this.tf32 = allowTf32;
        this.pool = new MemoryPool(
                device.toString(), this::deviceBlock, Long.getLong("panthera.cuda.maxCachedBytes", 4L << 30));
    }

    /**
     * Waits for queued work, frees the pool's cached blocks, then unloads the kernel modules and destroys the
     * cuDNN and cuBLAS handles and the stream. Later calls throw; memory still owned by open arenas or pool scopes
     * is freed on the default stream when they close. Closing twice does nothing.
     */
    @Override
    public void close() {
        if (resources.isClosed()) return;
        RuntimeException first = null;
        if (failure == null) {
            try {
                synchronize();
                pool.trim();
            } catch (RuntimeException e) {
                first = e;
            }
        }
        closed = true;
        try {
            cuda.makeCurrent();
            resources.close();
        } catch (RuntimeException e) {
            if (first == null) first = e;
            else first.addSuppressed(e);
        }
        if (first != null) throw first;
    }

    /** Frees device memory on our stream, or on the default stream once the backend (and its stream) closed. */
    private void release(MemorySegment address) {
        cuda.makeCurrent();
        Cudart.get().freeAsync(address, closed ? MemorySegment.NULL : stream.handle());
    }

    /**
     * A cuDNN handle bound to our stream, or NULL when cuDNN is absent. A cuDNN that loads but cannot create or bind
     * a handle (a missing sub-library, a version mismatch) is logged and left out, so softmax runs on our kernels.
     */
    static MemorySegment openCudnn(
            boolean loadable,
            Supplier<MemorySegment> create,
            Consumer<MemorySegment> bindStream,
            Consumer<MemorySegment> destroy) {
        if (!loadable) return MemorySegment.NULL;
        MemorySegment h;
        try {
            h = create.get();
        } catch (CudaException e) {
            if (isDeviceFault(e)) throw e;
            LOG.warn("cuDNN loads but cannot create a handle; softmax runs on Panthera's kernels: {}", e.getMessage());
            return MemorySegment.NULL;
        }
        try {
            bindStream.accept(h);
            return h;
        } catch (CudaException e) {
            try {
                destroy.accept(h);
            } catch (CudaException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (isDeviceFault(e)) throw e;
            LOG.warn(
                    "cuDNN handle cannot take the backend's stream; softmax runs on Panthera's kernels: {}",
                    e.getMessage());
            return MemorySegment.NULL;
        }
    }

    @Override
    public FusedKernels fused() {
        return this;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Device device() {
        return device;
    }

    /** The device's properties. */
    public CudaDevice cudaDevice() {
        return cuda;
    }

    /** Waits for all queued work; device-side faults surface here. */
    public void synchronize() {
        guard(() -> {
            stream.synchronize();
            return null;
        });
    }

    /** Null while healthy; otherwise the message of the fault that stopped this backend. */
    public String failure() {
        return failure;
    }

    private <T> T guard(Supplier<T> body) {
        if (closed)
            throw new CudaException(
                    "panthera",
                    "CudaBackend",
                    CudaException.CLOSED,
                    "CLOSED",
                    "the CUDA backend on " + device + " was closed");
        String f = failure;
        if (f != null)
            throw new CudaException(
                    "panthera",
                    "CudaBackend",
                    CudaException.CLOSED,
                    "BACKEND_FAILED",
                    "the CUDA backend on " + device + " failed earlier and cannot continue: " + f);
        try {
            cuda.makeCurrent();
            return body.get();
        } catch (CudaException e) {
            if (isDeviceFault(e)) failure = e.getMessage();
            throw e;
        }
    }

    /**
     * Whether {@code e} is a sticky device fault that poisons the CUDA context, after which the backend refuses
     * further work: cudart and driver codes (shared numbering) 700 illegal address, 702 launch timeout, 710 device
     * assert, 714 hardware stack error, 715 illegal instruction, 716 misaligned address, 717 invalid address space,
     * 718 invalid PC, 719 launch failure, 999 unknown; cuBLAS execution failed (13); cuDNN 9 execution failed (5000)
     * and its sub-codes naming the failing layer beneath it: 5001 CUDA driver, 5002 cuBLAS, 5003 cudart, 5004 cuRAND.
     */
    static boolean isDeviceFault(CudaException e) {
        int c = e.code();
        return switch (e.library()) {
            case "cudart", "cuda" -> c == 700 || c == 702 || c == 710 || (c >= 714 && c <= 719) || c == 999;
            case "cublas" -> c == 13;
            case "cudnn" -> c >= 5000 && c <= 5004;
            default -> false;
        };
    }

    private void run(Runnable r) {
        guard(() -> {
            r.run();
            return null;
        });
    }

    // ---- memory -------------------------------------------------------------------------------------------------

    @Override
    public Storage allocate(DType dtype, long numel, Arena owner) {
        return guard(() -> {
            long bytes = Math.max(1, Math.multiplyExact(numel, (long) dtype.byteSize()));
            Cudart rt = Cudart.get();
            MemorySegment raw = rt.mallocAsync(bytes, stream.handle());
            rt.memsetAsync(raw, 0, bytes, stream.handle());
            MemorySegment owned = raw.reinterpret(bytes, owner, p -> release(MemorySegment.ofAddress(p.address())));
            return new CudaStorage(owned, dtype, device, numel, owner, null);
        });
    }

    /** This device's caching allocator: blocks from cudaMallocAsync, freed with cudaFreeAsync when trimmed. */
    @Override
    public MemoryPool memoryPool() {
        return pool;
    }

    @Override
    public Storage allocate(DType dtype, long numel, MemoryPool.Allocation allocation) {
        return guard(() -> {
            long bytes = Math.max(1, Math.multiplyExact(numel, (long) dtype.byteSize()));
            // blocks are reused in stream order: work queued on the old tensor runs before any on the new one
            if (allocation.reused()) Cudart.get().memsetAsync(allocation.memory(), 0, bytes, stream.handle());
            return new CudaStorage(allocation.memory(), dtype, device, numel, null, allocation);
        });
    }

    private MemoryPool.Block deviceBlock(long bytes) {
        return guard(() -> {
            Cudart rt = Cudart.get();
            MemorySegment raw = rt.mallocAsync(bytes, stream.handle());
            rt.memsetAsync(raw, 0, bytes, stream.handle());
            MemorySegment address = MemorySegment.ofAddress(raw.address());
            return new MemoryPool.Block(address, () -> release(address));
        });
    }

    private CudaStorage dev(Storage s, String op) {
        if (s instanceof CudaStorage c) return c;
        throw new IllegalArgumentException("cuda " + op + ": storage on " + s.device() + " given to the CUDA backend");
    }

    private static void requireF32(String op, Storage... ss) {
        for (Storage s : ss) {
            if (s != null && s.dtype() != DType.F32) {
                throw new UnsupportedOperationException("cuda " + op + ": the CUDA kernels take F32, got " + s.dtype());
            }
        }
    }

    /**
     * Whether an elementwise or norm op runs on the F32 kernels (every operand F32) rather than the mixed float
     * kernels (operands among F32, F16 and BF16); throws for any other dtype. Null entries are absent operands.
     */
    static boolean allF32(String op, DType... types) {
        boolean f32 = true;
        for (DType t : types) {
            if (t == null) continue;
            if (t != DType.F32 && t != DType.F16 && t != DType.BF16)
                throw new UnsupportedOperationException(
                        "cuda " + op + ": the CUDA kernels take F32, F16 or BF16, got " + t);
            f32 &= t == DType.F32;
        }
        return f32;
    }

    private static DType dtypeOf(Storage s) {
        return s == null ? null : s.dtype();
    }

    private static int grid(long n) {
        return (int) Math.min(65_535L * 8, Math.max(1, (n + BLOCK - 1) / BLOCK));
    }

    /** A contiguous device copy of (s, layout) in {@code scratch}, or s itself at its offset when already contiguous. */
    private MemorySegment contiguous(CudaStorage s, Layout layout, Arena scratch) {
        if (layout.isContiguous()) return s.pointer(layout.offset());
        CudaStorage tmp = (CudaStorage) allocate(s.dtype(), layout.numel(), scratch);
        copyStrided(s, layout, tmp, Layout.contiguous(layout.shape()), scratch);
        return tmp.pointer(0);
    }

    private void copyStrided(CudaStorage src, Layout sl, CudaStorage dst, Layout dl, Arena a) {
        long n = sl.numel();
        if (n == 0) return;
        kernels.launch(
                "elementwise",
                "copy_strided",
                grid(n),
                BLOCK,
                0,
                stream.handle(),
                src.dtype().byteSize(),
                StridedArg.of(a, sl),
                src.pointer(0),
                StridedArg.of(a, dl),
                dst.pointer(0),
                n);
    }

    @Override
    public void copy(Storage src, Layout sl, Storage dst, Layout dl) {
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                boolean srcDev = src instanceof CudaStorage, dstDev = dst instanceof CudaStorage;
                if (srcDev && dstDev) {
                    if (src.dtype() == dst.dtype()) {
                        copyStrided((CudaStorage) src, sl, (CudaStorage) dst, dl, a);
                    } else if (floatCode(src.dtype()) >= 0 && floatCode(dst.dtype()) >= 0) {
                        long n = sl.numel();
                        if (n > 0)
                            kernels.launch(
                                    "elementwise",
                                    "convert_float",
                                    grid(n),
                                    BLOCK,
                                    0,
                                    stream.handle(),
                                    floatCode(src.dtype()),
                                    StridedArg.of(a, sl),
                                    ((CudaStorage) src).pointer(0),
                                    floatCode(dst.dtype()),
                                    StridedArg.of(a, dl),
                                    ((CudaStorage) dst).pointer(0),
                                    n);
                    } else {
                        throw new UnsupportedOperationException(
                                "cuda copy: on-device conversion " + src.dtype() + " -> " + dst.dtype()
                                        + " is not implemented (float types convert among themselves; copy through the host otherwise)");
                    }
                } else if (!srcDev && dstDev) {
                    // host side: gather and convert to a contiguous host buffer of dst's dtype, then one H2D copy
                    Layout cl = Layout.contiguous(sl.shape());
                    Storage host = Storage.allocate(dst.dtype(), sl.numel(), a);
                    ReferenceBackend.INSTANCE.copy(src, sl, host, cl);
                    long bytes = sl.numel() * dst.dtype().byteSize();
                    if (dl.isContiguous()) {
                        Cudart.get()
                                .memcpyAsync(
                                        ((CudaStorage) dst).pointer(dl.offset()),
                                        host.segment(),
                                        bytes,
                                        CudaMemcpyKind.HOST_TO_DEVICE,
                                        stream.handle());
                    } else {
                        CudaStorage tmp = (CudaStorage) allocate(dst.dtype(), sl.numel(), a);
                        Cudart.get()
                                .memcpyAsync(
                                        tmp.pointer(0),
                                        host.segment(),
                                        bytes,
                                        CudaMemcpyKind.HOST_TO_DEVICE,
                                        stream.handle());
                        copyStrided(tmp, cl, (CudaStorage) dst, dl, a);
                    }
                    stream.synchronize(); // the host buffer dies with this arena
                } else if (srcDev) {
                    CudaStorage s = (CudaStorage) src;
                    MemorySegment p = contiguous(s, sl, a);
                    Storage host = Storage.allocate(src.dtype(), sl.numel(), a);
                    Cudart.get()
                            .memcpyAsync(
                                    host.segment(),
                                    p,
                                    sl.numel() * src.dtype().byteSize(),
                                    CudaMemcpyKind.DEVICE_TO_HOST,
                                    stream.handle());
                    stream.synchronize();
                    ReferenceBackend.INSTANCE.copy(host, Layout.contiguous(sl.shape()), dst, dl);
                } else {
                    ReferenceBackend.INSTANCE.copy(src, sl, dst, dl);
                }
            }
        });
    }

    /** The kernels' float type code (0 F32, 1 F64, 2 F16, 3 BF16), or -1. */
    static int floatCode(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F64 -> 1;
            case F16 -> 2;
            case BF16 -> 3;
            default -> -1;
        };
    }

    @Override
    public void fill(Storage dst, Layout dl, double value) {
        long bits = fillBits(dst.dtype(), value);
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                long n = dl.numel();
                if (n > 0)
                    kernels.launch(
                            "elementwise",
                            "fill_bits",
                            grid(n),
                            BLOCK,
                            0,
                            stream.handle(),
                            dst.dtype().byteSize(),
                            StridedArg.of(a, dl),
                            dev(dst, "fill").pointer(0),
                            bits,
                            n);
            }
        });
    }

    /**
     * The bit pattern of {@code value} stored as one element of {@code t}, low bytes first (little-endian, as the
     * device reads it), exactly as the reference backend converts and stores it.
     */
    static long fillBits(DType t, double value) {
        try (Arena a = Arena.ofConfined()) {
            Storage one = Storage.allocate(t, 1, a);
            ReferenceBackend.INSTANCE.fill(one, Layout.contiguous(Shape.of(1)), value);
            long bits = 0;
            for (int i = t.byteSize() - 1; i >= 0; i--)
                bits = (bits << 8) | (one.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 0xFF);
            return bits;
        }
    }

    @Override
    public void unary(UnaryOp op, Storage src, Layout sl, Storage dst, Layout dl) {
        boolean f32 = allF32("unary " + op, src.dtype(), dst.dtype());
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                long n = dl.numel();
                if (n == 0) return;
                if (f32) {
                    kernels.launch(
                            "elementwise",
                            "unary_f32",
                            grid(n),
                            BLOCK,
                            0,
                            stream.handle(),
                            op.code(),
                            StridedArg.of(a, sl),
                            dev(src, "unary").pointer(0),
                            StridedArg.of(a, dl),
                            dev(dst, "unary").pointer(0),
                            n);
                } else {
                    kernels.launch(
                            "elementwise",
                            "unary_float",
                            grid(n),
                            BLOCK,
                            0,
                            stream.handle(),
                            op.code(),
                            floatCode(src.dtype()),
                            StridedArg.of(a, sl),
                            dev(src, "unary").pointer(0),
                            floatCode(dst.dtype()),
                            StridedArg.of(a, dl),
                            dev(dst, "unary").pointer(0),
                            n);
                }
            }
        });
    }

    @Override
    public void binary(BinaryOp op, Storage x, Layout xl, Storage y, Layout yl, Storage dst, Layout dl) {
        boolean f32 = allF32("binary " + op, x.dtype(), y.dtype(), op.isComparison() ? null : dst.dtype());
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                long n = dl.numel();
                if (n == 0) return;
                if (f32) {
                    kernels.launch(
                            "elementwise",
                            op.isComparison() ? "compare_f32" : "binary_f32",
                            grid(n),
                            BLOCK,
                            0,
                            stream.handle(),
                            op.code(),
                            StridedArg.of(a, xl),
                            dev(x, "binary").pointer(0),
                            StridedArg.of(a, yl),
                            dev(y, "binary").pointer(0),
                            StridedArg.of(a, dl),
                            dev(dst, "binary").pointer(0),
                            n);
                } else if (op.isComparison()) {
                    kernels.launch(
                            "elementwise",
                            "compare_float",
                            grid(n),
                            BLOCK,
                            0,
                            stream.handle(),
                            op.code(),
                            floatCode(x.dtype()),
                            StridedArg.of(a, xl),
                            dev(x, "binary").pointer(0),
                            floatCode(y.dtype()),
                            StridedArg.of(a, yl),
                            dev(y, "binary").pointer(0),
                            StridedArg.of(a, dl),
                            dev(dst, "binary").pointer(0),
                            n);
                } else {
                    kernels.launch(
                            "elementwise",
                            "binary_float",
                            grid(n),
                            BLOCK,
                            0,
                            stream.handle(),
                            op.code(),
                            floatCode(x.dtype()),
                            StridedArg.of(a, xl),
                            dev(x, "binary").pointer(0),
                            floatCode(y.dtype()),
                            StridedArg.of(a, yl),
                            dev(y, "binary").pointer(0),
                            floatCode(dst.dtype()),
                            StridedArg.of(a, dl),
                            dev(dst, "binary").pointer(0),
                            n);
                }
            }
        });
    }

    @Override
    public void reduce(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        requireF32("reduce " + op, src);
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                int rank = sl.rank();
                boolean[] reduced = new boolean[rank];
                for (int d : dims) reduced[Shape.normalize(d, rank, "reduce")] = true;
                long[] shape = sl.shape().toArray(), strides = sl.strides();
                long[] oShape = new long[rank], oStr = new long[rank], iShape = new long[rank], iStr = new long[rank];
                for (int d = 0; d < rank; d++) {
                    oShape[d] = reduced[d] ? 1 : shape[d];
                    oStr[d] = reduced[d] ? 0 : strides[d];
                    iShape[d] = reduced[d] ? shape[d] : 1;
                    iStr[d] = reduced[d] ? strides[d] : 0;
                }
                Layout outer = new Layout(Shape.of(oShape), oStr, sl.offset()),
                        inner = new Layout(Shape.of(iShape), iStr, 0);
                long nOut = outer.numel(), nInner = inner.numel();
                if (nOut == 0) return;
                if (nInner == 0 && op != ReduceOp.SUM) {
                    throw new IllegalArgumentException("cuda reduce " + op + ": empty reduction over dims "
                            + Arrays.toString(dims) + " of " + sl.shape());
                }
                int shared = BLOCK * 4 + BLOCK * 8 + 8;
                kernels.launch(
                        "reductions",
                        "reduce_f32",
                        (int) Math.min(nOut, 1 << 20),
                        BLOCK,
                        shared,
                        stream.handle(),
                        op.code(),
                        StridedArg.of(a, outer),
                        StridedArg.of(a, inner),
                        dev(src, "reduce").pointer(0),
                        StridedArg.of(a, dl),
                        dev(dst, "reduce").pointer(0),
                        nOut,
                        nInner);
            }
        });
    }

    @Override
    public void matmul(Storage x, Layout xl, Storage y, Layout yl, Storage dst, Layout dl) {
        if (y.dtype() != x.dtype()) { // F32 × BF16/F16 (Backend#matmul): cuBLAS takes one dtype, so widen y first
            try (Arena a = Arena.ofConfined()) {
                Layout wide = Layout.contiguous(yl.shape());
                Storage y32 = allocate(x.dtype(), yl.numel(), a);
                copy(y, yl, y32, wide);
                matmul(x, xl, y32, wide, dst, dl);
            }
            return;
        }
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                Gemm.run(this, a, dev(x, "matmul"), xl, dev(y, "matmul"), yl, dev(dst, "matmul"), dl);
            }
        });
    }

    // package-private helpers for Gemm
    MemorySegment contiguousFor(CudaStorage s, Layout l, Arena a) {
        return contiguous(s, l, a);
    }

    MemorySegment cublasHandle() {
        return cublasHandle;
    }

    MemorySegment streamHandle() {
        return stream.handle();
    }

    boolean tf32() {
        return tf32;
    }

    @Override
    public void softmax(Storage src, Layout sl, int dim, boolean log, Storage dst, Layout dl) {
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                int rank = sl.rank();
                int d = Shape.normalize(dim, rank, "softmax");
                long n = sl.shape().dim(d), outer = 1, inner = 1;
                for (int i = 0; i < d; i++) outer *= sl.shape().dim(i);
                for (int i = d + 1; i < rank; i++) inner *= sl.shape().dim(i);
                if (sl.numel() == 0) return;
                MemorySegment x = contiguous(dev(src, "softmax"), sl, a);
                CudaStorage out = dev(dst, "softmax");
                boolean direct = dl.isContiguous();
                CudaStorage target = direct ? out : (CudaStorage) allocate(dst.dtype(), dl.numel(), a);
                MemorySegment y = target.pointer(direct ? dl.offset() : 0);
                SoftmaxPath path = softmaxPath(
                        !cudnnHandle.equals(MemorySegment.NULL), src.dtype(), outer, n, inner, sl.shape(), d);
                if (path == SoftmaxPath.CUDNN) {
                    Cudnn.get()
                            .softmax(
                                    cudnnHandle,
                                    CudnnDataType.of(src.dtype()),
                                    (int) outer,
                                    (int) n,
                                    (int) inner,
                                    log,
                                    x,
                                    y);
                } else if (path == SoftmaxPath.KERNEL_F32_LAST) {
                    kernels.launch(
                            "softmax",
                            "softmax_f32",
                            (int) Math.min(outer, 1 << 20),
                            BLOCK,
                            BLOCK * 4,
                            stream.handle(),
                            x,
                            y,
                            outer,
                            (int) n,
                            log ? 1 : 0);
                } else {
                    kernels.launch(
                            "softmax",
                            "softmax_strided",
                            (int) Math.min(outer * inner, 1 << 20),
                            BLOCK,
                            BLOCK * 8,
                            stream.handle(),
                            floatCode(src.dtype()),
                            x,
                            y,
                            outer,
                            (int) n,
                            inner,
                            log ? 1 : 0);
                }
                if (!direct) copyStrided(target, Layout.contiguous(dl.shape()), out, dl, a);
            }
        });
    }

    /** Which implementation runs a softmax: cuDNN, or one of our kernels. */
    enum SoftmaxPath {
        CUDNN,
        /** softmax_f32: F32 over the last dim, one block per row. */
        KERNEL_F32_LAST,
        /** softmax_strided: any float type, any dim. */
        KERNEL_STRIDED
    }

    /** The softmax implementation for an (outer, n, inner) problem of dtype {@code t}; throws when none serves it. */
    static SoftmaxPath softmaxPath(boolean cudnn, DType t, long outer, long n, long inner, Shape shape, int dim) {
        if (floatCode(t) < 0) {
            throw new UnsupportedOperationException("cuda softmax: needs a float dtype (F32, F64, F16, BF16), got " + t
                    + " (dim " + dim + " of " + shape + ")");
        }
        if (cudnn && outer * n * inner < Integer.MAX_VALUE) return SoftmaxPath.CUDNN;
        if (n > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException(
                    "cuda softmax: dim " + dim + " of " + shape + " is longer than the kernels take (2^31 - 1)");
        }
        if (inner == 1 && t == DType.F32) return SoftmaxPath.KERNEL_F32_LAST;
        return SoftmaxPath.KERNEL_STRIDED;
    }

    private interface RowKernel {
        void launch(MemorySegment x, MemorySegment y, long rows, int dim, Arena a);
    }

    private void rowwise(String op, Storage src, Layout sl, Storage dst, Layout dl, RowKernel k) {
        requireF32(op, src, dst);
        rowwiseAnyFloat(op, src, sl, dst, dl, k);
    }

    /** As rowwise, for kernels that take each operand's float type themselves. */
    private void rowwiseAnyFloat(String op, Storage src, Layout sl, Storage dst, Layout dl, RowKernel k) {
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                int dim = (int) sl.shape().dim(sl.rank() - 1);
                long rows = dim == 0 ? 0 : sl.numel() / dim;
                if (rows == 0) return;
                MemorySegment x = contiguous(dev(src, op), sl, a);
                CudaStorage out = dev(dst, op);
                boolean direct = dl.isContiguous();
                CudaStorage target = direct ? out : (CudaStorage) allocate(dst.dtype(), dl.numel(), a);
                k.launch(x, target.pointer(direct ? dl.offset() : 0), rows, dim, a);
                if (!direct) copyStrided(target, Layout.contiguous(dl.shape()), out, dl, a);
            }
        });
    }

    private MemorySegment optionalAny(Storage s, Layout l, Arena a, String op) {
        return s == null ? MemorySegment.NULL : contiguous(dev(s, op), l, a);
    }

    private MemorySegment optional(Storage s, Layout l, Arena a, String op) {
        if (s == null) return MemorySegment.NULL;
        requireF32(op, s);
        return contiguous(dev(s, op), l, a);
    }

    @Override
    public void layerNorm(
            Storage x, Layout xl, Storage w, Layout wl, Storage b, Layout bl, double eps, Storage dst, Layout dl) {
        if (allF32("layerNorm", x.dtype(), dtypeOf(w), dtypeOf(b), dst.dtype())) {
            rowwise(
                    "layerNorm",
                    x,
                    xl,
                    dst,
                    dl,
                    (xp, yp, rows, dim, a) -> kernels.launch(
                            "norms",
                            "layer_norm_f32",
                            (int) Math.min(rows, 1 << 20),
                            BLOCK,
                            BLOCK * 4,
                            stream.handle(),
                            xp,
                            optional(w, wl, a, "layerNorm"),
                            optional(b, bl, a, "layerNorm"),
                            yp,
                            rows,
                            dim,
                            (float) eps));
        } else {
            rowwiseAnyFloat(
                    "layerNorm",
                    x,
                    xl,
                    dst,
                    dl,
                    (xp, yp, rows, dim, a) -> kernels.launch(
                            "norms",
                            "layer_norm_float",
                            (int) Math.min(rows, 1 << 20),
                            BLOCK,
                            BLOCK * 4,
                            stream.handle(),
                            floatCode(x.dtype()),
                            xp,
                            w == null ? 0 : floatCode(w.dtype()),
                            optionalAny(w, wl, a, "layerNorm"),
                            b == null ? 0 : floatCode(b.dtype()),
                            optionalAny(b, bl, a, "layerNorm"),
                            floatCode(dst.dtype()),
                            yp,
                            rows,
                            dim,
                            (float) eps));
        }
    }

    @Override
    public void rmsNorm(Storage x, Layout xl, Storage w, Layout wl, double eps, Storage dst, Layout dl) {
        if (allF32("rmsNorm", x.dtype(), dtypeOf(w), dst.dtype())) {
            rowwise(
                    "rmsNorm",
                    x,
                    xl,
                    dst,
                    dl,
                    (xp, yp, rows, dim, a) -> kernels.launch(
                            "norms",
                            "rms_norm_f32",
                            (int) Math.min(rows, 1 << 20),
                            BLOCK,
                            BLOCK * 4,
                            stream.handle(),
                            xp,
                            optional(w, wl, a, "rmsNorm"),
                            yp,
                            rows,
                            dim,
                            (float) eps));
        } else {
            rowwiseAnyFloat(
                    "rmsNorm",
                    x,
                    xl,
                    dst,
                    dl,
                    (xp, yp, rows, dim, a) -> kernels.launch(
                            "norms",
                            "rms_norm_float",
                            (int) Math.min(rows, 1 << 20),
                            BLOCK,
                            BLOCK * 4,
                            stream.handle(),
                            floatCode(x.dtype()),
                            xp,
                            w == null ? 0 : floatCode(w.dtype()),
                            optionalAny(w, wl, a, "rmsNorm"),
                            floatCode(dst.dtype()),
                            yp,
                            rows,
                            dim,
                            (float) eps));
        }
    }

    @Override
    public void indexSelect(Storage src, Layout sl, int dim, Storage index, Layout il, Storage dst, Layout dl) {
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                Embedding.run(
                        this,
                        kernels,
                        stream,
                        a,
                        dev(src, "indexSelect"),
                        sl,
                        dim,
                        dev(index, "indexSelect"),
                        il,
                        dev(dst, "indexSelect"),
                        dl);
            }
        });
    }

    Storage scratch(DType dtype, long numel, Arena a) {
        return allocate(dtype, numel, a);
    }

    void stridedCopy(CudaStorage s, Layout sl, CudaStorage d, Layout dl, Arena a) {
        copyStrided(s, sl, d, dl, a);
    }

    @Override
    public void indexAdd(Storage dst, Layout dl, int dim, Storage index, Layout il, Storage src, Layout sl) {
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                Indexing.run(
                        this,
                        kernels,
                        stream,
                        a,
                        "indexAdd",
                        "index_add_f32",
                        dim,
                        dev(dst, "indexAdd"),
                        dl,
                        dev(index, "indexAdd"),
                        il,
                        dev(src, "indexAdd"),
                        sl,
                        sl,
                        dl);
            }
        });
    }

    @Override
    public void gather(Storage src, Layout sl, int dim, Storage index, Layout il, Storage dst, Layout dl) {
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                Indexing.run(
                        this,
                        kernels,
                        stream,
                        a,
                        "gather",
                        "gather_f32",
                        dim,
                        dev(src, "gather"),
                        sl,
                        dev(index, "gather"),
                        il,
                        dev(dst, "gather"),
                        dl,
                        il,
                        sl);
            }
        });
    }

    @Override
    public void scatterAdd(Storage dst, Layout dl, int dim, Storage index, Layout il, Storage src, Layout sl) {
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                Indexing.run(
                        this,
                        kernels,
                        stream,
                        a,
                        "scatterAdd",
                        "scatter_add_f32",
                        dim,
                        dev(dst, "scatterAdd"),
                        dl,
                        dev(index, "scatterAdd"),
                        il,
                        dev(src, "scatterAdd"),
                        sl,
                        sl,
                        dl);
            }
        });
    }

    @Override
    public void rope(
            Storage x,
            Layout xl,
            Storage cos,
            Layout cl,
            Storage sin,
            Layout snl,
            boolean interleaved,
            Storage dst,
            Layout dl) {
        requireF32("rope", x, cos, sin, dst);
        rowwise("rope", x, xl, dst, dl, (xp, yp, rows, d, a) -> {
            int seq = (int) xl.shape().dim(xl.rank() - 2);
            long outerRows = rows / seq;
            long pairs = rows * (d / 2);
            kernels.launch(
                    "rope",
                    "rope_f32",
                    grid(pairs),
                    BLOCK,
                    0,
                    stream.handle(),
                    xp,
                    contiguous(dev(cos, "rope"), cl, a),
                    contiguous(dev(sin, "rope"), snl, a),
                    yp,
                    outerRows,
                    seq,
                    d,
                    interleaved ? 1 : 0);
        });
    }

    /** Query rows per attention block, one warp each (ATT_WARPS in attention.cu). */
    static final int ATTENTION_WARPS = 4;

    /**
     * Dynamic shared memory of the attention kernel: its warps' query rows, {@code ATTENTION_WARPS * d} floats. The
     * key length does not count (keys stream through an online softmax); a head dim beyond 48 KiB of rows throws.
     */
    static long attentionSharedBytes(long d) {
        long bytes = 4L * ATTENTION_WARPS * Math.max(1, d);
        if (bytes > 48 * 1024) {
            throw new UnsupportedOperationException("cuda attention: head dim " + d + " exceeds the kernel's limit of "
                    + 48 * 1024 / (4 * ATTENTION_WARPS));
        }
        return bytes;
    }

    @Override
    public void attention(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            boolean causal,
            double scale,
            Storage dst,
            Layout dl) {
        requireF32("attention", q, k, v, dst);
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                int bsz = (int) ql.shape().dim(0),
                        hq = (int) ql.shape().dim(1),
                        lq = (int) ql.shape().dim(2),
                        d = (int) ql.shape().dim(3);
                int hkv = (int) kl.shape().dim(1),
                        lk = (int) kl.shape().dim(2),
                        dv = (int) vl.shape().dim(3);
                long rows = (long) bsz * hq * lq;
                if (rows == 0) return;
                long shared = attentionSharedBytes(d);
                CudaStorage out = dev(dst, "attention");
                boolean direct = dl.isContiguous();
                CudaStorage target = direct ? out : (CudaStorage) allocate(DType.F32, dl.numel(), a);
                kernels.launch(
                        "attention",
                        "attention_f32",
                        (int) Math.min((rows + ATTENTION_WARPS - 1) / ATTENTION_WARPS, 1 << 20),
                        32 * ATTENTION_WARPS,
                        (int) shared,
                        stream.handle(),
                        contiguous(dev(q, "attention"), ql, a),
                        contiguous(dev(k, "attention"), kl, a),
                        contiguous(dev(v, "attention"), vl, a),
                        target.pointer(direct ? dl.offset() : 0),
                        bsz,
                        hq,
                        hkv,
                        lq,
                        lk,
                        d,
                        dv,
                        causal ? 1 : 0,
                        (float) scale);
                if (!direct) copyStrided(target, Layout.contiguous(dl.shape()), out, dl, a);
            }
        });
    }

    @Override
    public void where(Storage c, Layout cl, Storage x, Layout xl, Storage y, Layout yl, Storage dst, Layout dl) {
        requireF32("where", x, y, dst);
        run(() -> {
            try (Arena a = Arena.ofConfined()) {
                long n = dl.numel();
                if (n > 0)
                    kernels.launch(
                            "elementwise",
                            "where_f32",
                            grid(n),
                            BLOCK,
                            0,
                            stream.handle(),
                            StridedArg.of(a, cl),
                            dev(c, "where").pointer(0),
                            StridedArg.of(a, xl),
                            dev(x, "where").pointer(0),
                            StridedArg.of(a, yl),
                            dev(y, "where").pointer(0),
                            StridedArg.of(a, dl),
                            dev(dst, "where").pointer(0),
                            n);
            }
        });
    }

    /** Whether a dtype goes through cuBLAS GEMM here. */
    static CudaDataType gemmType(DType t) {
        return switch (t) {
            case F32, F16, BF16 -> CudaDataType.of(t);
            default ->
                throw new UnsupportedOperationException("cuda matmul: cuBLAS path takes F32, F16 or BF16, got " + t);
        };
    }

    static CublasComputeType computeType(DType t, boolean tf32) {
        return t == DType.F32 && tf32 ? CublasComputeType.COMPUTE_32F_FAST_TF32 : CublasComputeType.COMPUTE_32F;
    }

    static CublasOperation op(boolean transposed) {
        return transposed ? CublasOperation.T : CublasOperation.N;
    }
}
