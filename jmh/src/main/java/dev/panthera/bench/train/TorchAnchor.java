package dev.panthera.bench.train;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch side of {@link TrainStepBestOf}: {@code train_step_anchor.py} in a child process that runs training
 * steps on request and reports their times. The interpreter is {@code $PANTHERA_PYTHON}, else
 * {@code /work/venv-peft/bin/python}; the script is {@code jmh/src/main/python/train_step_anchor.py} under the
 * working directory, or the path in system property {@code panthera.trainAnchor}. When either is missing or the child
 * does not come up, {@link #available()} is false and {@link #why()} says what was missing.
 */
final class TorchAnchor implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final PrintWriter in;
    private final String why;

    private TorchAnchor(Process process, BufferedReader out, PrintWriter in, String why) {
        this.process = process;
        this.out = out;
        this.in = in;
        this.why = why;
    }

    static TorchAnchor start(TrainStepBestOf.Shape s, int threads) {
        String env = System.getenv("PANTHERA_PYTHON");
        Path python = Path.of(env != null && !env.isBlank() ? env : "/work/venv-peft/bin/python");
        Path script = Path.of(System.getProperty("panthera.trainAnchor", "jmh/src/main/python/train_step_anchor.py"));
        if (!Files.isExecutable(python)) return missing("no Python at " + python + " (set PANTHERA_PYTHON)");
        if (!Files.isRegularFile(script))
            return missing("no " + script.toAbsolutePath() + " (run from the repository root)");
        try {
            Process p = new ProcessBuilder(
                            python.toString(),
                            script.toString(),
                            "--threads",
                            Integer.toString(threads),
                            "--dim",
                            Integer.toString(s.dim()),
                            "--ffn",
                            Integer.toString(s.ffn()),
                            "--layers",
                            Integer.toString(s.layers()),
                            "--heads",
                            Integer.toString(s.heads()),
                            "--vocab",
                            Integer.toString(s.vocab()),
                            "--seq",
                            Integer.toString(s.seq()),
                            "--batch",
                            Integer.toString(s.batch()),
                            "--lora",
                            Integer.toString(s.loraRank()),
                            "--lora-alpha",
                            Double.toString(TrainStepBestOf.LORA_ALPHA),
                            "--lora-targets",
                            String.join(",", TrainStepBestOf.LORA_TARGETS))
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            PrintWriter in = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
            String ready = out.readLine();
            if (ready == null || !ready.startsWith("ready")) {
                p.destroy();
                return missing(
                        "the PyTorch anchor did not start (" + ready + "; torch, transformers and peft installed?)");
            }
            System.out.println("PyTorch anchor: " + ready);
            return new TorchAnchor(p, out, in, null);
        } catch (IOException e) {
            return missing("the PyTorch anchor did not start: " + e.getMessage());
        }
    }

    private static TorchAnchor missing(String why) {
        System.out.println("PyTorch anchor skipped: " + why);
        return new TorchAnchor(null, null, null, why);
    }

    boolean available() {
        return process != null;
    }

    String why() {
        return why;
    }

    /**
     * Runs {@code steps} PyTorch steps and returns each one's wall time and the CPU time its process used in it
     * (all threads), in seconds: {wall[], cpu[]}.
     */
    double[][] run(int steps) throws IOException {
        in.println("run " + steps);
        return new double[][] {times("times ", steps), times("cpu ", steps)};
    }

    /** The child's peak resident set so far (its VmHWM), in KiB. */
    double peakRssKib() throws IOException {
        in.println("mem");
        String line = out.readLine();
        if (line == null || !line.startsWith("mem "))
            throw new IOException("PyTorch anchor: expected 'mem' with its peak RSS, got " + line);
        return Double.parseDouble(line.substring(4).trim());
    }

    private double[] times(String tag, int steps) throws IOException {
        String line = out.readLine();
        if (line == null || !line.startsWith(tag))
            throw new IOException("PyTorch anchor: expected '" + tag.trim() + "' step times, got " + line);
        String[] f = line.substring(tag.length()).trim().split(" ");
        if (f.length != steps)
            throw new IOException("PyTorch anchor: asked for " + steps + " steps, got " + f.length + " times");
        double[] t = new double[steps];
        for (int i = 0; i < steps; i++) t[i] = Double.parseDouble(f[i]);
        return t;
    }

    @Override
    public void close() throws InterruptedException {
        if (process == null) return;
        in.println("quit");
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroy();
    }
}
