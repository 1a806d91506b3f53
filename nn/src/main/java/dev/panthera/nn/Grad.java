package dev.panthera.nn;

import dev.panthera.tensor.Autograd;
import java.util.function.Supplier;

/** Runs code with autograd recording off, without the checked exception of {@link AutoCloseable#close()}. */
public final class Grad {
    private Grad() {}

    /** Runs {@code body} under {@link Autograd#noGrad()}. */
    public static void off(Runnable body) {
        off(() -> {
            body.run();
            return null;
        });
    }

    /** Evaluates {@code body} under {@link Autograd#noGrad()}. */
    public static <T> T off(Supplier<T> body) {
        AutoCloseable ng = Autograd.noGrad();
        try {
            return body.get();
        } finally {
            try {
                ng.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
