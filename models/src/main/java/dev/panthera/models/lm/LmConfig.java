package dev.panthera.models.lm;

/**
 * What generation, batching and scoring need to know about a causal LM's configuration, whatever its architecture:
 * the vocabulary size, the context length, the BOS id (−1 when there is none) and the end-of-sequence ids.
 */
public interface LmConfig {
    int vocab();

    int maxSeq();

    /** The beginning-of-sequence id, or −1; an empty prompt starts from it. */
    int bos();

    /** Whether {@code id} is one of the end-of-sequence ids. */
    boolean isEos(int id);

    /**
     * Whether an encoded text prompt starts with {@link #bos()} (SentencePiece Llamas: yes; GPT-2, whose
     * tokenizer adds nothing, only when the prompt is empty).
     */
    default boolean promptStartsWithBos() {
        return true;
    }
}
