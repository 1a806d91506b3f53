package dev.panthera.testing;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.FusedKernels;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend decorator that counts the calls of each SPI method (primitives and fused kernels, by method name) and
 * forwards them to the decorated backend; its {@code fused()} is itself when the decorated backend has fused kernels.
 * A dynamic proxy, so it needs no update when the SPI grows. Used to prove which kernels an op reached.
 */
public final class CountingBackend {
    private final Backend backend;
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

    private CountingBackend(Backend target, boolean withFused) {
        FusedKernels fused = withFused ? target.fused() : null;
        Class<?>[] types =
                fused == null ? new Class<?>[] {Backend.class} : new Class<?>[] {Backend.class, FusedKernels.class};
        this.backend = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), types, (p, m, args) -> {
            if (m.getDeclaringClass() == Object.class) {
                return switch (m.getName()) {
                    case "hashCode" -> System.identityHashCode(p);
                    case "equals" -> p == args[0];
                    default -> "counting " + target.name();
                };
            }
            if (m.getName().equals("fused")) return fused == null ? null : p;
            counts.computeIfAbsent(m.getName(), k -> new AtomicInteger()).incrementAndGet();
            return invoke(m, m.getDeclaringClass() == FusedKernels.class ? fused : target, args);
        });
    }

    private static Object invoke(Method m, Object target, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** A counting decorator of {@code target}. */
    public static CountingBackend of(Backend target) {
        return new CountingBackend(target, true);
    }

    /** A counting decorator of {@code target}'s primitives only: it offers no fused kernels, so tensor composes. */
    public static CountingBackend primitivesOf(Backend target) {
        return new CountingBackend(target, false);
    }

    /** The decorated backend, to pass to {@code Backends.use}. */
    public Backend backend() {
        return backend;
    }

    /** How often the SPI method {@code name} ran since the last {@link #reset}. */
    public int count(String name) {
        AtomicInteger c = counts.get(name);
        return c == null ? 0 : c.get();
    }

    public void reset() {
        counts.clear();
    }

    @Override
    public String toString() {
        return counts.toString();
    }
}
