package dev.panthera.tensor;

/** Where a tensor's memory lives. */
public record Device(Kind kind, int index) {
    /** Device families. */
    public enum Kind {
        CPU,
        CUDA
    }

    /** The host. */
    public static final Device CPU = new Device(Kind.CPU, 0);

    public Device {
        if (kind == null) throw new IllegalArgumentException("Device: kind is null");
        if (index < 0) throw new IllegalArgumentException("Device: negative index " + index);
    }

    /** The CUDA device with the given ordinal. */
    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
