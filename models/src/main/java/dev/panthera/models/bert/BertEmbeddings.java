package dev.panthera.models.bert;

import dev.panthera.tensor.Tensor;

/**
 * BERT's input embedding: word-piece + token type + absolute position embeddings, summed in HuggingFace's order
 * ((word + type) + position), then LayerNorm. Positions are 0..T-1 in every row (right padding).
 */
final class BertEmbeddings {
    private final BertConfig c;
    private final Tensor word, position, type, normWeight, normBias;

    BertEmbeddings(BertConfig c, BertWeights w) {
        this.c = c;
        word = w.floats("embeddings.word_embeddings.weight", c.vocab(), c.hidden());
        position = w.floats("embeddings.position_embeddings.weight", c.maxPositions(), c.hidden());
        type = w.floats("embeddings.token_type_embeddings.weight", c.typeVocab(), c.hidden());
        normWeight = w.vector("embeddings.LayerNorm.weight", c.hidden());
        normBias = w.vector("embeddings.LayerNorm.bias", c.hidden());
    }

    /** ids and tokenTypes [B, T] (I64) → [B, T, hidden] (F32). */
    Tensor forward(Tensor ids, Tensor tokenTypes) {
        long t = ids.size(1);
        Tensor h = Tensor.embedding(word, ids).add(Tensor.embedding(type, tokenTypes));
        h = h.add(position.narrow(0, 0, t));
        return h.layerNorm(normWeight, normBias, c.layerNormEps());
    }
}
