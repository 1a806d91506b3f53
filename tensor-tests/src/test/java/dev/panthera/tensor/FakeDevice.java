package dev.panthera.tensor;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

/**
 * A backend that claims device cuda:0 and keeps its memory out of the CPU's reach: its storage's segment() throws,
 * as real device storage does. Kernels run on the reference backend over the hidden host memory (a dynamic proxy,
 * so every SPI method is covered). Lets the device rules (where zeros are made, how values are read back) be tested
 * without a GPU.
 */
final class FakeDevice {
    private FakeDevice() {}

    static final Device DEVICE = Device.cuda(0);

    /** Device storage over hidden host storage. */
    record Hidden(Storage inner) implements Storage {
        @Override
        public DType dtype() {
            return inner.dtype();
        }

        @Override
        public Device device() {
            return DEVICE;
        }

        @Override
        public long numel() {
            return inner.numel();
        }

        @Override
        public MemorySegment segment() {
            throw new IllegalStateException("storage on " + DEVICE + " has no host segment");
        }

        @Override
        public Object owner() {
            return inner.owner();
        }

        @Override
        public boolean isAlive() {
            return inner.isAlive();
        }
    }

    private static final MemoryPool POOL = new MemoryPool(
            "fake-" + DEVICE,
            bytes -> {
                Arena a = Arena.ofShared();
                return new MemoryPool.Block(a.allocate(bytes, Storage.ALIGNMENT), a::close);
            },
            1 << 20);

    static Backend backend() {
        return backend(POOL);
    }

    /** The stand-in backend drawing scoped memory from {@code pool}. */
    static Backend backend(MemoryPool pool) {
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "name":
                            return "fake-device";
                        case "device":
                            return DEVICE;
                        case "memoryPool":
                            return pool;
                        case "toString":
                            return "fake-device backend";
                        case "hashCode":
                            return System.identityHashCode(proxy);
                        case "equals":
                            return proxy == args[0];
                        case "allocate":
                            if (args[2] instanceof MemoryPool.Allocation a)
                                return new Hidden(Storage.pooled((DType) args[0], (long) args[1], a));
                            return new Hidden(ReferenceBackend.INSTANCE.allocate(
                                    (DType) args[0], (long) args[1], (Arena) args[2]));
                        case "allocateGcManaged":
                            return new Hidden(
                                    ReferenceBackend.INSTANCE.allocateGcManaged((DType) args[0], (long) args[1]));
                        case "fused":
                            return FUSED;
                        default:
                            return onHidden(method, args);
                    }
                });
    }

    /** The reference's fused kernels over the hidden host memory. */
    private static final FusedKernels FUSED = (FusedKernels) Proxy.newProxyInstance(
            FusedKernels.class.getClassLoader(),
            new Class<?>[] {FusedKernels.class},
            (proxy, method, args) -> onHidden(method, args));

    /** Runs {@code method} on the reference backend with every device storage replaced by its hidden host one. */
    private static Object onHidden(java.lang.reflect.Method method, Object[] args) throws Throwable {
        Object[] plain = args == null ? null : args.clone();
        if (plain != null)
            for (int i = 0; i < plain.length; i++) if (plain[i] instanceof Hidden h) plain[i] = h.inner();
        try {
            return method.invoke(ReferenceBackend.INSTANCE, plain);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
