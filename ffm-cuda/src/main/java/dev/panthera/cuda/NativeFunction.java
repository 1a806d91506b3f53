package dev.panthera.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * One C function of a loaded library, bound on first use: a symbol the library does not export fails only when it
 * is called, with a {@link CudaException} naming it.
 */
public final class NativeFunction {
    private final NativeLibrary library;
    private final String name;
    private final FunctionDescriptor descriptor;
    private volatile MethodHandle handle;

    NativeFunction(NativeLibrary library, String name, FunctionDescriptor descriptor) {
        this.library = library;
        this.name = name;
        this.descriptor = descriptor;
    }

    /** The exported C name. */
    public String name() {
        return name;
    }

    /** Whether the library exports the symbol (binds it as a side effect). */
    public boolean isPresent() {
        return handle != null || library.lookup().find(name).isPresent();
    }

    /** The downcall handle, bound now if it was not yet. */
    public MethodHandle handle() {
        MethodHandle h = handle;
        if (h == null) {
            synchronized (this) {
                h = handle;
                if (h == null) {
                    MemorySegment address = library.lookup()
                            .find(name)
                            .orElseThrow(() -> new CudaException(
                                    library.library().shortName(),
                                    name,
                                    CudaException.SYMBOL_NOT_FOUND,
                                    "SYMBOL_NOT_FOUND",
                                    "symbol " + name + " is not exported by " + library.source()));
                    h = Linker.nativeLinker().downcallHandle(address, descriptor);
                    handle = h;
                }
            }
        }
        return h;
    }

    /** Calls the function; C errors come back as return values, so only JVM-side failures are rethrown. */
    public Object call(Object... args) {
        MethodHandle h = handle();
        try {
            return h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(name + ": " + t, t);
        }
    }

    /** Calls a function returning a C int status. */
    public int callInt(Object... args) {
        return (Integer) call(args);
    }
}
