package dev.panthera.simd;

import dev.panthera.tensor.Device;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.BackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Offers {@link SimdBackend} when the JVM has the incubating Vector API (Lucene's way): without
 * {@code --add-modules jdk.incubator.vector} it logs one warning naming that flag and the reference backend serves.
 * This class does not touch {@code jdk.incubator.vector} itself, so it loads either way.
 */
public final class SimdBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(SimdBackendProvider.class);

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
            LOG.warn(
                    "Panthera's SIMD backend is off: the Vector API module is not loaded. Start the JVM with "
                            + "--add-modules jdk.incubator.vector to enable it; the scalar reference backend is used meanwhile.");
            return false;
        }
        return true;
    }

    @Override
    public Backend create(Device device) {
        return new SimdBackend();
    }
}
