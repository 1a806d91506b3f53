package dev.panthera.cuda;

/**
 * Whether CUDA works in this process, and why not. Never throws: a missing library, a missing or too-old driver
 * and a machine without a GPU are answers, not errors.
 */
public final class CudaProbe {
    private CudaProbe() {}

    /** The probe's verdict. */
    public enum Status {
        /** libcudart could not be loaded. */
        NO_LIBRARY,
        /** The runtime loaded but no usable driver is installed (cudaErrorInsufficientDriver, stub library, ...). */
        NO_DRIVER,
        /** The driver works but sees no device. */
        NO_DEVICE,
        /** At least one device is usable. */
        OK
    }

    /** A verdict with the reason and the device count (0 unless OK). */
    public record Result(Status status, String reason, int deviceCount) {
        /** Whether a GPU is usable. */
        public boolean ok() {
            return status == Status.OK;
        }
    }

    private static volatile Result cached;

    /** Prints the verdict (used by the GPU bundle's run script); exit status 0 only when a GPU is usable. */
    public static void main(String[] args) {
        Result r = probe();
        System.out.println("CUDA probe: " + r.status() + " - " + r.reason());
        for (CudaLibrary lib : CudaLibrary.values()) {
            String where;
            try {
                where = CudaLibraries.get(lib).source();
            } catch (CudaException e) {
                where = "NOT FOUND";
            }
            System.out.println("  " + lib.shortName() + ": " + where);
        }
        if (!r.ok()) System.exit(2);
    }

    /** The probe, run once per process. */
    public static Result probe() {
        Result r = cached;
        if (r == null) cached = r = run();
        return r;
    }

    static Result run() {
        Cudart rt;
        try {
            rt = Cudart.get();
        } catch (CudaException e) {
            return new Result(Status.NO_LIBRARY, e.getMessage(), 0);
        } catch (RuntimeException e) {
            return new Result(Status.NO_LIBRARY, "libcudart: " + e, 0);
        }
        try {
            int[] count = new int[1];
            int s = rt.getDeviceCountStatus(count);
            return classify(
                    s,
                    count[0],
                    rt.source(),
                    s == 0 ? null : rt.error("cudaGetDeviceCount", s).getMessage());
        } catch (RuntimeException e) {
            return new Result(Status.NO_DRIVER, "cudaGetDeviceCount could not be called: " + e, 0);
        }
    }

    /** The verdict for a cudaGetDeviceCount status and count (pure, for tests). */
    static Result classify(int status, int count, String source, String message) {
        String from = " (runtime " + source + ")";
        return switch (status) {
            case 0 ->
                count > 0
                        ? new Result(Status.OK, count + " CUDA device(s)" + from, count)
                        : new Result(Status.NO_DEVICE, "cudaGetDeviceCount reports 0 devices" + from, 0);
            case Cudart.ERROR_NO_DEVICE -> new Result(Status.NO_DEVICE, message + from, 0);
            case Cudart.ERROR_INSUFFICIENT_DRIVER, Cudart.ERROR_STUB_LIBRARY, 3, 803 ->
                new Result(Status.NO_DRIVER, message + from, 0);
            default -> new Result(Status.NO_DRIVER, "unexpected: " + message + from, 0);
        };
    }
}
