package dev.panthera.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;

/**
 * The CUDA runtime ({@code libcudart.so.13}, fallback {@code .so.12}). Every method checks the returned
 * {@code cudaError_t} and throws a {@link CudaException} carrying cudaGetErrorName/cudaGetErrorString.
 */
public final class Cudart {
    /** cudaDevAttrMultiProcessorCount (driver_types.h). */
    public static final int DEV_ATTR_MULTIPROCESSOR_COUNT = 16;
    /** cudaDevAttrComputeCapabilityMajor. */
    public static final int DEV_ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    /** cudaDevAttrComputeCapabilityMinor. */
    public static final int DEV_ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    /** cudaErrorInsufficientDriver: the driver is absent or older than this runtime. */
    public static final int ERROR_INSUFFICIENT_DRIVER = 35;
    /** cudaErrorStubLibrary: libcuda.so is the toolkit's stub, not a real driver. */
    public static final int ERROR_STUB_LIBRARY = 34;
    /** cudaErrorNoDevice. */
    public static final int ERROR_NO_DEVICE = 100;

    private static volatile Cudart instance;

    private final NativeLibrary lib;
    final NativeFunction getErrorName,
            getErrorString,
            getDeviceCount,
            setDevice,
            getDevice,
            deviceGetAttribute,
            runtimeGetVersion,
            driverGetVersion,
            deviceSynchronize,
            getLastError,
            malloc,
            free,
            mallocAsync,
            freeAsync,
            mallocHost,
            freeHost,
            memcpy,
            memcpyAsync,
            memsetAsync,
            streamCreate,
            streamDestroy,
            streamSynchronize,
            eventCreate,
            eventDestroy,
            eventRecord,
            eventSynchronize,
            eventElapsedTime;

