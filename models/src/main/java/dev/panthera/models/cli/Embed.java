package dev.panthera.models.cli;

import dev.panthera.models.bert.BertModel;
import dev.panthera.models.bert.BertModels;
import dev.panthera.models.bert.Pooling;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code embed MODEL [--pooling mean|cls] [--normalize | --no-normalize]}: one sentence embedding per line of
 * stdin, printed as a JSON array of the floats as Java prints them. MODEL is a known name ({@link BertModels}) or a
 * path ({@link BertModel#load(Path)}); without flags the model's own default pooling and normalisation apply. Lines
 * waiting on stdin are embedded together as one padded batch (up to {@link #BATCH}), so piped input runs in few
 * passes and an interactive line is answered at once.
 */
final class Embed {
    private Embed() {}

    static final Set<String> FLAGS = Set.of("--pooling");
    static final Set<String> SWITCHES = Set.of("--normalize", "--no-normalize", "--verbose");
    static final int BATCH = 32;

    /** The arguments after {@code embed}; a bad one is a one-line {@link UsageException} (no usage text appended). */
    static Main.Flags parse(String[] args) {
        try {
            return Main.Flags.parse(args, FLAGS, SWITCHES);
        } catch (UsageException e) {
            throw new UsageException(e.getMessage().lines().findFirst().orElse("bad arguments") + " (embed MODEL"
                    + " [--pooling mean|cls] [--normalize|--no-normalize] [--verbose])");
        }
    }

    static int run(Main.Flags f, InputStream stdin, PrintStream out) throws IOException {
        String poolingFlag = f.values().get("--pooling");
        Pooling pooling;
        try {
            pooling = poolingFlag == null ? null : Pooling.parse(poolingFlag);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--pooling must be mean or cls, got '" + poolingFlag + "'");
        }
        boolean on = f.switches().contains("--normalize"), off = f.switches().contains("--no-normalize");
        if (on && off) throw new UsageException("--normalize and --no-normalize contradict each other");
        try (BertModel m = open(f.model())) {
            if (m.tokenizer() == null)
                throw new UsageException(f.model() + " has no tokenizer (tokenizer.json or vocab.txt) to embed text");
            Pooling p = pooling == null ? m.pooling() : pooling;
            boolean normalize = on || (!off && m.normalizes());
            BufferedReader in = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
            List<String> batch = new ArrayList<>();
            for (String line; (line = in.readLine()) != null; ) {
                batch.add(line);
                if (batch.size() == BATCH || !in.ready()) {
                    print(m.embed(batch, p, normalize), out);
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) print(m.embed(batch, p, normalize), out);
        }
        return 0;
    }

    private static BertModel open(String model) throws IOException {
        if (BertModels.isKnown(model)) return BertModels.load(model);
        Path p = Path.of(model);
        if (!Files.exists(p)) {
            if (model.contains("/") || model.contains(".")) throw new NoSuchFileException(model);
            throw new UsageException("'" + model + "' is neither a known model ("
                    + String.join(", ", BertModels.names()) + ") nor an existing file or folder");
        }
        return BertModel.load(p);
    }

    private static void print(float[][] rows, PrintStream out) {
        StringBuilder sb = new StringBuilder();
        for (float[] row : rows) {
            sb.setLength(0);
            sb.append('[');
            for (int i = 0; i < row.length; i++) {
                if (i > 0) sb.append(',');
                sb.append(row[i]);
            }
            out.println(sb.append(']'));
        }
        out.flush();
    }
}
