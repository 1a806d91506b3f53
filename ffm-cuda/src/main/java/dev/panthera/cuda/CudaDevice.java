package dev.panthera.cuda;

/** One CUDA device: its ordinal, compute capability and SM count. */
public record CudaDevice(int index, int major, int minor, int multiprocessors) {
    /** Makes {@code index} current on this thread and reads its properties; throws when CUDA is not usable. */
    public static CudaDevice open(int index) {
        CudaProbe.Result probe = CudaProbe.probe();
        if (!probe.ok()) {
            throw new CudaException(
                    "panthera",
                    "CudaDevice.open",
                    CudaException.NO_LIBRARY,
                    probe.status().name(),
                    probe.reason());
        }
        if (index < 0 || index >= probe.deviceCount()) {
            throw new IllegalArgumentException("CudaDevice.open: device " + index + " of " + probe.deviceCount());
        }
        Cudart rt = Cudart.get();
        rt.setDevice(index);
        return new CudaDevice(
                index,
                rt.deviceAttribute(Cudart.DEV_ATTR_COMPUTE_CAPABILITY_MAJOR, index),
                rt.deviceAttribute(Cudart.DEV_ATTR_COMPUTE_CAPABILITY_MINOR, index),
                rt.deviceAttribute(Cudart.DEV_ATTR_MULTIPROCESSOR_COUNT, index));
    }

    /** NVRTC's architecture name, e.g. "sm_90". */
    public String arch() {
        return "sm_" + major + minor;
    }

    /** Makes this device current on the calling thread. */
    public void makeCurrent() {
        Cudart.get().setDevice(index);
    }
}
