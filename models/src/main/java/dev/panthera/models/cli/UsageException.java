package dev.panthera.models.cli;

/** Bad input to a CLI command: printed as one line on stderr, exit code 2. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
