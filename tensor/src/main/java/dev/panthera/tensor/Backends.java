package dev.panthera.tensor;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.BackendProvider;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which backend runs tensor ops. Providers are found once with {@link ServiceLoader}; for each device the available
 * provider with the highest priority wins, and the scalar reference backend always serves the CPU. A thread can
 * run a block on a chosen backend with {@link #use(Backend)} (tests run the same code on every backend this way).
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private static final ThreadLocal<Backend> OVERRIDE = new ThreadLocal<>();
    private static final Map<Device, Backend> CHOSEN = new ConcurrentHashMap<>();

    private Backends() {}

    private static final class Providers { // lazy holder: discovery runs once, on first use
        static final List<BackendProvider> ALL = discover();

        private static List<BackendProvider> discover() {
            List<BackendProvider> found = new ArrayList<>();
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
                try {
                    if (p.isAvailable()) found.add(p);
                } catch (RuntimeException | LinkageError e) {
                    LOG.warn(
                            "backend provider {} failed its availability check and is skipped: {}",
                            p.name(),
                            e.toString());
                }
            }
            found.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
            return List.copyOf(found);
        }
    }

    /** The names of the available providers, best first. */
    public static List<String> available() {
        List<String> names = new ArrayList<>();
        for (BackendProvider p : Providers.ALL) names.add(p.name() + " (" + p.deviceKind() + ")");
        names.add("reference (CPU)");
        return names;
    }

    /** The backend that serves {@code device} on this thread. */
    public static Backend forDevice(Device device) {
        Backend o = OVERRIDE.get();
        if (o != null && o.device().kind() == device.kind()) return o;
        return CHOSEN.computeIfAbsent(device, Backends::choose);
    }

    private static Backend choose(Device device) {
        for (BackendProvider p : Providers.ALL) {
            if (p.deviceKind() == device.kind()) return p.create(device);
        }
        if (device.kind() == Device.Kind.CPU) return ReferenceBackend.INSTANCE;
        throw new IllegalArgumentException("no backend available for device " + device + "; available: " + available());
    }

    /** The backend named {@code name} for {@code device} ("reference" always exists for the CPU). */
    public static Backend named(String name, Device device) {
        if (name.equals("reference") && device.kind() == Device.Kind.CPU) return ReferenceBackend.INSTANCE;
        for (BackendProvider p : Providers.ALL) {
            if (p.name().equals(name) && p.deviceKind() == device.kind()) return p.create(device);
        }
        throw new IllegalArgumentException(
                "no backend named '" + name + "' for " + device + "; available: " + available());
    }

    /** Runs this thread's ops on {@code backend} until the returned handle is closed. */
    public static Handle use(Backend backend) {
        Backend previous = OVERRIDE.get();
        OVERRIDE.set(backend);
        return () -> {
            if (previous == null) OVERRIDE.remove();
            else OVERRIDE.set(previous);
        };
    }
}
