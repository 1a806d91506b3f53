package dev.panthera.cuda.backend;

import dev.panthera.cuda.CudaLibraries;
import dev.panthera.cuda.CudaLibrary;
import dev.panthera.cuda.CudaProbe;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.BackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** ServiceLoader entry: the CUDA backend, available when a GPU, cuBLAS, NVRTC and the driver library are present. */
public final class CudaBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(CudaBackendProvider.class);

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Device.Kind deviceKind() {
        return Device.Kind.CUDA;
    }

    @Override
    public boolean isAvailable() {
        try {
            CudaProbe.Result r = CudaProbe.probe();
            if (!r.ok()) {
                LOG.info("CUDA backend unavailable: {} ({})", r.status(), r.reason());
                return false;
            }
            for (CudaLibrary lib : new CudaLibrary[] {CudaLibrary.CUBLAS, CudaLibrary.NVRTC, CudaLibrary.DRIVER}) {
                if (!CudaLibraries.isLoadable(lib)) {
                    LOG.warn(
                            "CUDA backend unavailable: {} not found (set -D{} or {})",
                            lib.sonames(),
                            lib.propertyName(),
                            lib.environmentName());
                    return false;
                }
            }
            return true;
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("CUDA backend unavailable: {}", e.toString());
            return false;
        }
    }

    @Override
    public Backend create(Device device) {
        return new CudaBackend(device);
    }
}
