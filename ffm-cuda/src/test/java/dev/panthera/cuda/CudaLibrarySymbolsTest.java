package dev.panthera.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every function the cuBLASLt, cuBLAS and cuDNN bindings declare is exported by NVIDIA's real CUDA 13 libraries,
 * and their version calls answer without a device. The libraries are large, so this runs only in the cuda-symbols
 * profile (see BENCHMARKS.md for the command), from a folder laid out as NVIDIA's wheels install them:
 * {@code <dir>/nvidia/cu13/lib/libcublas{,Lt}.so.13} and {@code <dir>/nvidia/cudnn/lib/libcudnn.so.9}, named by
 * the system property {@code panthera.cuda.symbols.dir}. It fails, not skips, when they are missing.
 */
@Tag("cuda-symbols")
class CudaLibrarySymbolsTest {
    private static Arena arena;
    private static Path cu13, cudnn;

    @BeforeAll
    static void open() throws Exception {
        String dir = System.getProperty("panthera.cuda.symbols.dir");
        assertNotNull(dir, "set -Dpanthera.cuda.symbols.dir to a folder holding nvidia/cu13/lib and nvidia/cudnn/lib");
        cu13 = Path.of(dir, "nvidia", "cu13", "lib");
        cudnn = Path.of(dir, "nvidia", "cudnn", "lib");
        for (Path p : List.of(
                cu13.resolve("libcublasLt.so.13"), cu13.resolve("libcublas.so.13"), cudnn.resolve("libcudnn.so.9")))
            assertTrue(Files.isRegularFile(p), "missing " + p);
        arena = Arena.ofShared();
        // cuBLAS and cuDNN need cudart and cuBLASLt by soname: load those first, as CudaLibraries does
        Path rt = RedistLibraries.unpack("libcudart.so.13").resolve("libcudart.so.13");
        RedistLibraries.open(CudaLibrary.CUDART, rt, arena);
    }

    @Test
    void cublasLtExportsEveryBoundSymbol() {
        CublasLt lt =
                new CublasLt(RedistLibraries.open(CudaLibrary.CUBLASLT, cu13.resolve("libcublasLt.so.13"), arena));
        assertEquals(List.of(), RedistLibraries.missing(lt));
        long v = lt.version();
        System.out.println("cublasLtGetVersion = " + v);
        assertTrue(v >= 130000 && v < 140000, "cuBLASLt version " + v);
    }

    @Test
    void cublasExportsEveryBoundSymbol() {
        RedistLibraries.open(CudaLibrary.CUBLASLT, cu13.resolve("libcublasLt.so.13"), arena);
        Cublas blas = new Cublas(RedistLibraries.open(CudaLibrary.CUBLAS, cu13.resolve("libcublas.so.13"), arena));
        assertEquals(List.of(), RedistLibraries.missing(blas));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            int status = blas.getVersion.callInt(MemorySegment.NULL, v);
            System.out.println("cublasGetVersion_v2(NULL) = status " + status + ", version " + v.get(JAVA_INT, 0));
            assertEquals(0, status, "cublasGetVersion_v2 with no handle");
            assertTrue(v.get(JAVA_INT, 0) >= 130000, "cuBLAS version " + v.get(JAVA_INT, 0));
        }
    }

    @Test
    void cudnnExportsEveryBoundSymbol() {
        RedistLibraries.open(CudaLibrary.CUBLASLT, cu13.resolve("libcublasLt.so.13"), arena);
        Cudnn dnn = new Cudnn(RedistLibraries.open(CudaLibrary.CUDNN, cudnn.resolve("libcudnn.so.9"), arena));
        assertEquals(List.of(), RedistLibraries.missing(dnn));
        long v = dnn.version();
        System.out.println("cudnnGetVersion = " + v);
        assertTrue(v >= 90000 && v < 100000, "cuDNN version " + v);
    }
}
