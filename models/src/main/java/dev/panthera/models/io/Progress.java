package dev.panthera.models.io;

import java.io.Console;
import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar for long work (loading and converting weights, training steps), redrawn in place with a
 * carriage return on stderr, at most ten times a second. It draws only when the process runs on a terminal
 * ({@link Console#isTerminal()}); with output piped or redirected it stays silent, so logs and parsed output never
 * see it.
 */
public final class Progress implements AutoCloseable {
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 30;

    private final String label, unit;
    private final long total, started;
    private final PrintStream out;
    private long done, lastDraw = Long.MIN_VALUE;
    private String status = "";
    private boolean closed;

    Progress(String label, long total, String unit, PrintStream out) {
        if (total < 0) throw new IllegalArgumentException("Progress: total must be ≥ 0, got " + total);
        this.label = label;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.started = System.nanoTime();
    }

    /** A bar over {@code total} units of work, drawn on stderr when on a terminal, silent otherwise. */
    public static Progress start(String label, long total, String unit) {
        return new Progress(label, total, unit, onTerminal() ? System.err : null);
    }

    /** Whether this process writes to a terminal. */
    public static boolean onTerminal() {
        Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** Marks {@code n} more units done. */
    public void advance(long n) {
        set(done + n);
    }

    /** Sets the units done so far (clamped to the total). */
    public void set(long value) {
        done = Math.max(0, Math.min(total, value));
        draw(false);
    }

    /** A short text shown after the counts, e.g. the current loss. */
    public void status(String text) {
        status = text;
        draw(false);
    }

    public long done() {
        return done;
    }

    private void draw(boolean force) {
        if (out == null || closed) return;
        long now = System.nanoTime();
        if (!force && now - lastDraw < REDRAW_NANOS && done < total) return;
        lastDraw = now;
        out.print('\r' + line(now));
        out.flush();
    }

    String line(long now) {
        double frac = total == 0 ? 1 : (double) done / total;
        int filled = (int) Math.round(frac * WIDTH);
        return String.format(
                Locale.ROOT,
                "%s [%s%s] %3d%% %d/%d %s %.1f s%s",
                label,
                "#".repeat(filled),
                "-".repeat(WIDTH - filled),
                Math.round(frac * 100),
                done,
                total,
                unit,
                (now - started) / 1e9,
                status.isEmpty() ? "" : "  " + status);
    }

    /** Draws the final state and ends the line; the bar is then inert. */
    @Override
    public void close() {
        if (out == null || closed) return;
        draw(true);
        out.println();
        closed = true;
    }
}
