package dev.panthera.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** NVRTC, the runtime CUDA C++ compiler ({@code libnvrtc.so.13}, fallback {@code .so.12}). */
public final class Nvrtc {
    private static volatile Nvrtc instance;

    final NativeFunction version,
            createProgram,
            destroyProgram,
            compileProgram,
            getProgramLogSize,
            getProgramLog,
            getCubinSize,
            getCubin,
            getPtxSize,
            getPtx,
            getErrorString;

    Nvrtc(NativeLibrary lib) {
        version = lib.function("nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createProgram = lib.function(
                "nvrtcCreateProgram",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        destroyProgram = lib.function("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        compileProgram =
                lib.function("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        getProgramLogSize = lib.function("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getProgramLog = lib.function("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getCubinSize = lib.function("nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getCubin = lib.function("nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getPtxSize = lib.function("nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getPtx = lib.function("nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getErrorString = lib.function("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** The process's NVRTC binding; throws NO_LIBRARY when libnvrtc cannot be loaded. */
    public static Nvrtc get() {
        Nvrtc c = instance;
        if (c == null) {
            synchronized (Nvrtc.class) {
                if (instance == null) instance = new Nvrtc(CudaLibraries.get(CudaLibrary.NVRTC));
                c = instance;
            }
        }
        return c;
    }

    /** Throws for a non-zero nvrtcResult, with {@code log} (the compile log) appended when given. */
    void check(String function, int status, String log) {
        if (status == 0) return;
        String message = null;
        try {
            message = Cudart.cString((MemorySegment) getErrorString.call(status), null);
        } catch (RuntimeException ignored) {
            // no message
        }
        if (log != null && !log.isBlank()) message = (message == null ? "" : message + "\n") + log;
        throw new CudaException("nvrtc", function, status, StatusNames.name(StatusNames.NVRTC, status), message);
    }

    /** nvrtcVersion as "major.minor". */
    public String versionString() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(JAVA_INT), minor = a.allocate(JAVA_INT);
            check("nvrtcVersion", version.callInt(major, minor), null);
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        }
    }

    /**
     * Compiles {@code source} with {@code options} (e.g. "--gpu-architecture=sm_90") and returns the CUBIN (or PTX when
     * {@code ptx}). A compile error throws with NVRTC's log in the message.
     */
    public byte[] compile(String name, String source, List<String> options, boolean ptx) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progP = a.allocate(ADDRESS);
            check(
                    "nvrtcCreateProgram",
                    createProgram.callInt(
                            progP,
                            a.allocateFrom(source),
                            a.allocateFrom(name),
                            0,
                            MemorySegment.NULL,
                            MemorySegment.NULL),
                    null);
            MemorySegment prog = progP.get(ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                int status = compileProgram.callInt(prog, options.size(), opts);
                if (status != 0) check("nvrtcCompileProgram", status, log(a, prog));
                MemorySegment sizeP = a.allocate(JAVA_LONG);
                check(
                        ptx ? "nvrtcGetPTXSize" : "nvrtcGetCUBINSize",
                        (ptx ? getPtxSize : getCubinSize).callInt(prog, sizeP),
                        null);
                long size = sizeP.get(JAVA_LONG, 0);
                MemorySegment out = a.allocate(Math.max(1, size));
                check(ptx ? "nvrtcGetPTX" : "nvrtcGetCUBIN", (ptx ? getPtx : getCubin).callInt(prog, out), null);
                return out.asSlice(0, size).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            } finally {
                destroyProgram.callInt(progP);
            }
        }
    }

    private String log(Arena a, MemorySegment prog) {
        MemorySegment sizeP = a.allocate(JAVA_LONG);
        if (getProgramLogSize.callInt(prog, sizeP) != 0) return null;
        MemorySegment buf = a.allocate(Math.max(1, sizeP.get(JAVA_LONG, 0)));
        if (getProgramLog.callInt(prog, buf) != 0) return null;
        return buf.getString(0);
    }
}
