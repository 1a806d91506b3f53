package dev.panthera.cuda.bench;

import dev.panthera.cuda.Cublas;
import dev.panthera.cuda.CublasComputeType;
import dev.panthera.cuda.CublasOperation;
import dev.panthera.cuda.CudaDataType;
import dev.panthera.cuda.CudaDevice;
import dev.panthera.cuda.CudaEvent;
import dev.panthera.cuda.CudaMemcpyKind;
import dev.panthera.cuda.CudaProbe;
import dev.panthera.cuda.CudaStream;
import dev.panthera.cuda.Cudart;
import dev.panthera.cuda.DeviceBuffer;
import dev.panthera.cuda.DeviceMemory;
import dev.panthera.cuda.PinnedBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GEMM TFLOP/s (TF32 and BF16, F32 accumulation, square 4096³ and 8192³) through Panthera's cuBLAS binding, and
 * host↔device copy GB/s with pinned buffers. Timed with CUDA events after warm-up; prints one line per result in
 * the same format as the PyTorch anchor in the bundle's run-bench.sh, so the two can be compared line by line.
 * Usage: GpuBench [sizes...] (default 4096 8192).
 */
public final class GpuBench {
    private GpuBench() {}

    public static void main(String[] args) {
        CudaProbe.Result probe = CudaProbe.probe();
        if (!probe.ok()) {
            System.out.println("GpuBench: no GPU (" + probe.status() + ": " + probe.reason() + ")");
            System.exit(2);
        }
        int[] sizes = args.length == 0
                ? new int[] {4096, 8192}
                : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        CudaDevice dev = CudaDevice.open(0);
        System.out.println("device 0: " + dev.arch() + ", " + dev.multiprocessors() + " SMs");
        Cudart rt = Cudart.get();
        Cublas cublas = Cublas.get();
        try (CudaStream stream = CudaStream.create();
                DeviceMemory mem = DeviceMemory.onStream(stream);
                CudaEvent start = CudaEvent.create();
                CudaEvent stop = CudaEvent.create()) {
            MemorySegment handle = cublas.createHandle();
            cublas.setStream(handle, stream.handle());
            for (int n : sizes) {
                for (String mode : new String[] {"tf32", "bf16"}) {
                    boolean bf16 = mode.equals("bf16");
                    int elem = bf16 ? 2 : 4;
                    long bytes = (long) n * n * elem;
                    DeviceBuffer a = mem.allocate(bytes), b = mem.allocate(bytes), c = mem.allocate(bytes);
                    fillRandom(stream, a, bytes, bf16, 1);
                    fillRandom(stream, b, bytes, bf16, 2);
                    CudaDataType t = bf16 ? CudaDataType.R_16BF : CudaDataType.R_32F;
                    CublasComputeType ct =
                            bf16 ? CublasComputeType.COMPUTE_32F : CublasComputeType.COMPUTE_32F_FAST_TF32;
                    Runnable gemm = () -> cublas.gemmEx(
                            handle,
                            CublasOperation.N,
                            CublasOperation.N,
                            n,
                            n,
                            n,
                            1f,
                            a.pointer(),
                            t,
                            n,
                            b.pointer(),
                            t,
                            n,
                            0f,
                            c.pointer(),
                            t,
                            n,
                            ct,
                            Cublas.GEMM_DEFAULT);
                    for (int i = 0; i < 3; i++) gemm.run();
                    stream.synchronize();
                    int iters = n >= 8192 ? 10 : 30;
                    start.record(stream);
                    for (int i = 0; i < iters; i++) gemm.run();
                    stop.record(stream);
                    stop.synchronize();
                    double seconds = stop.millisSince(start) / 1e3 / iters;
                    System.out.printf(
                            "panthera gemm %s %d: %.1f TFLOP/s (%.3f ms)%n",
                            mode, n, 2.0 * n * n * n / seconds / 1e12, seconds * 1e3);
                    a.close();
                    b.close();
                    c.close();
                }
            }
            long bytes = 256L << 20;
            try (PinnedBuffer host = PinnedBuffer.allocate(bytes)) {
                DeviceBuffer d = mem.allocate(bytes);
                for (CudaMemcpyKind kind :
                        new CudaMemcpyKind[] {CudaMemcpyKind.HOST_TO_DEVICE, CudaMemcpyKind.DEVICE_TO_HOST}) {
                    Runnable copy = kind == CudaMemcpyKind.HOST_TO_DEVICE
                            ? () -> rt.memcpyAsync(d.pointer(), host.segment(), bytes, kind, stream.handle())
                            : () -> rt.memcpyAsync(host.segment(), d.pointer(), bytes, kind, stream.handle());
                    copy.run();
                    stream.synchronize();
                    start.record(stream);
                    for (int i = 0; i < 10; i++) copy.run();
                    stop.record(stream);
                    stop.synchronize();
                    double seconds = stop.millisSince(start) / 1e3 / 10;
                    System.out.printf(
                            "panthera copy %s 256MiB pinned: %.1f GB/s%n",
                            kind == CudaMemcpyKind.HOST_TO_DEVICE ? "h2d" : "d2h", bytes / seconds / 1e9);
                }
            }
            cublas.destroyHandle(handle);
        }
    }

    private static void fillRandom(CudaStream stream, DeviceBuffer dst, long bytes, boolean bf16, long seed) {
        try (PinnedBuffer host = PinnedBuffer.allocate(bytes)) {
            MemorySegment s = host.segment();
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
            long n = bytes / (bf16 ? 2 : 4);
            for (long i = 0; i < n; i++) {
                float v = (float) (r.nextDouble() * 2 - 1);
                if (bf16) s.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                else s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            }
            stream.copyToDevice(s, dst, 0, bytes);
            stream.synchronize();
        }
    }
}
