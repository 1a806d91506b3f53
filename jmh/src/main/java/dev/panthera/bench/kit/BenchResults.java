package dev.panthera.bench.kit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;

/** JMH results as {@link BenchResult}s: from a run's {@code RunResult}s or from its JSON file ({@code -rf json}). */
public final class BenchResults {
    private BenchResults() {}

    /** The results a {@code new Runner(options).run()} returned. */
    public static List<BenchResult> of(Collection<RunResult> runs) {
        List<BenchResult> out = new ArrayList<>();
        for (RunResult r : runs) {
            var p = r.getParams();
            Map<String, String> params = new LinkedHashMap<>();
            for (String k : p.getParamsKeys()) params.put(k, p.getParam(k));
            out.add(new BenchResult(
                    shortName(p.getBenchmark()),
                    params,
                    r.getPrimaryResult().getScore(),
                    r.getPrimaryResult().getScoreUnit()));
        }
        return out;
    }

    /** The results in a JMH JSON result file. */
    public static List<BenchResult> fromJson(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return fromJson(in, file.toString());
        }
    }

    /** The results in a JMH JSON result stream; {@code what} names it in errors. */
    public static List<BenchResult> fromJson(InputStream in, String what) throws IOException {
        List<BenchResult> out = new ArrayList<>();
        try (JsonParser p = new JsonFactory().createParser(in)) {
            if (p.nextToken() != JsonToken.START_ARRAY) throw new IOException("not a JMH JSON array: " + what);
            while (p.nextToken() == JsonToken.START_OBJECT) {
                String bench = null, unit = null;
                Map<String, String> params = new LinkedHashMap<>();
                double score = Double.NaN;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    p.nextToken();
                    switch (f) {
                        case "benchmark" -> bench = p.getText();
                        case "params" -> {
                            while (p.nextToken() == JsonToken.FIELD_NAME) {
                                String k = p.currentName();
                                p.nextToken();
                                params.put(k, p.getText());
                            }
                        }
                        case "primaryMetric" -> {
                            while (p.nextToken() == JsonToken.FIELD_NAME) {
                                String k = p.currentName();
                                p.nextToken();
                                if (k.equals("score")) score = p.getDoubleValue();
                                else if (k.equals("scoreUnit")) unit = p.getText();
                                else p.skipChildren();
                            }
                        }
                        default -> p.skipChildren();
                    }
                }
                if (bench == null || unit == null)
                    throw new IOException("a JMH result without benchmark or scoreUnit in " + what);
                out.add(new BenchResult(shortName(bench), params, score, unit));
            }
        }
        return out;
    }

    /** "Class.method" of a fully qualified benchmark name. */
    static String shortName(String fq) {
        int last = fq.lastIndexOf('.');
        return last < 0 ? fq : fq.substring(fq.lastIndexOf('.', last - 1) + 1);
    }
}
