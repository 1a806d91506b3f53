package dev.panthera.models.cli;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.GgufConvert;
import dev.panthera.models.llama.Perplexity;
import dev.panthera.models.llama.QuantizedConvert;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.models.lm.LanguageModel;
import dev.panthera.models.lm.LanguageModels;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.DType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The commands behind {@code ./panthera generate}, {@code perplexity}, {@code embed} and {@code convert}. Bad input (a missing file, a
 * folder without config.json, an unknown architecture, a prompt longer than the context, a bad flag) prints one line
 * on stderr and exits with 2; {@code --verbose} adds the stack trace.
 */
public final class Main {
    private Main() {}

    static final String USAGE = "usage: generate MODEL [--prompt TEXT] [--max-new-tokens N] [--temperature T]"
            + " [--top-k K] [--top-p P] [--min-p P] [--seed S] [--threads N] [--cache-type f32|f16|bf16] [--ids]"
            + " [--tokenizer FILE] [--dump-logits FILE] [--verbose]"
            + "\n       perplexity MODEL --ids FILE [--threads N] [--verbose]"
            + "\n       embed MODEL [--pooling mean|cls] [--normalize|--no-normalize] [--verbose]   (lines on stdin)"
            + "\n       convert MODEL OUT.gguf --type F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1|Q4_K|Q5_K|Q6_K|Q4_K_M|Q5_K_M"
            + " [--tokenizer FILE] [--verbose]"
            + "\n       convert MODEL OUT_FOLDER --type nf4|gptq|gwq [--calibration FILE] [--calibration-length N]"
            + " [--bits N] [--group-size N] [--act-order] [--outliers FRACTION] [--tokenizer FILE]"
            + " [--allow-requantize] [--verbose]";

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** Runs one command with {@code in} as its standard input (embed reads lines from it); returns the exit code. */
    static int run(String[] args, java.io.InputStream in, PrintStream out, PrintStream err) {
        boolean verbose = List.of(args).contains("--verbose");
        try {
            if (args.length == 0) throw new UsageException("no command given\n" + USAGE);
            String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
            return switch (args[0]) {
                case "generate" -> generate(Flags.parse(rest, GENERATE_FLAGS, Set.of("--ids", "--verbose")), out, err);
                case "perplexity" -> perplexity(Flags.parse(rest, PPL_FLAGS, Set.of("--verbose")), out);
                case "embed" -> Embed.run(Embed.parse(rest), in, out);
                case "convert" -> convert(rest, out);
                default -> throw new UsageException("unknown command '" + args[0] + "'\n" + USAGE);
            };
        } catch (UsageException | IllegalArgumentException | IllegalStateException | IOException e) {
            String msg = e instanceof NoSuchFileException n ? n.getFile() + ": no such file" : e.getMessage();
            err.println("error: " + msg);
            if (verbose) e.printStackTrace(err);
            return 2;
        }
    }

    static final Set<String> GENERATE_FLAGS = Set.of(
            "--prompt",
            "--max-new-tokens",
            "--temperature",
            "--top-k",
            "--top-p",
            "--min-p",
            "--seed",
            "--threads",
            "--dump-logits",
            "--cache-type",
            "--tokenizer");
    static final Set<String> PPL_FLAGS = Set.of("--ids", "--threads", "--tokenizer");
    static final Set<String> CONVERT_FLAGS = Set.of(
            "--type", "--tokenizer", "--calibration", "--calibration-length", "--bits", "--group-size", "--outliers");

    /** Parsed arguments: one positional MODEL, valued flags and switches. */
    record Flags(String model, Map<String, String> values, Set<String> switches) {
        static Flags parse(String[] a, Set<String> valued, Set<String> switches) {
            String model = null;
            Map<String, String> v = new HashMap<>();
            Set<String> on = new java.util.HashSet<>();
            for (int i = 0; i < a.length; i++) {
                String s = a[i];
                if (valued.contains(s)) {
                    if (i + 1 >= a.length) throw new UsageException(s + " needs a value");
                    v.put(s, a[++i]);
                } else if (switches.contains(s)) {
                    on.add(s);
                } else if (s.startsWith("--")) {
                    throw new UsageException("unknown flag " + s + "\n" + USAGE);
                } else if (model == null) {
                    model = s;
                } else {
                    throw new UsageException("unexpected argument '" + s + "' (MODEL is already " + model + ")");
                }
            }
            if (model == null) throw new UsageException("no MODEL given\n" + USAGE);
            return new Flags(model, v, on);
        }

