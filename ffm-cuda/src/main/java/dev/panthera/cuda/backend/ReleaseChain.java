package dev.panthera.cuda.backend;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Native resources released in reverse order of acquisition (a handle before the stream it is bound to). Every
 * release runs even when an earlier one throws; the first failure is rethrown with the others suppressed. Closing
 * twice does nothing; adding after close throws.
 */
final class ReleaseChain implements AutoCloseable {
    private final String owner;
    private final Deque<Runnable> steps = new ArrayDeque<>();
    private boolean closed;

    ReleaseChain(String owner) {
        this.owner = owner;
    }

    /** Registers {@code release} to run at close, before everything registered earlier. */
    synchronized void add(Runnable release) {
        if (closed) throw new IllegalStateException(owner + ": closed; cannot take another resource");
        steps.push(release);
    }

    synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        while (!steps.isEmpty()) {
            try {
                steps.pop().run();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