    Cudart(NativeLibrary lib) {
        this.lib = lib;
        FunctionDescriptor intFromInt = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        FunctionDescriptor intFromPtr = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        getErrorName = lib.function("cudaGetErrorName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getErrorString = lib.function("cudaGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getDeviceCount = lib.function("cudaGetDeviceCount", intFromPtr);
        setDevice = lib.function("cudaSetDevice", intFromInt);
        getDevice = lib.function("cudaGetDevice", intFromPtr);
        deviceGetAttribute =
                lib.function("cudaDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        runtimeGetVersion = lib.function("cudaRuntimeGetVersion", intFromPtr);
        driverGetVersion = lib.function("cudaDriverGetVersion", intFromPtr);
        deviceSynchronize = lib.function("cudaDeviceSynchronize", FunctionDescriptor.of(JAVA_INT));
        getLastError = lib.function("cudaGetLastError", FunctionDescriptor.of(JAVA_INT));
        malloc = lib.function("cudaMalloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        free = lib.function("cudaFree", intFromPtr);
        mallocAsync = lib.function("cudaMallocAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        freeAsync = lib.function("cudaFreeAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        mallocHost = lib.function("cudaMallocHost", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        freeHost = lib.function("cudaFreeHost", intFromPtr);
        memcpy = lib.function("cudaMemcpy", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
        memcpyAsync = lib.function(
                "cudaMemcpyAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS));
        memsetAsync =
                lib.function("cudaMemsetAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS));
        streamCreate = lib.function("cudaStreamCreate", intFromPtr);
        streamDestroy = lib.function("cudaStreamDestroy", intFromPtr);
        streamSynchronize = lib.function("cudaStreamSynchronize", intFromPtr);
        eventCreate = lib.function("cudaEventCreate", intFromPtr);
        eventDestroy = lib.function("cudaEventDestroy", intFromPtr);
        eventRecord = lib.function("cudaEventRecord", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        eventSynchronize = lib.function("cudaEventSynchronize", intFromPtr);
        eventElapsedTime =
                lib.function("cudaEventElapsedTime", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    }

    /** The process's runtime binding; throws NO_LIBRARY when libcudart cannot be loaded. */
    public static Cudart get() {
        Cudart c = instance;
        if (c == null) {
            synchronized (Cudart.class) {
                if (instance == null) instance = new Cudart(CudaLibraries.get(CudaLibrary.CUDART));
                c = instance;
            }
        }
        return c;
    }

    /** Where the runtime was loaded from. */
    public String source() {
        return lib.source();
    }

    /** Throws a {@link CudaException} for a non-zero status of {@code function}. */
    public void check(String function, int status) {
        if (status != 0) throw error(function, status);
    }

    /** The exception for {@code status}, named and described by the runtime itself when it can. */
    public CudaException error(String function, int status) {
        String name = StatusNames.name(StatusNames.CUDART, status);
        String message = null;
        try {
            name = cString((MemorySegment) getErrorName.call(status), name);
            message = cString((MemorySegment) getErrorString.call(status), null);
        } catch (RuntimeException ignored) {
            // keep the table's name
        }
        return new CudaException("cudart", function, status, name, message);
    }

    static String cString(MemorySegment p, String fallback) {
        if (p == null || p.address() == 0) return fallback;
        return p.reinterpret(4096).getString(0);
    }

    /** Raw status of cudaGetDeviceCount, with the count written to {@code out[0]} (used by the probe). */
    public int getDeviceCountStatus(int[] out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            int s = getDeviceCount.callInt(p);
            out[0] = p.get(JAVA_INT, 0);
            return s;
        }
    }

    /** cudaGetDeviceCount. */
    public int deviceCount() {
        int[] n = new int[1];
        check("cudaGetDeviceCount", getDeviceCountStatus(n));
        return n[0];
    }

    /** cudaSetDevice. */
    public void setDevice(int device) {
        check("cudaSetDevice", setDevice.callInt(device));
    }

    /** cudaDeviceGetAttribute. */
    public int deviceAttribute(int attribute, int device) {
        return outInt("cudaDeviceGetAttribute", p -> deviceGetAttribute.callInt(p, attribute, device));
    }

    /** cudaRuntimeGetVersion (e.g. 13000). */
    public int runtimeVersion() {
        return outInt("cudaRuntimeGetVersion", runtimeGetVersion::callInt);
    }

    /** cudaDriverGetVersion (0 when no driver is installed). */
    public int driverVersion() {
        return outInt("cudaDriverGetVersion", driverGetVersion::callInt);
    }

    /** cudaDeviceSynchronize. */
    public void deviceSynchronize() {
        check("cudaDeviceSynchronize", deviceSynchronize.callInt());
    }

    /** cudaMallocAsync: {@code bytes} of device memory ordered on {@code stream}. */
    public MemorySegment mallocAsync(long bytes, MemorySegment stream) {
        return outPtr("cudaMallocAsync", p -> mallocAsync.callInt(p, bytes, stream));
    }

    /** cudaFreeAsync. */
    public void freeAsync(MemorySegment devicePtr, MemorySegment stream) {
        check("cudaFreeAsync", freeAsync.callInt(devicePtr, stream));
    }

    /** cudaMallocHost: page-locked host memory. */
    public MemorySegment mallocHost(long bytes) {
        return outPtr("cudaMallocHost", p -> mallocHost.callInt(p, bytes));
    }

    /** cudaFreeHost. */
    public void freeHost(MemorySegment hostPtr) {
        check("cudaFreeHost", freeHost.callInt(hostPtr));
    }

    /** cudaMemcpyAsync. */
    public void memcpyAsync(
            MemorySegment dst, MemorySegment src, long bytes, CudaMemcpyKind kind, MemorySegment stream) {
        check("cudaMemcpyAsync", memcpyAsync.callInt(dst, src, bytes, kind.code(), stream));
    }

    /** cudaMemsetAsync. */
    public void memsetAsync(MemorySegment dst, int value, long bytes, MemorySegment stream) {
        check("cudaMemsetAsync", memsetAsync.callInt(dst, value, bytes, stream));
    }

    /** cudaStreamCreate. */
    public MemorySegment streamCreate() {
        return outPtr("cudaStreamCreate", streamCreate::callInt);
    }

    /** cudaStreamDestroy. */
    public void streamDestroy(MemorySegment stream) {
        check("cudaStreamDestroy", streamDestroy.callInt(stream));
    }

    /** cudaStreamSynchronize. */
    public void streamSynchronize(MemorySegment stream) {
        check("cudaStreamSynchronize", streamSynchronize.callInt(stream));
    }

    /** cudaEventCreate. */
    public MemorySegment eventCreate() {
        return outPtr("cudaEventCreate", eventCreate::callInt);
    }

    /** cudaEventDestroy. */
    public void eventDestroy(MemorySegment event) {
        check("cudaEventDestroy", eventDestroy.callInt(event));
    }

    /** cudaEventRecord. */
    public void eventRecord(MemorySegment event, MemorySegment stream) {
        check("cudaEventRecord", eventRecord.callInt(event, stream));
    }

    /** cudaEventSynchronize. */
    public void eventSynchronize(MemorySegment event) {
        check("cudaEventSynchronize", eventSynchronize.callInt(event));
    }

    /** cudaEventElapsedTime in milliseconds. */
    public float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_FLOAT);
            check("cudaEventElapsedTime", eventElapsedTime.callInt(p, start, end));
            return p.get(JAVA_FLOAT, 0);
        }
    }

    interface Call {
        int apply(MemorySegment out);
    }

    int outInt(String function, Call call) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check(function, call.apply(p));
            return p.get(JAVA_INT, 0);
        }
    }

    MemorySegment outPtr(String function, Call call) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check(function, call.apply(p));
            return p.get(ADDRESS, 0);
        }
    }
}
