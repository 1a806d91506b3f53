package dev.panthera.models.tokenizer;

import java.io.IOException;

/**
 * The one exception every tokenizer loader throws for a malformed or hostile file: bad JSON or UTF-8, a missing or
 * mistyped field, an unsupported component type, a merge that names a token outside the vocabulary, a size beyond
 * the loader's limits, a truncated binary file. {@link #field()} names the offending field as a path such as
 * {@code model.merges[17]} or {@code tokenizer.bin:token[42].len}.
 */
public final class TokenizerFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    private final String field;

    /**
     * @param field the path of the offending field
     * @param message what is wrong with it
     */
    public TokenizerFormatException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /**
     * @param field the path of the offending field
     * @param message what is wrong with it
     * @param cause the underlying parser error
     */
    public TokenizerFormatException(String field, String message, Throwable cause) {
        super(field + ": " + message, cause);
        this.field = field;
    }

    /** @return the path of the offending field */
    public String field() {
        return field;
    }
}
