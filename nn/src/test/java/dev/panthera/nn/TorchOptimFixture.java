package dev.panthera.nn;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One case of {@code optim/torch_optim.txt}, the parameter trajectories torch.optim wrote (see
 * {@code nn/src/test/python/optim_fixtures.py} for the format and the command that regenerates it).
 *
 * @param hyper the parameter group as torch filled it in, defaults included ("betas" as "b1,b2", booleans as
 *     True/False)
 * @param grads [step - 1][parameter], null where the parameter had no gradient on that step
 * @param params [step - 1][parameter], the parameter after that step
 */
record TorchOptimFixture(
        String name,
        String kind,
        Map<String, String> hyper,
        long[][] shapes,
        double[][] start,
        double[][][] grads,
        double[][][] params) {

    static final String RESOURCE = "/optim/torch_optim.txt";

    double number(String key) {
        return Double.parseDouble(Objects.requireNonNull(hyper.get(key), () -> name + ": no hyper-parameter " + key));
    }

    boolean flag(String key) {
        String v = Objects.requireNonNull(hyper.get(key), () -> name + ": no hyper-parameter " + key);
        if (!v.equals("True") && !v.equals("False")) throw new IllegalStateException(name + ": " + key + "=" + v);
        return v.equals("True");
    }

    double[] pair(String key) {
        String[] v = Objects.requireNonNull(hyper.get(key), () -> name + ": no hyper-parameter " + key)
                .split(",");
        return new double[] {Double.parseDouble(v[0]), Double.parseDouble(v[1])};
    }

    int steps() {
        return params.length;
    }

    static List<TorchOptimFixture> load() {
        var in = TorchOptimFixture.class.getResourceAsStream(RESOURCE);
        if (in == null) throw new IllegalStateException("missing test resource " + RESOURCE);
        List<String[]> lines = new ArrayList<>();
        try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; )
                if (!line.isBlank() && !line.startsWith("#"))
                    lines.add(line.trim().split(" "));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<TorchOptimFixture> cases = new ArrayList<>();
        int at = 0;
        while (at < lines.size()) {
            String[] head = lines.get(at++);
            if (!head[0].equals("case")) throw new IllegalStateException("expected 'case', got " + head[0]);
            Map<String, String> hyper = new LinkedHashMap<>();
            for (int k = 3; k < head.length; k++) {
                String[] kv = head[k].split("=", 2);
                hyper.put(kv[0], kv[1]);
            }
            List<String[]> body = new ArrayList<>();
            while (at < lines.size() && !lines.get(at)[0].equals("case")) body.add(lines.get(at++));
            int nParams = 0, nSteps = 0;
            for (String[] l : body) {
                if (l[0].equals("shape")) nParams = Math.max(nParams, Integer.parseInt(l[1]) + 1);
                if (l[0].equals("param")) nSteps = Math.max(nSteps, Integer.parseInt(l[1]));
            }
            long[][] shapes = new long[nParams][];
            double[][] start = new double[nParams][];
            double[][][] grads = new double[nSteps][nParams][], params = new double[nSteps][nParams][];
            for (String[] l : body) {
                switch (l[0]) {
                    case "shape" ->
                        shapes[Integer.parseInt(l[1])] = Arrays.stream(l, 2, l.length)
                                .mapToLong(Long::parseLong)
                                .toArray();
                    case "p0" -> start[Integer.parseInt(l[1])] = numbers(l, 2);
                    case "grad" ->
                        grads[Integer.parseInt(l[1]) - 1][Integer.parseInt(l[2])] =
                                l[3].equals("none") ? null : numbers(l, 3);
                    case "param" -> params[Integer.parseInt(l[1]) - 1][Integer.parseInt(l[2])] = numbers(l, 3);
                    default -> throw new IllegalStateException("unknown record " + l[0]);
                }
            }
            cases.add(new TorchOptimFixture(head[1], head[2], hyper, shapes, start, grads, params));
        }
        return cases;
    }

    private static double[] numbers(String[] l, int from) {
        return Arrays.stream(l, from, l.length).mapToDouble(Double::parseDouble).toArray();
    }

    @Override
    public String toString() {
        return name;
    }
}
