package dev.panthera.tensor;

/** An {@link AutoCloseable} whose {@code close()} throws nothing checked, for try-with-resources without a catch. */
@FunctionalInterface
public interface Handle extends AutoCloseable {
    @Override
    void close();
}