        int integer(String flag, int fallback) {
            String s = values.get(flag);
            if (s == null) return fallback;
            try {
                return Integer.parseInt(s);
            } catch (NumberFormatException e) {
                throw new UsageException(flag + " must be an integer, got '" + s + "'");
            }
        }

        double number(String flag, double fallback) {
            String s = values.get(flag);
            if (s == null) return fallback;
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e) {
                throw new UsageException(flag + " must be a number, got '" + s + "'");
            }
        }
    }

    private static LanguageModel open(Flags f) throws IOException {
        int threads = f.integer("--threads", 0);
        if (threads < 0) throw new UsageException("--threads must be >= 1, got " + threads);
        if (threads > 0) Threads.set(threads);
        Path model = Path.of(f.model());
        String tok = f.values().get("--tokenizer");
        return LanguageModels.load(model, tok == null ? null : Path.of(tok));
    }

    /** The KV cache dtype named by --cache-type (f32, f16 or bf16, as llama.cpp's -ctk spells them), or null. */
    static DType cacheType(String name) {
        if (name == null) return null;
        try {
            return KvCache.typeNamed(name);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--cache-type " + e.getMessage());
        }
    }

    static int generate(Flags f, PrintStream out, PrintStream err) throws IOException {
        boolean ids = f.switches().contains("--ids");
        SamplingParams p = new SamplingParams(
                f.integer("--max-new-tokens", 256),
                f.number("--temperature", 0),
                f.integer("--top-k", 0),
                f.number("--top-p", 1),
                f.number("--min-p", 0),
                1,
                0,
                f.integer("--seed", 0),
                new int[0],
                List.of(),
                false);
        String dump = f.values().get("--dump-logits");
        DType cache = cacheType(f.values().get("--cache-type")); // refused before the model loads
        try (LanguageModel m = open(f)) {
            Generator g = new Generator(m, cache);
            String text = f.values().getOrDefault("--prompt", "");
            if (m.tokenizer() == null && !ids)
                throw new UsageException(f.model() + " has no tokenizer: use --ids (or --tokenizer FILE)");
            if (m.tokenizer() == null && !text.isEmpty())
                throw new UsageException(f.model() + " has no tokenizer to encode --prompt; give --tokenizer FILE");
            int[] prompt = text.isEmpty() ? new int[0] : g.encodePrompt(text);
            if (prompt.length >= m.config().maxSeq())
                throw new UsageException("prompt of " + prompt.length + " tokens is longer than the context of "
                        + m.config().maxSeq());
            List<Integer> got = new ArrayList<>();
            try (OutputStream logitsOut = dump == null
                    ? OutputStream.nullOutputStream()
                    : new BufferedOutputStream(Files.newOutputStream(Path.of(dump)))) {
                Generator.Result r = g.generate(prompt, p, step -> {
                    got.add(step.token());
                    if (!ids) {
                        out.print(step.text());
                        out.flush();
                    }
                    if (dump != null) writeFloats(logitsOut, step.logits());
                    return true;
                });
                if (ids) {
                    StringBuilder sb = new StringBuilder();
                    for (int id : r.tokens()) sb.append(sb.isEmpty() ? "" : " ").append(id);
                    out.println(sb);
                } else {
                    out.println();
                }
                out.flush();
                err.println("prefill " + r.promptTokens() + " tokens " + rate(r.promptTokens(), r.prefillNanos())
                        + " tok/s");
                err.println(
                        "decode " + r.decodeSteps() + " tokens " + rate(r.decodeSteps(), r.decodeNanos()) + " tok/s");
            }
        }
        return 0;
    }

    private static String rate(int n, long nanos) {
        return String.format(java.util.Locale.ROOT, "%.2f", nanos <= 0 ? 0.0 : n * 1e9 / nanos);
    }

    private static void writeFloats(OutputStream o, float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        try {
            o.write(b.array());
        } catch (IOException e) {
            throw new IllegalStateException("--dump-logits: " + e.getMessage(), e);
        }
    }

    /** {@code convert MODEL OUT.gguf --type T}: the two positionals are taken apart, the flags parsed as usual. */
    static int convert(String[] args, PrintStream out) throws IOException {
        List<String> positional = new ArrayList<>(), rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (CONVERT_FLAGS.contains(args[i])) {
                rest.add(args[i]);
                if (i + 1 < args.length) rest.add(args[++i]);
            } else if (args[i].startsWith("--")) {
                rest.add(args[i]);
            } else {
                positional.add(args[i]);
            }
        }
        if (positional.size() != 2)
            throw new UsageException("convert needs MODEL and OUT.gguf, got " + positional.size() + " paths");
        rest.add(0, positional.get(0));
        Flags f = Flags.parse(
                rest.toArray(String[]::new), CONVERT_FLAGS, Set.of("--verbose", "--act-order", "--allow-requantize"));
        String typeName = f.values().get("--type");
        if (typeName == null) throw new UsageException("convert needs --type (one of " + GgufConvert.TYPES + ")");
        for (QuantizedConvert.Kind k : QuantizedConvert.Kind.values()) {
            if (k.name().equalsIgnoreCase(typeName))
                return QuantizedConvertCommand.run(f, k, Path.of(positional.get(1)), out);
        }
        for (String flag : List.of(
                "--calibration",
                "--calibration-length",
                "--bits",
                "--group-size",
                "--outliers",
                "--act-order",
                "--allow-requantize"))
            if (f.values().containsKey(flag) || f.switches().contains(flag))
                throw new UsageException(flag + " applies to --type nf4, gptq or gwq, not " + typeName);
        GgufConvert.Mix mix = java.util.Arrays.stream(GgufConvert.Mix.values())
                .filter(m -> m.name().equalsIgnoreCase(typeName))
                .findFirst()
                .orElse(null);
        GgmlType type = mix != null
                ? null
                : GgufConvert.TYPES.stream()
                        .filter(t -> t.name().equalsIgnoreCase(typeName))
                        .findFirst()
                        .orElseThrow(() -> new UsageException("--type " + typeName + " is not written (one of "
                                + GgufConvert.TYPES + ", Q4_K_M, Q5_K_M, nf4, gptq, gwq)"));
        Path target = Path.of(positional.get(1));
        if (!target.getFileName().toString().endsWith(".gguf"))
            throw new UsageException("convert writes a .gguf file, got OUT " + target);
        String tok = f.values().get("--tokenizer");
        Path tokenizer = tok == null ? null : Path.of(tok);
        if (mix != null) GgufConvert.convert(Path.of(f.model()), tokenizer, mix, target);
        else GgufConvert.convert(Path.of(f.model()), tokenizer, type, target);
        out.println("wrote " + target + " (" + (mix != null ? mix : type) + ")");
        return 0;
    }

    static int perplexity(Flags f, PrintStream out) throws IOException {
        String idsFile = f.values().get("--ids");
        if (idsFile == null) throw new UsageException("perplexity needs --ids FILE (whitespace-separated token ids)");
        Path path = Path.of(idsFile);
        if (!Files.isRegularFile(path)) throw new NoSuchFileException(idsFile);
        String[] parts = Files.readString(path, StandardCharsets.UTF_8).trim().split("\\s+");
        int[] ids = new int[parts[0].isEmpty() ? 0 : parts.length];
        for (int i = 0; i < ids.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new UsageException(idsFile + ": '" + parts[i] + "' is not a token id");
            }
        }
        try (LanguageModel m = open(f)) {
            Perplexity.Score s = Perplexity.score(m, ids);
            out.println(String.format(java.util.Locale.ROOT, "%.6f", s.perplexity()));
        }
        return 0;
    }
}
