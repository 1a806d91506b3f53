package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The SPI plumbing: {@link Backends#use} routes this thread's ops — forward and backward — to the chosen backend
 * and only while the handle is open, nests, and does not leak to other threads. A spy backend (a dynamic proxy that
 * delegates every SPI method to the reference and records its name) shows which kernels ran; the proxy needs no
 * update when the SPI grows.
 */
class BackendRoutingTest {

    private static Backend spy(List<String> calls) {
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class, FusedKernels.class}, (p, m, args) -> {
                    if (m.getDeclaringClass() == Object.class) {
                        return switch (m.getName()) {
                            case "hashCode" -> System.identityHashCode(p);
                            case "equals" -> p == args[0];
                            default -> "spy";
                        };
                    }
                    if (m.getName().equals("fused")) return p; // the spy's fused kernels are the spy
                    if (!m.getName().equals("name") && !m.getName().equals("device")) calls.add(m.getName());
                    try {
                        return m.invoke(ReferenceBackend.INSTANCE, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void opsRunOnTheChosenBackendOnlyWhileTheHandleIsOpen() throws Exception {
        List<String> calls = new CopyOnWriteArrayList<>();
        Backend s = spy(calls);
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor y;
        try (var use = Backends.use(s)) {
            assertSame(s, Backends.forDevice(Device.CPU));
            y = a.matmul(a.t()).softmax(-1).sum(new int[] {0}, false).add(1);
        }
        assertTrue(
                calls.containsAll(List.of("allocateGcManaged", "matmul", "softmax", "reduce", "binary")),
                calls.toString());
        // same numbers as on the default backend
        assertArrayEquals(
                a.matmul(a.t()).softmax(-1).sum(new int[] {0}, false).add(1).toFloatArray(), y.toFloatArray());
        int before = calls.size();
        a.exp();
        assertEquals(before, calls.size(), "after close, ops no longer reach the spy");
        assertTrue(Backends.forDevice(Device.CPU) != s, "back to the default choice");
    }

    @Test
    void backwardRunsOnTheChosenBackendToo() throws Exception {
        List<String> calls = new CopyOnWriteArrayList<>();
        Tensor w = Tensor.of(new double[] {0.5, -1, 2}, 3).requiresGrad(true);
        try (var use = Backends.use(spy(calls))) {
            w.mul(w).exp().sum().backward();
        }
        assertTrue(
                calls.stream().filter(c -> c.equals("binary")).count() >= 3,
                "forward mul plus backward mul/add: " + calls);
        double[] g = w.grad().toDoubleArray();
        for (int i = 0; i < 3; i++) {
            double x = new double[] {0.5, -1, 2}[i];
            assertEquals(2 * x * Math.exp(x * x), g[i], 1e-12);
        }
    }

    @Test
    void handlesNestAndStayOnTheirThread() throws Exception {
        List<String> outer = new CopyOnWriteArrayList<>(),
                inner = new CopyOnWriteArrayList<>(),
                other = new CopyOnWriteArrayList<>();
        Backend so = spy(outer), si = spy(inner);
        AtomicReference<Backend> seenElsewhere = new AtomicReference<>();
        try (var u1 = Backends.use(so)) {
            try (var u2 = Backends.use(si)) {
                Tensor.ones(3).exp();
                Thread th = new Thread(() -> {
                    seenElsewhere.set(Backends.forDevice(Device.CPU));
                    try (var u3 = Backends.use(spy(other))) {
                        Tensor.ones(2).neg();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                th.start();
                th.join();
            }
            assertSame(so, Backends.forDevice(Device.CPU), "closing the inner handle restores the outer one");
            Tensor.ones(3).tanh();
        }
        assertTrue(inner.contains("unary") && outer.contains("unary"), "inner " + inner + " outer " + outer);
        assertTrue(other.contains("unary"), "the other thread's own override worked: " + other);
        assertTrue(
                seenElsewhere.get() != so && seenElsewhere.get() != si,
                "another thread does not inherit this thread's override");
    }

    @Test
    void noBackendForADeviceWithoutProviderIsAClearError() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Backends.named("no-such-backend", Device.CPU));
        assertTrue(e.getMessage().contains("no-such-backend") && e.getMessage().contains("reference"), e.getMessage());
        assertTrue(Backends.available().contains("reference (CPU)"));
        assertSame(ReferenceBackend.INSTANCE, Backends.named("reference", Device.CPU));
        // the tensor module ships no CUDA provider: asking for that device names what is available
        IllegalArgumentException cuda =
                assertThrows(IllegalArgumentException.class, () -> Backends.forDevice(Device.cuda(0)));
        assertTrue(
                cuda.getMessage().contains("cuda:0") && cuda.getMessage().contains("reference (CPU)"),
                cuda.getMessage());
    }
}
