package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tensor of a closed weight file names that file in its use-after-close error, for every reader. */
class ClosedSourceTest {
    @TempDir
    Path dir;

    @Test
    void aTensorOfAClosedFileNamesTheFile() throws Exception {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            Path p = dir.resolve("model-" + f.name().toLowerCase() + ".bin");
            Files.write(p, FormatFuzz.seed(f));
            Weights w = switch (f) {
                case SAFETENSORS -> SafetensorsFile.open(p);
                case GGUF -> GgufFile.open(p);
                case ONNX -> OnnxWeights.open(p);
                case LLAMA2C -> Llama2cCheckpoint.open(p);
            };
            Tensor t = w.tensor(w.names().get(0));
            w.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, t::sum, f.toString());
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("was closed"), e.getMessage());
            assertTrue(!e.getMessage().contains("MemoryScope"), e.getMessage());
        }
    }
}
