package dev.panthera.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;

/**
 * cuDNN 9 ({@code libcudnn.so.9}; the legacy softmax lives in its ops sub-library, which the front library
 * forwards to). Status codes become {@link CudaException}s with cudnnGetErrorString.
 */
public final class Cudnn {
    /** CUDNN_SOFTMAX_FAST = 0 (cudnnSoftmaxAlgorithm_t). */
    public static final int SOFTMAX_FAST = 0;
    /** CUDNN_SOFTMAX_ACCURATE = 1 (subtracts the max). */
    public static final int SOFTMAX_ACCURATE = 1;
    /** CUDNN_SOFTMAX_LOG = 2. */
    public static final int SOFTMAX_LOG = 2;
    /** CUDNN_SOFTMAX_MODE_INSTANCE = 0 (cudnnSoftmaxMode_t: over C·H·W per N). */
    public static final int SOFTMAX_MODE_INSTANCE = 0;
    /** CUDNN_SOFTMAX_MODE_CHANNEL = 1 (over C for each N, H, W). */
    public static final int SOFTMAX_MODE_CHANNEL = 1;

    private static volatile Cudnn instance;

    final NativeFunction create,
            destroy,
            setStream,
            getErrorString,
            getVersion,
            createTensorDescriptor,
            setTensor4dDescriptorEx,
            destroyTensorDescriptor,
            softmaxForward;

    Cudnn(NativeLibrary lib) {
        create = lib.function("cudnnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cudnnDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = lib.function("cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getErrorString = lib.function("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getVersion = lib.function("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        createTensorDescriptor = lib.function("cudnnCreateTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setTensor4dDescriptorEx = lib.function(
                "cudnnSetTensor4dDescriptorEx",
                FunctionDescriptor.of(
                        JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                        JAVA_INT, JAVA_INT));
        destroyTensorDescriptor =
                lib.function("cudnnDestroyTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        softmaxForward = lib.function(
                "cudnnSoftmaxForward",
                FunctionDescriptor.of(
                        JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    }

    /** The process's cuDNN binding; throws NO_LIBRARY when libcudnn cannot be loaded. */
    public static Cudnn get() {
        Cudnn c = instance;
        if (c == null) {
            synchronized (Cudnn.class) {
                if (instance == null) instance = new Cudnn(CudaLibraries.get(CudaLibrary.CUDNN));
                c = instance;
            }
        }
        return c;
    }

    /** Throws for a non-zero cudnnStatus_t. */
    public void check(String function, int status) {
        if (status == 0) return;
        String message = null;
        try {
            message = Cudart.cString((MemorySegment) getErrorString.call(status), null);
        } catch (RuntimeException ignored) {
            // no message
        }
        throw new CudaException("cudnn", function, status, StatusNames.name(StatusNames.CUDNN, status), message);
    }

    /** cudnnGetVersion (e.g. 91000). */
    public long version() {
        return (Long) getVersion.call();
    }

    /** cudnnCreate. */
    public MemorySegment createHandle() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check("cudnnCreate", create.callInt(p));
            return p.get(ADDRESS, 0);
        }
    }

    /** cudnnDestroy. */
    public void destroyHandle(MemorySegment handle) {
        check("cudnnDestroy", destroy.callInt(handle));
    }

    /** cudnnSetStream. */
    public void setStream(MemorySegment handle, MemorySegment stream) {
        check("cudnnSetStream", setStream.callInt(handle, stream));
    }

    /**
     * Softmax over the middle dimension of a contiguous [outer, n, inner] tensor: cuDNN sees NCHW with N = outer,
     * C = n, H = inner, W = 1 and CHANNEL mode. {@code x} and {@code y} are device pointers.
     */
    public void softmax(
            MemorySegment handle,
            CudnnDataType type,
            int outer,
            int n,
            int inner,
            boolean log,
            MemorySegment x,
            MemorySegment y) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment descP = a.allocate(ADDRESS);
            check("cudnnCreateTensorDescriptor", createTensorDescriptor.callInt(descP));
            MemorySegment desc = descP.get(ADDRESS, 0);
            try {
                check(
                        "cudnnSetTensor4dDescriptorEx",
                        setTensor4dDescriptorEx.callInt(desc, type.code(), outer, n, inner, 1, n * inner, inner, 1, 1));
                boolean dbl = type == CudnnDataType.DOUBLE;
                MemorySegment one = dbl ? a.allocateFrom(JAVA_DOUBLE, 1.0) : a.allocateFrom(JAVA_FLOAT, 1f);
                MemorySegment zero = dbl ? a.allocateFrom(JAVA_DOUBLE, 0.0) : a.allocateFrom(JAVA_FLOAT, 0f);
                check(
                        "cudnnSoftmaxForward",
                        softmaxForward.callInt(
                                handle,
                                log ? SOFTMAX_LOG : SOFTMAX_ACCURATE,
                                SOFTMAX_MODE_CHANNEL,
                                one,
                                desc,
                                x,
                                zero,
                                desc,
                                y));
            } finally {
                destroyTensorDescriptor.callInt(desc);
            }
        }
    }
}
