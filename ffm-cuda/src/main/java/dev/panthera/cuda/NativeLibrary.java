package dev.panthera.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A loaded shared library: its symbol lookup, where it came from, and lazily bound functions. */
public final class NativeLibrary {
    private final CudaLibrary library;
    private final String source;
    private final SymbolLookup lookup;

    NativeLibrary(CudaLibrary library, String source, SymbolLookup lookup) {
        this.library = library;
        this.source = source;
        this.lookup = lookup;
    }

    /** Which library this is. */
    public CudaLibrary library() {
        return library;
    }

    /** The file or soname it was opened from. */
    public String source() {
        return source;
    }

    SymbolLookup lookup() {
        return lookup;
    }

    /** A function bound on first call. */
    public NativeFunction function(String name, FunctionDescriptor descriptor) {
        return new NativeFunction(this, name, descriptor);
    }

    /**
     * Opens the first candidate that loads, in {@link LibraryLocator} order; the library lives as long as {@code arena}.
     * Throws a {@link CudaException} (code {@link CudaException#NO_LIBRARY}) listing every attempt when none loads.
     */
    public static NativeLibrary load(CudaLibrary lib, LibraryLocator.Environment env, Arena arena) {
        return load(lib, env, arena, 0);
    }

    /**
     * As {@link #load(CudaLibrary, LibraryLocator.Environment, Arena)}, trying only sonames of {@code pinnedMajor}
     * (when non-zero) for libraries that follow the CUDA toolkit's major. A library opened from a file brings its
     * {@link LibraryLocator#companions companions} from the same folder first.
     */
    public static NativeLibrary load(CudaLibrary lib, LibraryLocator.Environment env, Arena arena, int pinnedMajor) {
        List<String> failures = new ArrayList<>();
        for (LibraryLocator.Candidate c : LibraryLocator.candidates(lib, env, pinnedMajor)) {
            try {
                SymbolLookup lookup;
                if (c.bareSoname()) {
                    lookup = SymbolLookup.libraryLookup(c.target(), arena);
                } else {
                    Path file = Path.of(c.target());
                    for (Path companion : LibraryLocator.companions(lib, file)) {
                        try {
                            SymbolLookup.libraryLookup(companion, arena);
                        } catch (IllegalArgumentException e) {
                            failures.add(companion + " (companion of " + c + "): " + e.getMessage());
                        }
                    }
                    lookup = SymbolLookup.libraryLookup(file, arena);
                }
                return new NativeLibrary(lib, c.target(), lookup);
            } catch (IllegalArgumentException | IllegalCallerException e) {
                failures.add(c + ": " + e.getMessage());
            }
        }
        throw new CudaException(
                lib.shortName(),
                "load",
                CudaException.NO_LIBRARY,
                "NO_LIBRARY",
                "could not load " + lib.sonames() + "; tried "
                        + (failures.isEmpty() ? "nothing" : String.join("; ", failures)) + ". Set -D"
                        + lib.propertyName() + "=/path/to/" + lib.sonames().getFirst() + " or "
                        + lib.environmentName());
    }
}
