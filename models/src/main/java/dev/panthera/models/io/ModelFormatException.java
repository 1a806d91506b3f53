package dev.panthera.models.io;

import java.io.IOException;

/**
 * The one exception every weight-file reader in this package throws for a malformed or hostile file: a length,
 * count, offset, dtype, shape or byte size that disagrees with the file. The message names the format and the field,
 * e.g. {@code "gguf: tensor 'blk.0.attn_q.weight' offset 4096 + 1024 bytes exceeds data section of 2048 bytes"}.
 */
public final class ModelFormatException extends IOException {
    private final String format;
    private final String field;

    /** A failure of {@code format} ("safetensors", "gguf", "onnx", "llama2c") at {@code field}. */
    public ModelFormatException(String format, String field, String detail) {
        super(format + ": " + field + ": " + detail);
        this.format = format;
        this.field = field;
    }

    /** As {@link #ModelFormatException(String, String, String)}, keeping the underlying cause. */
    public ModelFormatException(String format, String field, String detail, Throwable cause) {
        super(format + ": " + field + ": " + detail, cause);
        this.format = format;
        this.field = field;
    }

    /** The format whose reader failed. */
    public String format() {
        return format;
    }

    /** The header field (or tensor name) that was wrong. */
    public String field() {
        return field;
    }
}
