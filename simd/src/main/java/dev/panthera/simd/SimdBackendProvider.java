package dev.panthera.simd;

import dev.panthera.tensor.Device;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.BackendProvider;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Offers {@link SimdBackend} when the JVM has the incubating Vector API (Lucene's way): without
 * {@code --add-modules jdk.incubator.vector} it logs one warning naming that flag and the reference backend serves.
 * This class does not touch {@code jdk.incubator.vector} itself, so it loads either way.
 *
 * <p>The warning goes through {@link System.Logger}, not SLF4J: with no SLF4J binding on the class path SLF4J prints
 * nothing, while the JDK's default logger (java.util.logging) prints WARNING to stderr, and an application that
 * routes JDK logging elsewhere (an SLF4J bridge, Log4j) receives it there.
 */
public final class SimdBackendProvider implements BackendProvider {
    /** The line logged when the Vector API module is missing. */
    static final String MISSING_VECTOR_API = "Panthera: the SIMD backend is off because the jdk.incubator.vector module"
            + " is not loaded; add --add-modules jdk.incubator.vector to the java command line. The scalar reference"
            + " backend serves meanwhile.";

    /** Once per JVM, however many times providers are loaded and asked. */
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Device.Kind deviceKind() {
        return Device.Kind.CPU;
    }

    @Override
    public boolean isAvailable() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            if (WARNED.compareAndSet(false, true))
                System.getLogger(SimdBackendProvider.class.getName())
                        .log(System.Logger.Level.WARNING, MISSING_VECTOR_API);
            return false;
        }
        return true;
    }

    @Override
    public Backend create(Device device) {
        return new SimdBackend();
    }
}
