package dev.panthera.models.tokenizer;

/**
 * The ids and attention masks of a batch of texts, one row per text. When padded, all rows have the same length
 * and padding positions hold the pad id with mask 0.
 *
 * @param ids token ids per text
 * @param attentionMask 1 for real tokens, 0 for padding
 */
public record BatchEncoding(int[][] ids, int[][] attentionMask) {}
