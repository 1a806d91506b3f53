package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * gpu-bundle.sh builds ffm-cuda together with the modules it depends on, so the bundle's tensor jar is the one in
 * this checkout and not whatever an earlier install left in the local Maven repository.
 */
class GpuBundleScriptTest {
    @Test
    void everyMavenBuildOfFfmCudaAlsoMakesItsDependencies() throws Exception {
        Path script = Path.of("gpu-bundle.sh");
        assertTrue(Files.isRegularFile(script), "run from the ffm-cuda module folder: " + script.toAbsolutePath());
        List<String> builds = Files.readAllLines(script).stream()
                .map(String::strip)
                .filter(l -> l.startsWith("./panthera mvn") && l.contains("-pl ffm-cuda"))
                .toList();
        assertFalse(builds.isEmpty(), "gpu-bundle.sh no longer builds ffm-cuda with ./panthera mvn -pl ffm-cuda");
        for (String l : builds) assertTrue(l.matches(".*\\s-am(\\s.*|$)"), "builds without -am: " + l);
    }
}
