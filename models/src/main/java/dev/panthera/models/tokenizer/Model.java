package dev.panthera.models.tokenizer;

/** The vocabulary model of a tokenizer: turns one pre-tokenized piece into ids and maps ids back to token text. */
sealed interface Model permits BpeModel, ScoreBpeModel, UnigramModel, WordPieceModel {
    /** Appends the ids of {@code piece} to {@code out}. */
    void tokenize(String piece, IntList out);

    /** The model's vocabulary (token text ↔ id). */
    Vocab vocab();

    /** @return the id of {@code token}, or -1 */
    default int tokenToId(String token) {
        return vocab().id(token);
    }

    /** @return the text of {@code id}, or {@code null} when the model has no such id */
    default String idToToken(int id) {
        return vocab().token(id);
    }

    /** @return one more than the largest id of the model */
    default int size() {
        return vocab().tokens.length;
    }
}
