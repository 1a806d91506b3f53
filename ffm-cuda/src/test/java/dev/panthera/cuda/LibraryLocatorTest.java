package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery order over fake folders (files that exist but are not libraries). */
class LibraryLocatorTest {
    @TempDir
    Path root;

    private Path touch(String rel) throws Exception {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "not an ELF file");
        return p;
    }

    private LibraryLocator.Environment env(Map<String, String> props, Map<String, String> vars) {
        return new LibraryLocator.Environment(
                props, vars, root.resolve("usr/local"), root.resolve("usr"), root.resolve("home"));
    }

    private static List<String> targets(List<LibraryLocator.Candidate> cs) {
        return cs.stream().map(LibraryLocator.Candidate::target).toList();
    }

    @Test
    void documentedOrderPropertyEnvThenPerMajorSonameCudaHomeUsrLocalPython() throws Exception {
        Path explicit = touch("explicit/libcublas.so.13");
        Path cudaHome = touch("opt/cuda/lib64/libcublas.so.13");
        Path usrLocal = touch("usr/local/cuda/lib64/libcublas.so.13");
        Path v129 = touch("usr/local/cuda-12.9/lib64/libcublas.so.12");
        Path v130 = touch("usr/local/cuda-13.0/lib64/libcublas.so.13");
        Path v1210 = touch("usr/local/cuda-12.10/lib64/libcublas.so.12");
        Path venv = touch("venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13");
        Path user = touch("home/.local/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12");
        Path system = touch("usr/lib/python3/dist-packages/nvidia/cu13/lib/libcublas.so.13");
        Files.createDirectories(root.resolve("usr/lib/python3.13/dist-packages/nvidia/cu13/lib"));
        Path system313 = touch("usr/lib/python3.13/dist-packages/nvidia/cu13/lib/libcublas.so.13");

        var cs = LibraryLocator.candidates(
                CudaLibrary.CUBLAS,
                env(
                        Map.of("panthera.cuda.cublas.path", explicit.toString()),
                        Map.of(
                                "PANTHERA_CUDA_CUBLAS",
                                "/env/libcublas.so.13",
                                "CUDA_HOME",
                                root.resolve("opt/cuda").toString(),
                                "VIRTUAL_ENV",
                                root.resolve("venv").toString())));
        assertEquals(
                List.of(
                        explicit.toString(),
                        "/env/libcublas.so.13",
                        "libcublas.so.13",
                        cudaHome.toString(),
                        usrLocal.toString(),
                        v130.toString(),
                        venv.toString(),
                        system313.toString(),
                        system.toString(),
                        "libcublas.so.12",
                        v1210.toString(),
                        v129.toString(),
                        user.toString()),
                targets(cs));
        assertTrue(cs.get(2).bareSoname());
        assertFalse(cs.get(0).bareSoname());
        assertTrue(cs.get(0).origin().contains("panthera.cuda.cublas.path"));
    }

    @Test
    void cudnnComesFromTheCudnnWheelFolderAndAbsentFilesAreNotListed() throws Exception {
        Path cudnn = touch("usr/local/lib/python3.12/dist-packages/nvidia/cudnn/lib/libcudnn.so.9");
        touch("usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublas.so.13");
        var cs = LibraryLocator.candidates(CudaLibrary.CUDNN, env(Map.of(), Map.of()));
        assertEquals(List.of("libcudnn.so.9", cudnn.toString()), targets(cs));
    }

    @Test
    void explicitSitePackagesVariableComesFirstAmongPythonFolders() throws Exception {
        Path a = touch("custom/nvidia/cu13/lib/libnvrtc.so.13");
        Path b = touch("usr/local/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13");
        var cs = LibraryLocator.candidates(
                CudaLibrary.NVRTC,
                env(
                        Map.of(),
                        Map.of(
                                "PANTHERA_PYTHON_SITE_PACKAGES",
                                root.resolve("custom").toString())));
        assertEquals(List.of("libnvrtc.so.13", a.toString(), b.toString(), "libnvrtc.so.12"), targets(cs));
    }

    @Test
    void aWheelsCuda13LibraryWinsOverASystemCuda12One() throws Exception {
        Path wheel = touch("usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublas.so.13");
        Path old = touch("usr/local/cuda-12.9/lib64/libcublas.so.12");
        var cs = LibraryLocator.candidates(CudaLibrary.CUBLAS, env(Map.of(), Map.of()));
        List<String> t = targets(cs);
        assertTrue(t.indexOf(wheel.toString()) < t.indexOf("libcublas.so.12"), t.toString());
        assertTrue(t.indexOf(wheel.toString()) < t.indexOf(old.toString()), t.toString());
    }

    @Test
    void oncePinnedToAMajorOnlyThatMajorIsTried() throws Exception {
        Path wheel12 = touch("usr/local/lib/python3.12/dist-packages/nvidia/cublas/lib/libcublas.so.12");
        Path wheel13 = touch("usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublas.so.13");
        var e = env(Map.of(), Map.of());
        assertEquals(
                List.of("libcublas.so.12", wheel12.toString()),
                targets(LibraryLocator.candidates(CudaLibrary.CUBLAS, e, 12)));
        assertEquals(
                List.of("libcublas.so.13", wheel13.toString()),
                targets(LibraryLocator.candidates(CudaLibrary.CUBLAS, e, 13)));
        // cuDNN and the driver do not follow the toolkit's major
        assertEquals(List.of("libcudnn.so.9"), targets(LibraryLocator.candidates(CudaLibrary.CUDNN, e, 12)));
        assertEquals(List.of("libcuda.so.1"), targets(LibraryLocator.candidates(CudaLibrary.DRIVER, e, 12)));
    }

    @Test
    void majorOfASonameOrFile() {
        assertEquals(13, LibraryLocator.cudaMajor("libcudart.so.13"));
        assertEquals(12, LibraryLocator.cudaMajor("/x/nvidia/cublas/lib/libcublas.so.12"));
        assertEquals(13, LibraryLocator.cudaMajor("/x/libnvrtc.so.13.3.1"));
        assertEquals(0, LibraryLocator.cudaMajor("/x/libcublas.so"));
    }

    @Test
    void nvrtcFromAFolderBringsItsBuiltinsOfTheSameMajor() throws Exception {
        Path nvrtc = touch("wheel/nvidia/cu13/lib/libnvrtc.so.13");
        Path builtins = touch("wheel/nvidia/cu13/lib/libnvrtc-builtins.so.13.3");
        touch("wheel/nvidia/cu13/lib/libnvrtc-builtins.so.12.9");
        touch("wheel/nvidia/cu13/lib/libcublas.so.13");
        assertEquals(List.of(builtins), LibraryLocator.companions(CudaLibrary.NVRTC, nvrtc));
        assertEquals(
                List.of(),
                LibraryLocator.companions(CudaLibrary.CUBLAS, root.resolve("wheel/nvidia/cu13/lib/libcublas.so.13")));
        assertEquals(List.of(), LibraryLocator.companions(CudaLibrary.NVRTC, root.resolve("empty/libnvrtc.so.13")));
    }

    @Test
    void loadingFallsThroughFakeFilesAndReportsEveryAttempt() throws Exception {
        Path fake = touch("fake/libcudnn.so.9");
        var env = env(Map.of("panthera.cuda.cudnn.path", fake.toString()), Map.of());
        try (Arena arena = Arena.ofConfined()) {
            CudaException e =
                    assertThrows(CudaException.class, () -> NativeLibrary.load(CudaLibrary.CUDNN, env, arena));
            assertEquals(CudaException.NO_LIBRARY, e.code());
            assertTrue(e.getMessage().contains(fake.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("libcudnn.so.9 (dynamic loader)"), e.getMessage());
        }
    }

    @Test
    void aRealLibraryBehindAFakeOneIsFound() throws Exception {
        Path real = Path.of("/usr/local/cuda/lib64/libcudart.so.13");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(real), "needs " + real + " (CUDA 13 toolkit)");
        Path fake = touch("fake/libcudart.so.13");
        var env = new LibraryLocator.Environment(
                Map.of("panthera.cuda.cudart.path", fake.toString()),
                Map.of(),
                root.resolve("nothing"),
                root.resolve("nothing"),
                root.resolve("nothing"));
        try (Arena arena = Arena.ofConfined()) {
            NativeLibrary lib = NativeLibrary.load(CudaLibrary.CUDART, env, arena);
            assertEquals("libcudart.so.13", lib.source());
        }
    }
}
